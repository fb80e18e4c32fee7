"""Train an image classifier on noisy labels and export it for TF Serving.

Examples:
    python scripts/train.py --dataset digits --noise 0.8 --method m-dyr-h
    python scripts/train.py --preset cpu --data-dir cifar10-jpeg.tar.gz --noise 0.5 --method ce
    python scripts/train.py --preset paper --dataset cifar100 --noise 0.5
    python scripts/train.py --dataset manifest --data-dir labels.csv --val-split 0.1
"""

import sys

from keras_bmm.training.cli import (
    ArgumentParser,
    add_config_arguments,
    parse_config,
    quiet_tensorflow,
)
from keras_bmm.training.run_folder import RunFolder

OPTIONS = ("resume", "auto_resume", "overwrite", "no_export", "plots")


def build_parser(prog: str = "train.py") -> ArgumentParser:
    """The flags of `train`: one per `TrainConfig` field, and the run options."""
    parser = ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        epilog="Settings not given take "
        "the --config file's, then the preset's, then the dataset's defaults.",
    )
    add_config_arguments(parser)
    add = parser.add_argument
    resuming = parser.add_mutually_exclusive_group()
    resuming.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    resuming.add_argument(
        "--auto-resume",
        action="store_true",
        help="resume the run in --run-dir if it holds one, else start it (the one command "
        "for a supervisor that restarts failed workers)",
    )
    add("--overwrite", action="store_true", help="replace an existing run")
    add("--no-export", action="store_true", help="skip the SavedModel export")
    add("--plots", action="store_true", help="write PNG plots to <run-dir>/plots/")
    return parser


def parse_args(argv=None, prog: str = "train.py"):
    """Returns `(config, options)`: the resolved `TrainConfig` and the run options.

    Bad flags exit with status 2 before TensorFlow is imported.
    """
    return parse_config(build_parser(prog), argv, OPTIONS)


#: Errors whose message says all: printed alone, without a traceback (status 1).
CLEAR_ERRORS = (
    ConnectionError,
    FileExistsError,
    FileNotFoundError,
    ImportError,
    TimeoutError,
    ValueError,
)


def main(argv=None, prog: str = "train.py"):
    """Parses the flags (before TensorFlow is imported), trains, prints the summary."""
    config, options = parse_args(argv, prog)
    quiet_tensorflow()
    resume = options["resume"]
    if options["auto_resume"]:
        resume = "auto"
    try:
        if config.strategy != "multiworker":  # a worker's folder is known once it runs
            # The run folder refuses a resume or a second start before TensorFlow loads.
            folder = RunFolder(config.run_dir)
            checked = folder.holds_run() if resume == "auto" else resume
            folder.check(config, checked, options["overwrite"])
        from keras_bmm.training import train  # imports TensorFlow
        from keras_bmm.training.recovery import exit_when_lost

        with exit_when_lost(prog):  # a lost worker: the message, and exit at once
            result = train(
                config,
                export=not options["no_export"],
                resume=resume,
                overwrite=options["overwrite"],
                plots=options["plots"],
            )
    except CLEAR_ERRORS as error:
        sys.exit(f"{prog}: error: {error}")
    print(result.summary())
