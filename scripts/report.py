"""Write the per-sample noise report of a saved run, most suspicious samples first.

The same as `keras-bmm report` (see `keras_bmm.commands.report`); run it after
`pip install -e .`. `python scripts/report.py -h` lists every flag.
"""

from keras_bmm.commands.report import *  # noqa: F403 (what tests and users call here)
from keras_bmm.commands.report import main

if __name__ == "__main__":
    main()
