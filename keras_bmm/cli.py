"""Command-line flags shared by `scripts/train.py` and `scripts/tune.py`."""

from __future__ import annotations

import argparse
import json

from keras_bmm.data import DATASETS
from keras_bmm.distribute import STRATEGIES
from keras_bmm.model import METHODS
from keras_bmm.noise import NOISE_TYPES
from keras_bmm.presets import PRESETS
from keras_bmm.training import MODELS, TrainConfig


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds one flag per `TrainConfig` field, with no defaults (SUPPRESS).

    Only the flags given override the `--config` file, the preset and the
    dataset's defaults, in that order.
    """
    add = parser.add_argument
    s = argparse.SUPPRESS
    add("--config", default=s, help="JSON file of settings (e.g. tune.py's best_config.json)")
    add(
        "--preset",
        default=s,
        choices=tuple(PRESETS),
        help="paper: the paper's CIFAR setup; cpu: 2-core CPU",
    )
    add("--dataset", default=s, choices=DATASETS, help="default: digits (embedded)")
    add("--data-dir", default=s, help="TFDS data directory, or ROOT of ROOT/{train,test}/<class>/*")
    add("--per-class", default=s, type=int, help="first K training images per class (folders)")
    add(
        "--image-size",
        default=s,
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="resize folder images",
    )
    add(
        "--label-set", default=s, help="CIFAR-N labels: aggre, random1-3, worst (10N); noisy (100N)"
    )
    add("--noise", default=s, type=float, help="synthetic noise rate in [0, 1] (default 0)")
    add(
        "--noise-type",
        default=s,
        choices=NOISE_TYPES,
        help="symmetric: new label over all classes (paper, default); "
        "symmetric-exclusive: over the other classes; asymmetric: class pairs",
    )
    add("--noise-seed", default=s, type=int, help="seed of the noise (default: --seed)")
    add("--noisy-labels", default=s, help="train on labels saved by a run (noisy_labels.npz)")
    add("--method", default=s, choices=METHODS, help="default: m-dyr-h")
    add("--model", default=s, choices=MODELS, help="backbone (default: by dataset)")
    add("--width", default=s, type=int, help="channels of the backbone's first stage")
    add("--epochs", default=s, type=int)
    add("--warmup-epochs", default=s, type=int, help="epochs of plain mixup before bootstrapping")
    add("--dynamic-epochs", default=s, type=int, help="md-dyr-sh: epochs of dynamic mixup")
    add("--temperature-epochs", default=s, type=int, help="md-dyr-sh: epochs of the fall of T")
    add("--batch-size", default=s, type=int)
    add("--lr", default=s, type=float, dest="learning_rate")
    add("--lr-milestones", default=s, type=int, nargs="*", help="1-based epochs of lr x0.1")
    add("--momentum", default=s, type=float)
    add("--weight-decay", default=s, type=float, help="coupled L2 weight decay, as the paper")
    add("--mixup-alpha", default=s, type=float)
    add("--reg-weight", default=s, type=float)
    add("--seed", default=s, type=int)
    add("--output", default=s, help="folder for the SavedModel (<output>/<name>/<version>)")
    add("--name", default=s, help="name of the run and the export")
    add("--run-dir", default=s, help="folder of checkpoints, history, labels (runs/<name>)")
    add("--verbose", default=s, type=int, help="Keras verbosity: 0, 1 (progress bar) or 2")
    add(
        "--strategy",
        default=s,
        choices=STRATEGIES,
        help="tf.distribute: default, mirrored (local devices), multiworker (TF_CONFIG)",
    )
    add(
        "--fast",
        default=s,
        action=argparse.BooleanOptionalAction,
        help="--fast: one training-mode pass per batch (no gradient) gives targets, posterior "
        "and tracked losses (default; the cpu preset); --no-fast: the reference code's passes "
        "(the paper preset)",
    )
    add(
        "--augment",
        default=s,
        action=argparse.BooleanOptionalAction,
        help="random crop (4 px padding) and flip of training images (default: by dataset)",
    )
    add(
        "--epoch-loss-pass",
        default=s,
        action=argparse.BooleanOptionalAction,
        help="fit the mixture on a pass over the training set after each epoch "
        "(default: with --no-fast only; with --fast a diagnostic, see the README)",
    )
    add("--eval-every", default=s, type=int, help="test-set evaluation every N epochs (default 1)")
    add(
        "--mixed-precision",
        default=s,
        action="store_true",
        help="mixed_float16 (GPU); the BMM stays float32",
    )


def config_from_args(args: dict) -> TrainConfig:
    """The resolved `TrainConfig` of parsed flags (a dict); raises `ValueError`."""
    args = dict(args)
    values = {}
    path = args.pop("config", None)
    if path:
        try:
            with open(path) as f:
                values = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"--config {path}: cannot read settings ({error}).") from None
        unknown = sorted(set(values) - set(TrainConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"--config {path}: unknown settings {unknown}.")
    values.update(args)
    return TrainConfig(**values).resolved()
