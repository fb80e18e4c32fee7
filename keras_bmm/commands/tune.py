"""Search mixup alpha, regulariser weight, warm-up and learning rate with keras-tuner.

Validation uses a held-out split of the noisy training labels (no clean labels
needed). The best configuration goes to <directory>/best_config.json, which
`scripts/train.py --config` reads. Needs the `tune` extra.

Example:
    python scripts/tune.py --dataset digits --noise 0.6 --epochs 20 --max-trials 8
    python scripts/train.py --config runs/tune-digits-m-dyr-h-0.6-epochs20/best_config.json
"""

import argparse
import sys

from keras_bmm.search_space import SEARCH_SPACE, check_search
from keras_bmm.training.cli import ArgumentParser, add_config_arguments, parse_config

OPTIONS = ("max_trials", "objective", "holdout", "space", "directory", "overwrite")


def parse_range(text: str):
    name, _, bounds = text.partition("=")
    try:
        low, high = bounds.split(",")
        return name, (float(low), float(high))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--space expects NAME=LOW,HIGH (e.g. learning_rate=0.01,0.1), got {text!r}"
        ) from None


def build_parser(prog: str = "tune.py") -> ArgumentParser:
    """The flags of `tune`: the run's settings and the search's."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--objective", choices=("noisy", "clean"), default="noisy")
    parser.add_argument("--holdout", type=float, default=0.1, help="fraction held out")
    parser.add_argument(
        "--space",
        type=parse_range,
        action="append",
        default=[],
        help=f"NAME=LOW,HIGH for one of {', '.join(SEARCH_SPACE)} (repeatable)",
    )
    parser.add_argument("--directory", help="search folder (default runs/tune-<name>)")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh")
    return parser


def main(argv=None, prog: str = "tune.py"):
    """Searches the settings on a held-out split of the noisy labels."""
    parser = build_parser(prog)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--warmup-epochs") for a in argv):
        argv += ["--warmup-epochs", "0"]  # searched; any valid base value will do
    config, options = parse_config(parser, argv, OPTIONS)
    try:
        check_search(
            config,
            dict(options["space"]),
            options["max_trials"],
            options["objective"],
            options["holdout"],
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        from keras_bmm.tuning import tune  # imports TensorFlow and keras-tuner

        best, path = tune(
            config,
            space=dict(options["space"]),
            max_trials=options["max_trials"],
            objective=options["objective"],
            holdout=options["holdout"],
            directory=options["directory"],
            overwrite=options["overwrite"],
        )
    except (ImportError, ValueError, FileNotFoundError) as error:
        sys.exit(f"{prog}: error: {error}")
    settings = {k: getattr(best, k) for k in SEARCH_SPACE}
    print(f"best configuration: {settings}\nwritten to {path}")
