"""`ImageDataset`: a labelled train/test split held in memory."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.noise import validate_labels


@dataclasses.dataclass
class ImageDataset:
    """Images and integer labels of a train and a test split.

    Attributes:
        name: the dataset's name.
        train_images: array `(N, H, W, C)` of raw pixels (uint8 for real
            images, float32 for the embedded digits).
        train_labels: int64 array `(N,)`, the labels as given: the clean
            labels of a benchmark dataset, or the human labels of CIFAR-N.
        test_images: array `(M, H, W, C)`.
        test_labels: int64 array `(M,)` of clean labels.
        class_names: one name per class, in label order.
        mean: per-channel mean of the raw pixels, which the model subtracts.
        std: per-channel standard deviation, which the model divides by.
        augment: whether training uses the paper's augmentation (random crop
            with 4-pixel padding and horizontal flip).
        train_clean_labels: int64 array `(N,)` of ground-truth labels when
            `train_labels` are themselves noisy (CIFAR-N), else `None`.
        train_files: file of each training image, for image folders.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple
    mean: tuple = (0.0,)
    std: tuple = (1.0,)
    augment: bool = False
    train_clean_labels: np.ndarray | None = None
    train_files: tuple | None = None

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
        self.mean = tuple(float(m) for m in np.ravel(self.mean))
        self.std = tuple(float(s) for s in np.ravel(self.std))
        if self.train_clean_labels is not None:
            self.train_clean_labels = validate_labels(
                self.train_clean_labels, self.num_classes, "clean train labels"
            )
        self.train_labels = validate_labels(self.train_labels, self.num_classes, "train labels")
        self.test_labels = validate_labels(self.test_labels, self.num_classes, "test labels")
        for split, images, labels in (
            ("train", self.train_images, self.train_labels),
            ("test", self.test_images, self.test_labels),
        ):
            if len(images) == 0:
                raise ValueError(f"The {split} split of {self.name!r} is empty.")
            if len(images) != len(labels):
                raise ValueError(
                    f"{self.name!r} {split}: {len(images)} images but {len(labels)} labels."
                )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_train(self) -> int:
        return len(self.train_labels)

    @property
    def image_shape(self) -> tuple:
        return tuple(self.train_images.shape[1:])


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple:
    """Per-channel mean and standard deviation of raw pixels, in chunks."""
    channels = images.shape[-1]
    total = np.zeros(channels)
    squares = np.zeros(channels)
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk].reshape(-1, channels).astype(np.float64)
        total += block.sum(axis=0)
        squares += np.square(block).sum(axis=0)
    count = images.size / channels
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return tuple(mean), tuple(np.maximum(std, 1e-3))
