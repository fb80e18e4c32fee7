"""CIFAR-10/100 and CIFAR-N through tensorflow-datasets (the `tfds` extra), in memory."""

from __future__ import annotations

import os
import textwrap

import numpy as np

from keras_bmm.data.dataset import ImageDataset, channel_stats
from keras_bmm.data.labels import CIFAR10_CLASSES

#: CIFAR-N label sets: the TFDS feature holding each one.
CIFAR_N_LABEL_SETS = {
    "cifar10_n": {
        "aggre": "aggre_label",
        "random1": "random_label1",
        "random2": "random_label2",
        "random3": "random_label3",
        "worst": "worse_label",
    },
    "cifar100_n": {"noisy": "noise_label"},
}

CIFAR_N_DEFAULT_LABEL_SET = {"cifar10_n": "worst", "cifar100_n": "noisy"}

#: The label files TFDS reads from `<data_dir>/downloads/manual/`.
CIFAR_N_MANUAL_FILES = {
    "cifar10_n": (
        "CIFAR-10_human_annotations.csv",
        "side_info_cifar10N.csv",
        "image_order_c10.npy",
    ),
    "cifar100_n": (
        "CIFAR-100_human_annotations.csv",
        "side_info_cifar100N.csv",
        "image_order_c100.npy",
    ),
}


def _class_names(builder) -> tuple:
    names = getattr(builder.info.features["label"], "names", None)
    if names:
        return tuple(names)
    return tuple(str(c) for c in range(builder.info.features["label"].num_classes))


def _load_splits(name: str, data_dir: str | None, download: bool):
    from tqdm.auto import tqdm

    from keras_bmm.extras import require

    tfds = require("tensorflow_datasets", "tfds")

    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        if name in CIFAR_N_MANUAL_FILES and not _prepared(builder):
            _check_manual_files(name, builder, data_dir)
        builder.download_and_prepare()
    splits = {}
    for split in ("train", "test"):
        chunks = {}
        for batch in tqdm(
            tfds.as_numpy(builder.as_dataset(split=split).batch(2048)),
            desc=f"{name} {split}",
            unit="batch",
        ):
            for key, value in batch.items():
                chunks.setdefault(key, []).append(value)
        splits[split] = {key: np.concatenate(values) for key, values in chunks.items()}
    return builder, splits


def _prepared(builder) -> bool:
    import tensorflow as tf

    return tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json"))


def manual_dir(builder, data_dir: str | None = None) -> str:
    """TFDS's manual download folder: `<data_dir>/downloads/manual`."""
    root = data_dir or os.path.dirname(os.path.dirname(builder.data_dir))
    return os.path.join(os.path.expanduser(root), "downloads", "manual")


def _check_manual_files(name: str, builder, data_dir: str | None) -> None:
    folder = manual_dir(builder, data_dir)
    missing = [f for f in CIFAR_N_MANUAL_FILES[name] if not os.path.exists(os.path.join(folder, f))]
    if missing:
        instructions = getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", "") or ""
        raise FileNotFoundError(
            f"{name} needs the CIFAR-N label files, downloaded by hand; missing {missing} "
            f"in {folder}.\n{textwrap.dedent(instructions).strip()}\n"
            f"Then put the three files {list(CIFAR_N_MANUAL_FILES[name])} in {folder} "
            "(or pass --data-dir to use another TFDS data directory)."
        )


def load_cifar(name: str = "cifar10", data_dir: str | None = None, download: bool = True):
    """CIFAR-10 or CIFAR-100 from tensorflow-datasets, as uint8 arrays in memory.

    Args:
        name: `"cifar10"` or `"cifar100"` (fine labels).
        data_dir: an existing TFDS data directory; default TFDS's own.
        download: prepare the dataset if it is missing (needs the network).

    Returns:
        An `ImageDataset` with augmentation on.
    """
    if name not in ("cifar10", "cifar100"):
        raise ValueError(f"load_cifar: expected 'cifar10' or 'cifar100', got {name!r}.")
    builder, splits = _load_splits(name, data_dir, download)
    return _dataset(name, builder, splits, "label")


def load_cifar_n(
    name: str = "cifar10_n",
    label_set: str | None = None,
    data_dir: str | None = None,
    download: bool = True,
):
    """CIFAR-10N / CIFAR-100N: CIFAR with real human label noise.

    The training labels are the chosen human label set; the clean CIFAR
    labels are kept in `train_clean_labels`, so the true noise mask is
    `train_labels != train_clean_labels`. TFDS needs the CIFAR-N label files
    downloaded by hand; a missing file gives the exact instructions.

    Args:
        name: `"cifar10_n"` or `"cifar100_n"`.
        label_set: for CIFAR-10N `"aggre"`, `"random1"`, `"random2"`,
            `"random3"` or `"worst"` (default; TFDS's `worse_label`); for
            CIFAR-100N `"noisy"`.
        data_dir: the TFDS data directory (its `downloads/manual/` holds the
            label files); default TFDS's own (`~/tensorflow_datasets`).
        download: prepare the dataset if missing.

    Returns:
        An `ImageDataset` whose training labels are noisy.
    """
    if name not in CIFAR_N_LABEL_SETS:
        raise ValueError(
            f"load_cifar_n: expected one of {tuple(CIFAR_N_LABEL_SETS)}, got {name!r}."
        )
    label_set = label_set or CIFAR_N_DEFAULT_LABEL_SET[name]
    sets = CIFAR_N_LABEL_SETS[name]
    if label_set not in sets:
        raise ValueError(
            f"Unknown label set {label_set!r} for {name}; expected one of {tuple(sets)}."
        )
    builder, splits = _load_splits(name, data_dir, download)
    dataset = _dataset(name, builder, splits, sets[label_set])
    dataset.name = f"{name}-{label_set}"
    return dataset


def _dataset(name: str, builder, splits: dict, train_label_key: str) -> ImageDataset:
    train, test = splits["train"], splits["test"]
    images = np.asarray(train["image"], np.uint8)
    mean, std = channel_stats(images)
    clean = np.asarray(train["label"], np.int64)
    given = np.asarray(train[train_label_key], np.int64)
    names = (
        CIFAR10_CLASSES if name.startswith("cifar10") and not name.startswith("cifar100") else None
    )
    return ImageDataset(
        name=name,
        train_images=images,
        train_labels=given,
        test_images=np.asarray(test["image"], np.uint8),
        test_labels=np.asarray(test["label"], np.int64),
        class_names=names or _class_names(builder),
        mean=mean,
        std=std,
        augment=True,
        train_clean_labels=None if train_label_key == "label" else clean,
    )
