"""Train an image classifier on noisy labels and export it for TF Serving.

Examples:
    python scripts/train.py --dataset digits --noise 0.8 --method m-dyr-h
    python scripts/train.py --preset cpu --noise 0.5 --method ce
    python scripts/train.py --preset paper --dataset cifar100 --noise 0.5
"""

import argparse
import sys

from keras_bmm import METHODS, TrainConfig, train
from keras_bmm.data import DATASETS
from keras_bmm.noise import NOISE_TYPES
from keras_bmm.presets import PRESETS
from keras_bmm.training import MODELS


def build_parser() -> argparse.ArgumentParser:
    # Defaults are left out (SUPPRESS) so that only given flags override a preset.
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], argument_default=argparse.SUPPRESS
    )
    add = parser.add_argument
    add("--preset", choices=tuple(PRESETS), help="paper: the paper's CIFAR setup; cpu: 2-core CPU")
    add("--dataset", choices=DATASETS, help="default: digits (embedded)")
    add("--data-dir", help="TFDS data directory, or ROOT of ROOT/{train,test}/<class>/*")
    add("--per-class", type=int, help="first K training images per class (image folders)")
    add("--image-size", type=int, nargs=2, metavar=("H", "W"), help="resize folder images")
    add("--label-set", help="CIFAR-N labels: aggre, random1-3, worst (10N); noisy (100N)")
    add("--noise", type=float, help="synthetic noise rate in [0, 1] (default 0)")
    add(
        "--noise-type",
        choices=NOISE_TYPES,
        help="symmetric: new label over all classes (paper, default); "
        "symmetric-exclusive: over the other classes; asymmetric: class pairs",
    )
    add("--noise-seed", type=int, help="seed of the noise (default: --seed)")
    add("--noisy-labels", help="train on labels saved by an earlier run (noisy_labels.npz)")
    add("--method", choices=METHODS, help="default: m-dyr-h")
    add("--model", choices=MODELS, help="backbone (default: by dataset)")
    add("--width", type=int, help="channels of the backbone's first stage")
    add("--epochs", type=int)
    add("--warmup-epochs", type=int, help="epochs of plain mixup before bootstrapping")
    add("--dynamic-epochs", type=int, help="md-dyr-sh: epochs of dynamic mixup")
    add("--temperature-epochs", type=int, help="md-dyr-sh: epochs of the temperature's fall")
    add("--batch-size", type=int)
    add("--lr", type=float, dest="learning_rate")
    add("--lr-milestones", type=int, nargs="*", help="epochs where the lr is multiplied by 0.1")
    add("--momentum", type=float)
    add("--weight-decay", type=float, help="coupled L2 weight decay, as the paper")
    add("--mixup-alpha", type=float)
    add("--reg-weight", type=float)
    add("--seed", type=int)
    add("--output", help="folder for the SavedModel (<output>/<name>/<version>)")
    add("--name", help="name of the run and the export")
    add("--run-dir", help="folder of checkpoints, history and labels (default runs/<name>)")
    add("--verbose", type=int, help="Keras verbosity: 0, 1 (progress bar) or 2")
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
        return TrainConfig(**args).resolved(), options
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
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        sys.exit(f"train.py: error: {error}")
    print(result.summary())


if __name__ == "__main__":
    main()
