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
        train_images: float32 array `(N, H, W, C)`, already normalised.
        train_labels: int64 array `(N,)` of clean (or given) labels.
        test_images: float32 array `(M, H, W, C)`.
        test_labels: int64 array `(M,)`.
        class_names: one name per class, in label order.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
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
