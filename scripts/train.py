"""Train an image classifier on noisy labels and export it for TF Serving.

The same as `keras-bmm train` (see `keras_bmm.commands.train`); run it after
`pip install -e .`. `python scripts/train.py -h` lists every flag.
"""

from keras_bmm.commands.train import *  # noqa: F403 (what tests and users call here)
from keras_bmm.commands.train import main

if __name__ == "__main__":
    main()
