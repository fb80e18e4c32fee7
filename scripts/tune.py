"""Search mixup alpha, regulariser weight, warm-up and learning rate with keras-tuner.

The same as `keras-bmm tune` (see `keras_bmm.commands.tune`); run it after
`pip install -e .`. `python scripts/tune.py -h` lists every flag.
"""

from keras_bmm.commands.tune import *  # noqa: F403 (what tests and users call here)
from keras_bmm.commands.tune import main

if __name__ == "__main__":
    main()
