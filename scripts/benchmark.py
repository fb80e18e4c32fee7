"""Benchmarks of keras-bmm: each prints a table and can write JSON (not tests).

The same as `keras-bmm benchmark` (see `keras_bmm.commands.benchmark`); run it after
`pip install -e .`. `python scripts/benchmark.py -h` lists every flag.
"""

from keras_bmm.commands.benchmark import *  # noqa: F403 (what tests and users call here)
from keras_bmm.commands.benchmark import main

if __name__ == "__main__":
    main()
