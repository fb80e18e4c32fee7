"""The flags of the sub-benchmarks that have many (`keras_bmm.commands.benchmark`)."""

from __future__ import annotations

import os

from keras_bmm.bootstrapping.methods import METHODS


def parse_setting(text: str):
    """`KEY=VALUE` as a `TrainConfig` setting, the value read as JSON when it can be."""
    import json

    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_transfer_parser(sub) -> None:
    """The `transfer` sub-command's flags (defaults: `benchmarks.transfer.TransferSetup`)."""
    from keras_bmm.benchmarks.transfer import TransferSetup

    setup = TransferSetup()
    transfer = sub.add_parser("transfer", help="fine-tuning a pretrained backbone, and scratch")
    transfer.add_argument("--method", nargs="*", choices=METHODS, dest="methods", default=[])
    transfer.add_argument(
        "--noise",
        nargs="*",
        default=["sym:0.5", "sym:0.8", "asym:0.4"],
        help="noise settings TYPE:RATE, TYPE sym or asym",
    )
    transfer.add_argument(
        "--init", nargs="*", choices=("pretrained", "scratch"), default=["pretrained", "scratch"]
    )
    transfer.add_argument(
        "--set",
        action="append",
        default=[],
        type=parse_setting,
        metavar="KEY=VALUE",
        help="another TrainConfig setting for the fine-tuning runs (repeatable), e.g. "
        "warmup_epochs=auto",
    )
    transfer.add_argument("--backbone", default=setup.backbone)
    transfer.add_argument("--image-size", type=int, nargs=2, default=setup.image_size)
    transfer.add_argument("--pretrain-per-class", type=int, default=setup.pretrain_per_class)
    transfer.add_argument("--pretrain-epochs", type=int, default=setup.pretrain_epochs)
    transfer.add_argument("--per-class", type=int, default=setup.per_class)
    transfer.add_argument("--epochs", type=int, default=None, help="default: the finetune preset's")
    transfer.add_argument("--data-dir", default=None, help="default: $KERAS_BMM_CIFAR10_ARCHIVE")
    transfer.add_argument("--run-root", default=os.path.join("runs", "transfer"))
    transfer.add_argument("--verbose", type=int, default=2)
    transfer.add_argument("--table", action="store_true", help="only print the finished runs")


def add_scraped_parser(sub) -> None:
    """The `scraped` sub-command's flags (the folder: `benchmarks.scraped.ScrapedSetup`)."""
    scraped = sub.add_parser("scraped", help="a scraped folder, trained then relabelled")
    scraped.add_argument(
        "--init",
        nargs="+",
        choices=("scratch", "pretrained"),
        default=["pretrained"],
        help="scratch: six classes, the README's CPU command; pretrained: the transfer "
        "benchmark's backbone fine-tuned (--preset finetune) on a folder of its five "
        "other classes",
    )
    scraped.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[3, 4, 5],
        help="default: the report seeds (0, 1, 2: design)",
    )
    scraped.add_argument("--data-dir", default=None, help="default: $KERAS_BMM_CIFAR10_ARCHIVE")
    scraped.add_argument("--run-root", default=os.path.join("runs", "scraped"))
    scraped.add_argument(
        "--transfer-root",
        default=os.path.join("runs", "realistic", "transfer-setup"),
        help="where the pretrained backbone is (made there if absent; shared with the "
        "realistic benchmark's transfer cells)",
    )


def add_device_parser(sub) -> None:
    """The `device` sub-command's flags (defaults: `benchmarks.device.DeviceSetup`)."""
    from keras_bmm.benchmarks.device import METHODS, PRECISIONS, DeviceSetup

    setup = DeviceSetup()
    device = sub.add_parser("device", help="each method's images/s on this device")
    device.add_argument(
        "--network",
        choices=("preact_resnet18", "small_cnn", "tiny_cnn", "none"),
        default=setup.network,
        help="the CIFAR-size network, or none",
    )
    device.add_argument("--width", type=int, default=setup.width)
    device.add_argument("--image-size", type=int, default=setup.image_size)
    device.add_argument("--batch-size", type=int, default=setup.batch_size)
    device.add_argument(
        "--backbone", default=setup.backbone, help="keras.applications class (random), or none"
    )
    device.add_argument("--backbone-size", type=int, default=setup.backbone_size)
    device.add_argument("--backbone-batch-size", type=int, default=setup.backbone_batch_size)
    device.add_argument("--steps", type=int, default=setup.steps, help="steps per timed round")
    device.add_argument("--repeats", type=int, default=setup.repeats)
    device.add_argument("--pipeline-batches", type=int, default=setup.pipeline_batches)
    device.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=setup.methods)
    device.add_argument(
        "--precision", nargs="+", choices=PRECISIONS, default=setup.precisions, dest="precisions"
    )
    device.add_argument("--xla", nargs="+", choices=("off", "on"), default=["off", "on"])
    device.add_argument(
        "--steps-per-execution", nargs="+", type=int, default=setup.steps_per_execution
    )


def add_realistic_parser(sub) -> None:
    """The `realistic` sub-command's flags (the grid: `keras_bmm.benchmarks.realistic.GRID`)."""
    from keras_bmm.benchmarks.realistic import GRID, METHODS

    real = sub.add_parser("realistic", help="automatic decisions on realistic noise")
    real.add_argument("--dataset", nargs="+", choices=tuple(GRID), default=["digits"])
    real.add_argument("--method", nargs="+", choices=tuple(METHODS), default=list(METHODS))
    real.add_argument("--noise", nargs="*", default=None, help="TYPE:RATE (default: the grid)")
    real.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default: the report seeds"
    )
    real.add_argument("--design", action="store_true", help="the design seeds instead")
    real.add_argument("--no-ceiling", action="store_true", help="skip the 0%%-noise runs")
    real.add_argument("--data-dir", default=None, help="default: $KERAS_BMM_CIFAR10_ARCHIVE")
    real.add_argument("--run-root", default=os.path.join("runs", "realistic"))
    real.add_argument("--verbose", type=int, default=0)
    real.add_argument("--table", action="store_true", help="only print the finished cells")
