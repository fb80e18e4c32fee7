"""Train an image classifier on noisy labels and export it for TF Serving.

Example:
    python scripts/train.py --dataset digits --noise 0.8 --method m-dyr-h
"""

import argparse

from keras_bmm import METHODS, TrainConfig, train
from keras_bmm.data import DATASETS
from keras_bmm.noise import NOISE_TYPES


def parse_args(argv=None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=DATASETS)
    parser.add_argument("--noise", type=float, default=0.0, help="noise rate in [0, 1]")
    parser.add_argument(
        "--noise-type",
        default="symmetric",
        choices=NOISE_TYPES,
        help="symmetric: new label over all classes (paper); "
        "symmetric-exclusive: over the other classes",
    )
    parser.add_argument("--method", default="m-dyr-h", choices=METHODS)
    parser.add_argument("--epochs", type=int, help="default: the dataset's schedule")
    parser.add_argument("--warmup-epochs", type=int, help="epochs of plain mixup first")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, dest="learning_rate")
    parser.add_argument("--mixup-alpha", type=float, default=32.0)
    parser.add_argument("--reg-weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output",
        default="exported_models",
        help="folder for the SavedModel (<output>/<name>/<version>)",
    )
    parser.add_argument("--name", help="model name of the export")
    args = parser.parse_args(argv)
    config = TrainConfig(**vars(args))
    try:
        return config.resolved()
    except ValueError as error:
        parser.error(str(error))


def main(argv=None):
    result = train(parse_args(argv))
    print(result.summary())


if __name__ == "__main__":
    main()
