"""`transfer` benchmark: fine-tuning a pretrained backbone on noisy labels, on CPU.

The closest honest proxy of ImageNet fine-tuning that runs offline: a
backbone is pretrained on the clean images of five CIFAR-10 classes, its
feature extractor saved (`save_backbone_weights`), and fine-tuned through
`backbone` + `weights=PATH` (the `finetune` preset) on the five other
classes with noisy labels; the same runs start from random weights
("scratch", no head-only phase). Every run folder is resumable and a
finished run (its `benchmark.json`) is read back, not trained again.
"""

from __future__ import annotations

import dataclasses
import os

from keras_bmm.benchmarks.common import read_row, settings_suffix, start_epoch, train_or_read
from keras_bmm.bootstrapping.methods import METHODS

#: Pretraining classes and fine-tuning classes of CIFAR-10.
PRETRAIN_CLASSES = ("airplane", "automobile", "bird", "cat", "deer")
FINETUNE_CLASSES = ("dog", "frog", "horse", "ship", "truck")

#: Asymmetric noise among the fine-tuning classes, in the spirit of the CIFAR-10
#: pairs (cat <-> dog, truck -> automobile): dog <-> horse, truck -> ship.
ASYMMETRIC_PAIRS = {"dog": "horse", "horse": "dog", "truck": "ship"}

#: The benchmark's default backbone: keras-hub's ResNet-18 with pre-activation
#: blocks (the paper's network family), built from its class at CIFAR's 32x32
#: and saved as a local preset folder, which `--backbone` loads through
#: keras-hub's own `from_preset`, as it loads a downloaded preset.
HUB_RESNET18 = "hub-resnet18-v2"

#: `(noise_type, rate)` of the runs.
NOISE_SETTINGS = (("symmetric", 0.5), ("symmetric", 0.8), ("asymmetric", 0.4))


@dataclasses.dataclass
class TransferSetup:
    """What every run of the benchmark shares (its defaults: the measured setup).

    Attributes:
        backbone: the backbone, at `image_size`: `HUB_RESNET18`, or any name
            `--backbone` takes.
        image_size: `(H, W)` of the images (CIFAR-10's own 32x32).
        pretrain_per_class: clean training images per pretraining class.
        pretrain_epochs: epochs of the cross-entropy pretraining.
        per_class: training images per fine-tuning class.
        epochs: fine-tuning epochs (`None`: the `finetune` preset's).
        noise_seed: seed of the label noise.
    """

    backbone: str = HUB_RESNET18
    image_size: tuple = (32, 32)
    pretrain_per_class: int = 5000
    pretrain_epochs: int = 15
    per_class: int = 500
    epochs: int | None = None
    noise_seed: int = 1


COLUMNS = [
    "init",
    "noise",
    "method",
    "settings",
    "wrong_%",
    "best_%",
    "last_%",
    "auc_epoch1",
    "start_epoch",
    "auc_start",
    "auc_last",
    "epochs",
    "train_min",
    "wall_min",
]

RESULT_FILE = "benchmark.json"


def class_subset(archive: str, classes, target: str) -> str:
    """A dataset folder `target/{train,test}/<class>` linking `classes` of the archive's folder."""
    from keras_bmm.atomic import atomic_directory
    from keras_bmm.data.archive import extracted_folder

    source = extracted_folder(archive)
    if not os.path.isdir(target):
        with atomic_directory(target) as staging:
            for split in ("train", "test"):
                os.makedirs(os.path.join(staging, split))
                for name in classes:
                    linked = os.path.abspath(os.path.join(source, split, name))
                    if not os.path.isdir(linked):
                        raise FileNotFoundError(f"{archive!r} has no class folder {split}/{name}.")
                    os.symlink(linked, os.path.join(staging, split, name))
    return target


def backbone_name(setup: TransferSetup, run_root: str) -> str:
    """`setup.backbone`, with `HUB_RESNET18` made into a local keras-hub preset folder."""
    if setup.backbone != HUB_RESNET18:
        return setup.backbone
    folder = os.path.join(run_root, HUB_RESNET18)
    if not os.path.isdir(folder):
        from keras_bmm.atomic import atomic_directory
        from keras_bmm.extras import require

        keras_hub = require("keras_hub", "hub")
        with atomic_directory(folder) as staging:
            keras_hub.models.ResNetBackbone(
                input_conv_filters=[64],
                input_conv_kernel_sizes=[3],
                stackwise_num_filters=[64, 128, 256, 512],
                stackwise_num_blocks=[2, 2, 2, 2],
                stackwise_num_strides=[1, 2, 2, 2],
                block_type="basic_block",
                use_pre_activation=True,
            ).save_to_preset(staging)
            keras_hub.layers.ResNetImageConverter(
                image_size=setup.image_size, scale=1 / 127.5, offset=-1.0
            ).save_to_preset(staging)
    return folder


def pretrain(archive: str, run_root: str, setup: TransferSetup, verbose: int = 2) -> dict:
    """Trains the backbone on the clean pretraining classes; returns its row.

    The row's `weights` is the feature extractor's `.weights.h5` file.
    """
    from keras_bmm.backbones import save_backbone_weights
    from keras_bmm.training import TrainConfig

    data_dir = class_subset(archive, PRETRAIN_CLASSES, os.path.join(run_root, "data", "pretrain"))
    config = TrainConfig(
        dataset="folder",
        data_dir=data_dir,
        per_class=setup.pretrain_per_class,
        image_size=setup.image_size,
        backbone=backbone_name(setup, run_root),
        weights="none",
        method="ce",
        noise=0.0,
        epochs=setup.pretrain_epochs,
        batch_size=64,
        learning_rate=0.05,
        lr_milestones=_milestones(setup.pretrain_epochs, (0.6, 0.9)),
        weight_decay=5e-4,
        warmup_epochs=1,
        eval_every=1,
        verbose=verbose,
    )

    def finish(result, row):
        path = os.path.join(row["run_dir"], "features.weights.h5")
        row["weights"] = save_backbone_weights(result.model, path)
        return row

    return _run(config, "pretraining", "clean", os.path.join(run_root, "pretrain"), finish=finish)


def transfer_run(
    init: str,
    method: str,
    noise_type: str,
    rate: float,
    archive: str,
    run_root: str = os.path.join("runs", "transfer"),
    setup: TransferSetup | None = None,
    verbose: int = 2,
    overrides: dict | None = None,
) -> dict:
    """Fine-tunes one method on the noisy fine-tuning classes; returns its row.

    Args:
        init: `"pretrained"` (the pretraining's features, one head-only
            epoch) or `"scratch"` (random weights, no head-only phase).
        method: one of `keras_bmm.METHODS`.
        noise_type: `"symmetric"` (the paper's: over all classes, the true
            one included) or `"asymmetric"` (`ASYMMETRIC_PAIRS`).
        rate: noise rate.
        archive: the CIFAR-10 JPEG archive or folder.
        run_root: folder of the benchmark's run folders.
        setup: the shared settings (default `TransferSetup()`).
        verbose: Keras verbosity.
        overrides: other `TrainConfig` settings to change from the `finetune`
            preset (for example `{"warmup_epochs": "auto"}`).

    Returns:
        A row: accuracy on the fine-tuning classes' test images (best, last,
        %), the mixture's noise-detection AUC after the first epoch and at the
        end, epochs, summed epoch time and this invocation's wall time.
    """
    from keras_bmm.training import TrainConfig

    if init not in ("pretrained", "scratch"):
        raise ValueError(f"init must be 'pretrained' or 'scratch', got {init!r}.")
    setup = setup or TransferSetup()
    weights, freeze_epochs = "none", 0
    if init == "pretrained":
        weights, freeze_epochs = pretrain(archive, run_root, setup, verbose)["weights"], None
    data_dir = class_subset(archive, FINETUNE_CLASSES, os.path.join(run_root, "data", "finetune"))
    label = f"{'sym' if noise_type == 'symmetric' else 'asym'} {rate:g}"
    noisy_labels = None
    if noise_type == "asymmetric":
        noisy_labels = _asymmetric_labels(data_dir, setup, rate, run_root)
    config = TrainConfig(
        preset="finetune",
        dataset="folder",
        data_dir=data_dir,
        per_class=setup.per_class,
        image_size=setup.image_size,
        backbone=backbone_name(setup, run_root),
        weights=weights,
        freeze_epochs=freeze_epochs,
        epochs=setup.epochs,
        method=method,
        noise=rate,
        noise_type=noise_type,
        noise_seed=setup.noise_seed,
        noisy_labels=noisy_labels,
        # The fixed one-epoch warm-up (the preset's default was 1 before "auto"),
        # so that `warmup_epochs=auto` runs are compared with it.
        warmup_epochs=1,
        mixed_precision=False,
        verbose=verbose,
    )
    config = dataclasses.replace(config, **(overrides or {}))
    name = f"{init}-{method}-{label.replace(' ', '')}{settings_suffix(overrides)}"
    return _run(config, init, label, os.path.join(run_root, name), overrides)


def _milestones(epochs: int, fractions) -> tuple:
    """1-based epochs after the given fractions of training (10x lower rate from each)."""
    return tuple(sorted({int(epochs * f) + 1 for f in fractions} & set(range(2, epochs + 1))))


def _asymmetric_labels(data_dir: str, setup: TransferSetup, rate: float, run_root: str) -> str:
    """The noisy labels file of asymmetric noise among the fine-tuning classes."""
    import numpy as np

    from keras_bmm.data.folder import list_class_files
    from keras_bmm.noise import asymmetric_noise

    path = os.path.join(run_root, "data", f"asymmetric-{rate:g}-seed{setup.noise_seed}.npz")
    if not os.path.exists(path):
        files = list_class_files(os.path.join(data_dir, "train"), setup.per_class)
        names = list(files)
        clean = np.concatenate([np.full(len(f), c) for c, f in enumerate(files.values())])
        mapping = {names.index(a): names.index(b) for a, b in ASYMMETRIC_PAIRS.items()}
        asymmetric_noise(clean, rate, len(names), setup.noise_seed, mapping).save(path)
    return path


def _run(config, init: str, label: str, run_dir: str, overrides=None, finish=None) -> dict:
    """Trains (or resumes, or reads back) one run of the benchmark."""

    config = dataclasses.replace(config, name=os.path.basename(run_dir), run_dir=run_dir)

    def row_of(result, wall_seconds, resume):
        seconds = result.history.get("epoch_seconds")
        aucs = result.history.get("bmm_auc", [])
        row = {
            "init": init,
            "noise": label,
            "method": result.config.method,
            "settings": dict(overrides or {}),
            "wrong_%": 100 * result.noise.achieved_rate,
            "best_%": 100 * result.best_test_accuracy,
            "last_%": 100 * result.last_test_accuracy,
            "auc_epoch1": aucs[0] if aucs else None,
            "start_epoch": start_epoch(result.history, result.config.method),
            "auc_start": result.auc_after_warmup,
            "auc_last": aucs[-1] if aucs else None,
            "epochs": len(result.history.get("loss", [])),
            "train_min": sum(seconds) / 60 if seconds else None,
            "wall_min": wall_seconds / 60,
            "resumed": resume,
            "run_dir": run_dir,
            "backbone": result.config.backbone,
        }
        return row if finish is None else finish(result, row)

    return train_or_read(config, run_dir, RESULT_FILE, row_of)


def collect(run_root: str = os.path.join("runs", "transfer")) -> list[dict]:
    """The rows of every finished run under `run_root`: pretraining, then by noise."""
    rows = []
    if os.path.isdir(run_root):
        for name in sorted(os.listdir(run_root)):
            path = os.path.join(run_root, name, RESULT_FILE)
            if os.path.exists(path):
                rows.append(read_row(path))
    order = {m: i for i, m in enumerate(METHODS)}
    noises = {
        f"{'sym' if t == 'symmetric' else 'asym'} {r:g}": i
        for i, (t, r) in enumerate(NOISE_SETTINGS)
    }
    inits = {"pretraining": 0, "pretrained": 1, "scratch": 2}
    return sorted(
        rows,
        key=lambda r: (
            r["init"] != "pretraining",
            noises.get(r["noise"], 99),
            inits.get(r["init"], 9),
            order.get(r["method"], 99),
        ),
    )


def transfer_benchmark(args) -> list[dict]:
    """Runs what `scripts/benchmark.py transfer` asks for; returns every finished row."""
    from keras_bmm.benchmarks.common import cifar10_archive

    setup = TransferSetup(
        backbone=args.backbone,
        image_size=tuple(args.image_size),
        pretrain_per_class=args.pretrain_per_class,
        pretrain_epochs=args.pretrain_epochs,
        per_class=args.per_class,
        epochs=args.epochs,
    )
    archive = cifar10_archive(args.data_dir)
    noises = [parse_noise(n) for n in args.noise]
    overrides = dict(args.set)
    if "pretrained" in args.init:
        pretrain(archive, args.run_root, setup, args.verbose)
    for noise_type, rate in noises:
        for init in args.init:
            for method in args.methods:
                transfer_run(
                    init,
                    method,
                    noise_type,
                    rate,
                    archive,
                    args.run_root,
                    setup,
                    args.verbose,
                    overrides,
                )
    return collect(args.run_root)


def parse_noise(text: str) -> tuple:
    """`"sym:0.5"` -> `("symmetric", 0.5)`; `"asym:0.4"` -> `("asymmetric", 0.4)`."""
    kind, _, rate = text.partition(":")
    types = {"sym": "symmetric", "asym": "asymmetric"}
    try:
        return types[kind], float(rate)
    except (KeyError, ValueError):
        raise SystemExit(f"--noise {text!r}: expected sym:RATE or asym:RATE.") from None
