"""The `TrainConfig` of each cell of the `realistic` benchmark, by dataset."""

from __future__ import annotations

import dataclasses
import os

#: The compared methods: the objective and how bootstrapping starts.
METHODS = {
    "ce": ("ce", None),
    "mixup": ("mixup", None),
    "fixed": ("m-dyr-h", "fixed"),
    "auto": ("m-dyr-h", "auto"),
    "label-wave": ("m-dyr-h", "label-wave"),
}

#: The fixed warm-up M-DYR-H is compared with: each setup's own.
FIXED_WARMUP = {"digits": 25, "cpu": 26, "transfer": 1}

#: Pretraining classes whose unseen (test) images are the transfer benchmark's
#: open-set images; their folders sort after the fine-tuning classes, so that
#: open-set noise leaves them out of the label set.
OPEN_SET_SOURCES = ("airplane", "automobile")


def cell_config(cell, run_dir: str, run_root: str, archive: str | None, verbose: int = 0):
    """The resolved-able `TrainConfig` of a `realistic.Cell`."""
    from keras_bmm.training import TrainConfig

    method, start = METHODS[cell.method]
    warmup = {None: None, "fixed": FIXED_WARMUP[cell.dataset]}.get(start, start)
    common = dict(
        method=method,
        noise=cell.rate,
        noise_type=cell.noise_type,
        noise_seed=cell.seed,
        verbose=verbose,
        name=os.path.basename(run_dir),
        run_dir=run_dir,
    )
    if cell.dataset == "digits":
        config = TrainConfig(dataset="digits", seed=cell.seed, **common)
    elif cell.dataset == "cpu":
        config = TrainConfig(preset="cpu", data_dir=_archive(archive), **common)
    else:
        config = _transfer_config(cell, run_root, _archive(archive), verbose, common)
    if method == "m-dyr-h":
        config = dataclasses.replace(config, warmup_epochs=warmup)
    return config


def _transfer_config(cell, run_root: str, archive: str, verbose: int, common: dict):
    from keras_bmm.benchmarks.transfer import (
        TransferSetup,
        _asymmetric_labels,
        backbone_name,
        pretrain,
    )
    from keras_bmm.training import TrainConfig

    setup = TransferSetup(noise_seed=cell.seed)
    root = os.path.realpath(os.path.join(run_root, "transfer-setup"))
    weights = pretrain(archive, root, setup, verbose)["weights"]
    data_dir = transfer_folder(archive, root, cell.noise_type == "open-set")
    if cell.noise_type == "asymmetric":  # the transfer benchmark's pairs: dog<->horse, truck->ship
        common = dict(common, noisy_labels=_asymmetric_labels(data_dir, setup, cell.rate, root))
    return TrainConfig(
        preset="finetune",
        dataset="folder",
        data_dir=data_dir,
        per_class=setup.per_class,
        image_size=setup.image_size,
        backbone=backbone_name(setup, root),
        weights=weights,
        seed=cell.seed,
        mixed_precision=False,
        **common,
    )


def transfer_folder(archive: str, root: str, open_set: bool) -> str:
    """The fine-tuning classes' folder; with `open_set`, plus unseen images of two others.

    The open-set folders `zz-other-<class>` hold the pretraining classes'
    test images (which the backbone never saw) as training images; their
    test folders (required to match) are dropped with their class.
    """
    from keras_bmm.atomic import atomic_directory
    from keras_bmm.benchmarks.transfer import FINETUNE_CLASSES, class_subset
    from keras_bmm.data.archive import extracted_folder

    target = os.path.join(root, "data", "finetune")
    if not open_set:
        return class_subset(archive, FINETUNE_CLASSES, target)
    target += "-open-set"
    if not os.path.isdir(target):
        source = extracted_folder(archive)
        with atomic_directory(target) as staging:
            for split in ("train", "test"):
                os.makedirs(os.path.join(staging, split))
                for name in FINETUNE_CLASSES:
                    linked = os.path.abspath(os.path.join(source, split, name))
                    os.symlink(linked, os.path.join(staging, split, name))
                for name in OPEN_SET_SOURCES:
                    other = "test" if split == "train" else "train"
                    linked = os.path.abspath(os.path.join(source, other, name))
                    os.symlink(linked, os.path.join(staging, split, f"zz-other-{name}"))
    return target


def _archive(archive: str | None) -> str:
    from keras_bmm.benchmarks.common import cifar10_archive

    return cifar10_archive(archive)
