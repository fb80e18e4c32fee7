"""Train an image classifier on noisy labels and export it for TF Serving.

Examples:
    python scripts/train.py --dataset digits --noise 0.8 --method m-dyr-h
    python scripts/train.py --preset cpu --noise 0.5 --method ce
    python scripts/train.py --preset paper --dataset cifar100 --noise 0.5
"""

import argparse
import sys

from keras_bmm import train
from keras_bmm.cli import add_config_arguments, config_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    add = parser.add_argument
    add("--resume", action="store_true", help="continue the run in --run-dir")
    add("--overwrite", action="store_true", help="replace an existing run")
    add("--no-export", action="store_true", help="skip the SavedModel export")
    add("--plots", action="store_true", help="write PNG plots to <run-dir>/plots/")
    return parser


def parse_args(argv=None):
    """Returns `(config, options)`: the resolved `TrainConfig` and the run options."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    options = {k: args.pop(k, False) for k in ("resume", "overwrite", "no_export", "plots")}
    try:
        return config_from_args(args), options
    except ValueError as error:
        parser.error(str(error))


def main(argv=None):
    config, options = parse_args(argv)
    try:
        result = train(
            config,
            export=not options["no_export"],
            resume=options["resume"],
            overwrite=options["overwrite"],
            plots=options["plots"],
        )
    except (FileExistsError, FileNotFoundError, TimeoutError, ValueError) as error:
        sys.exit(f"train.py: error: {error}")
    print(result.summary())


if __name__ == "__main__":
    main()
