"""`scraped` case: a folder as a user scrapes it, trained as the README says, then relabelled.

Real CIFAR-10 images of six classes, upscaled to mixed sizes and saved in
mixed formats (JPEG of several qualities, PNG, BMP, grayscale), with a share
of labels flipped to another class at random, and no test split. The run
follows the README's own-images command; then the relabelling loop (train
again with `--labels corrected_labels.csv`). The truth stays with the
benchmark: the flipped files, and a clean folder of other images of the same
classes on which both runs' true accuracy is measured.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

#: The six classes (CIFAR-10's animals and vehicles, some of them similar).
CLASSES = ("airplane", "automobile", "bird", "cat", "dog", "truck")

#: (extension, PIL format, PIL mode, save options), cycled over the files.
FORMATS = (
    ("jpg", "JPEG", "RGB", {"quality": 90}),
    ("png", "PNG", "RGB", {}),
    ("jpg", "JPEG", "RGB", {"quality": 60}),
    ("bmp", "BMP", "RGB", {}),
    ("jpeg", "JPEG", "L", {"quality": 80}),
)


#: The finished case's row, in its folder.
CASE_FILE = "case.json"

#: The table's columns (`scraped_case`'s row).
COLUMNS = [
    "init",
    "seed",
    "start",
    "start_reason",
    "estimate",
    "true_wrong",
    "wrong_given",
    "wrong_corrected",
    "suggested",
    "true_accuracy_first",
    "true_accuracy_relabelled",
    "held_out_first",
    "held_out_relabelled",
]


@dataclasses.dataclass
class ScrapedSetup:
    """The scraped folder (1,500 images, 30% wrong) and the README's CPU command for it."""

    classes: tuple = CLASSES
    per_class: int = 250
    test_per_class: int = 200
    noise: float = 0.3
    image_size: int = 64
    width: int = 16
    batch_size: int = 32
    epochs: int = 30
    lr_milestones: tuple = (21,)
    seed: int = 0
    #: Fine-tune instead: a backbone (name or preset folder) and its weights file;
    #: the `finetune` preset's schedule then replaces the from-scratch one.
    backbone: str | None = None
    weights: str | None = None


def make_scraped_folder(archive: str, root: str, setup: ScrapedSetup) -> dict:
    """Writes `root/scraped/train/<class>/*` (noisy) and `root/clean-test/train/<class>/*`.

    Returns:
        `{"files": [...], "given": [...], "clean": [...]}` of the scraped
        training files (labels as class indices), also in `root/truth.json`.
    """
    from PIL import Image

    from keras_bmm.atomic import atomic_directory, write_json
    from keras_bmm.data.archive import extracted_folder
    from keras_bmm.data.listing import list_class_files

    truth_path = os.path.join(root, "truth.json")
    if os.path.exists(truth_path):
        with open(truth_path) as f:
            return json.load(f)
    source = extracted_folder(archive)
    rng = np.random.default_rng(setup.seed)
    train = list_class_files(os.path.join(source, "train"))
    test = list_class_files(os.path.join(source, "test"))
    truth = {"files": [], "given": [], "clean": []}
    os.makedirs(root, exist_ok=True)
    for folder, files, count, noisy in (
        ("scraped", train, setup.per_class, True),
        ("clean-test", test, setup.test_per_class, False),
    ):
        with atomic_directory(os.path.join(root, folder)) as staging:
            classes = setup.classes
            for c, name in enumerate(classes):
                chosen = rng.permutation(len(files[name]))[:count]
                for k, i in enumerate(sorted(chosen)):
                    label = c
                    if noisy and rng.random() < setup.noise:
                        label = int((c + rng.integers(1, len(classes))) % len(classes))
                    ext, fmt, mode, options = FORMATS[k % len(FORMATS)]
                    side = int(rng.integers(40, 120))
                    image = Image.open(files[name][i]).convert("RGB")
                    image = image.resize((side, int(side * rng.uniform(0.75, 1.33))))
                    target = os.path.join(staging, "train", classes[label])
                    os.makedirs(target, exist_ok=True)
                    path = os.path.join(target, f"{name}-{i:05d}.{ext}")
                    image.convert(mode).save(path, fmt, **options)
                    if noisy:
                        final = os.path.join(root, folder, "train", classes[label])
                        truth["files"].append(os.path.join(final, os.path.basename(path)))
                        truth["given"].append(label)
                        truth["clean"].append(c)
    truth["classes"] = list(setup.classes)
    write_json(truth_path, truth)
    return truth


def train_scraped(root: str, setup: ScrapedSetup, labels: str | None = None, name="first"):
    """Trains on the scraped folder as the README says (auto warm-up, 10% held out)."""
    from keras_bmm.training import TrainConfig, train

    common = dict(
        dataset="folder",
        data_dir=os.path.join(root, "scraped"),
        image_size=(setup.image_size, setup.image_size),
        val_split=0.1,
        labels=labels,
        seed=setup.seed,
        run_dir=os.path.join(root, "runs", name),
        name=f"scraped-{name}",
        verbose=2,
    )
    if setup.backbone:  # the README's fine-tuning command
        config = TrainConfig(
            preset="finetune",
            backbone=setup.backbone,
            weights=setup.weights,
            mixed_precision=False,
            **common,
        )
    else:  # the README's CPU command from scratch
        config = TrainConfig(
            epochs=setup.epochs,
            width=setup.width,
            batch_size=setup.batch_size,
            lr_milestones=setup.lr_milestones,
            **common,
        )
    from keras_bmm.training.run_folder import RunFolder

    resume = RunFolder(config.run_dir).holds_run()
    return train(config, export=False, resume=resume)


def true_accuracy(model, root: str, setup: ScrapedSetup) -> float:
    """Accuracy of a trained model on the clean folder of other images."""
    from keras_bmm.data.catalog import load_dataset

    clean = load_dataset(
        "folder",
        data_dir=os.path.join(root, "clean-test"),
        image_size=(setup.image_size, setup.image_size),
    )
    logits = model.backbone.predict(clean.train_images, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == clean.train_labels))


def wrong_labels(truth: dict, manifest: str | None = None) -> int:
    """Training files whose label is wrong: as given, or in a corrected manifest."""
    given = dict(zip(map(os.path.realpath, truth["files"]), truth["given"]))
    if manifest is not None:
        from keras_bmm.data.manifest import read_manifest

        table = read_manifest(manifest, sorted(set(truth["classes"])))
        given.update(zip(map(os.path.realpath, table.files), table.labels))
    clean = dict(zip(map(os.path.realpath, truth["files"]), truth["clean"]))
    return int(sum(given[f] != clean[f] for f in clean))


def scraped_case(archive: str, root: str, setup: ScrapedSetup | None = None) -> dict:
    """The whole case: folder, first run, relabelled run; returns its row.

    A finished case (its `root/case.json`) is read back, not trained again.
    """
    from keras_bmm.atomic import write_json

    done = os.path.join(root, CASE_FILE)
    if os.path.exists(done):
        with open(done) as f:
            return json.load(f)
    setup = setup or ScrapedSetup()
    truth = make_scraped_folder(archive, root, setup)
    first = train_scraped(root, setup)
    corrected = first.corrected_labels_path
    second = train_scraped(root, setup, labels=corrected, name="relabelled")
    history = first.history
    row = {
        "init": "pretrained" if setup.backbone else "scratch",
        "seed": setup.seed,
        "start": _start(first),
        "start_reason": first.start_reason,
        "agreement_at_start": _at_start(history, "label_kappa", first),
        "changes_at_start": _at_start(history, "prediction_changes", first),
        "estimate": _interval(first.noise_estimate),
        "true_wrong": float(np.mean(np.array(truth["given"]) != np.array(truth["clean"]))),
        "wrong_given": wrong_labels(truth),
        "wrong_corrected": wrong_labels(truth, corrected) if corrected else None,
        "suggested": first.suggestions.count,
        "suggestions": first.suggestions.reason,
        "true_accuracy_first": true_accuracy(first.model, root, setup),
        "true_accuracy_relabelled": true_accuracy(second.model, root, setup),
        "held_out_first": first.last_noisy_val_accuracy,
        "held_out_relabelled": second.last_noisy_val_accuracy,
    }
    write_json(done, row)
    return row


def pretrained_setup(archive: str, transfer_root: str, seed: int, verbose: int = 2):
    """The fine-tuning case: the transfer benchmark's backbone on its five other classes.

    The backbone is pretrained (once, in `transfer_root`) on the clean images
    of five CIFAR-10 classes; the scraped folder holds the five others, as a
    user's scraped classes differ from the backbone's pretraining ones.
    """
    from keras_bmm.benchmarks.transfer import (
        FINETUNE_CLASSES,
        TransferSetup,
        backbone_name,
        pretrain,
    )

    transfer = TransferSetup()
    weights = pretrain(archive, transfer_root, transfer, verbose)["weights"]
    return ScrapedSetup(
        classes=FINETUNE_CLASSES,
        per_class=300,
        image_size=transfer.image_size[0],
        seed=seed,
        backbone=backbone_name(transfer, transfer_root),
        weights=weights,
    )


def scraped_benchmark(archive: str, root: str, inits, seeds, transfer_root: str) -> list[dict]:
    """Runs (or reads back) the case for each of `inits` x `seeds`; returns the rows."""
    rows = []
    for init in inits:
        for seed in seeds:
            if init == "pretrained":
                setup = pretrained_setup(archive, os.path.realpath(transfer_root), seed)
            else:
                setup = ScrapedSetup(seed=seed)
            rows.append(scraped_case(archive, os.path.join(root, f"{init}-seed{seed}"), setup))
    return rows


def _interval(estimate) -> str | None:
    if not estimate:
        return None
    return f"{estimate['estimate']:.2f} ({estimate['low']:.2f}-{estimate['high']:.2f})"


def _start(result):
    from keras_bmm.benchmarks.common import start_epoch

    return start_epoch(result.history, result.config.method)


def _at_start(history: dict, key: str, result):
    start = _start(result)
    values = history.get(key, [])
    return None if start is None or start - 2 >= len(values) else values[start - 2]
