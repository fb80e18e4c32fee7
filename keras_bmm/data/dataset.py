"""`ImageDataset`: a labelled train split (and optional test split) held in memory."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.data.image_rows import ImageRows, row_index
from keras_bmm.data.interface import DatasetPipelines
from keras_bmm.data.labels import validate_labels


@dataclasses.dataclass
class ImageDataset(DatasetPipelines):
    """Images and integer labels of a train and an optional test split, in memory.

    Its pipelines (`train_batches`, `tracking_batches`, `eval_batches`) and
    splits (`holdout`) are those of every dataset (`DatasetPipelines`).

    Attributes:
        name: the dataset's name.
        train_images: array `(N, H, W, C)` of raw pixels (uint8 for real
            images, float32 for the embedded digits); after `subset`, the
            `ImageRows` of the parent's array.
        train_labels: int64 array `(N,)`, the labels as given: the clean
            labels of a benchmark dataset, or the human labels of CIFAR-N.
        test_images: array `(M, H, W, C)`, or `None` without a test split.
        test_labels: int64 array `(M,)` of clean labels, or `None`.
        class_names: one name per class, in label order.
        mean: per-channel mean of the raw pixels, which the model subtracts.
        std: per-channel standard deviation, which the model divides by.
        augment: whether training uses the paper's augmentation (random crop
            with 4-pixel padding and horizontal flip).
        train_clean_labels: int64 array `(N,)` of ground-truth labels when
            `train_labels` are themselves noisy (CIFAR-N, open-set noise;
            `NO_CLASS` for an image of none of the classes), else `None`.
        train_files: file of each training image, for image folders.
        valid: indices of the training images that decoded, when files that
            did not were left out (`skip_bad_files`); `None`: all.
        bad_files: the `BadFiles` left out, or `None`.
        pool_index: after `holdout`, each sample's index in the full
            training set (`sample_ids`).
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray | None
    test_labels: np.ndarray | None
    class_names: tuple
    mean: tuple = (0.0,)
    std: tuple = (1.0,)
    augment: bool = False
    train_clean_labels: np.ndarray | None = None
    train_files: tuple | None = None
    valid: np.ndarray | None = None
    bad_files: object = None
    pool_index: np.ndarray | None = None

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
        self.mean = tuple(float(m) for m in np.ravel(self.mean))
        self.std = tuple(float(s) for s in np.ravel(self.std))
        if self.train_clean_labels is not None:
            self.train_clean_labels = validate_labels(
                self.train_clean_labels, self.num_classes, "clean train labels", True
            )
        self.train_labels = validate_labels(self.train_labels, self.num_classes, "train labels")
        splits = [("train", self.train_images, self.train_labels)]
        if self.test_images is not None or self.test_labels is not None:
            self.test_labels = validate_labels(self.test_labels, self.num_classes, "test labels")
            splits.append(("test", self.test_images, self.test_labels))
        for split, images, labels in splits:
            if len(images) == 0:
                raise ValueError(f"The {split} split of {self.name!r} is empty.")
            if len(images) != len(labels):
                raise ValueError(
                    f"{self.name!r} {split}: {len(images)} images but {len(labels)} labels."
                )

    @property
    def image_shape(self) -> tuple:
        return tuple(self.train_images.shape[1:])

    @property
    def has_test(self) -> bool:
        """Whether the dataset has a test split."""
        return self.test_images is not None

    #: Images are held in memory, not read from their files during training.
    streams = False

    @property
    def input_dtype(self) -> str:
        """The dtype of the raw images (the exported model's input)."""
        return np.dtype(self.train_images.dtype).name

    def train_source(self):
        from keras_bmm.data.source import array_source

        return array_source(self.train_images, valid=self.valid)

    def test_source(self):
        if self.test_images is None:
            return None
        from keras_bmm.data.source import array_source

        return array_source(self.test_images)

    def subset(self, indices) -> ImageDataset:
        """The training samples at `indices` (sorted; or a boolean mask), with the same test split.

        Its `train_images` are `ImageRows` of this dataset's: they share the
        decoded images instead of copying them.
        """
        indices = row_index(indices, len(self.train_labels))
        valid = None
        if self.valid is not None:
            valid = np.flatnonzero(np.isin(indices, self.valid))
        clean = self.train_clean_labels
        return dataclasses.replace(
            self,
            train_images=ImageRows(self.train_images, indices),  # no copy
            train_labels=self.train_labels[indices],
            train_clean_labels=None if clean is None else clean[indices],
            train_files=None
            if self.train_files is None
            else tuple(self.train_files[i] for i in indices),
            valid=valid,
            pool_index=self.sample_ids[indices],
        )


def channel_stats(images: np.ndarray, rows=None, chunk_values: int = 2**22) -> tuple:
    """Per-channel mean and standard deviation of raw pixels, a few images at a time.

    Args:
        images: array `(N, H, W, C)` (or `ImageRows`).
        rows: the indices of the images to use; `None`: all.
        chunk_values: pixel values converted to float64 at once (the memory
            this takes is 8 bytes each, twice).

    Returns:
        `(mean, std)`, tuples of C floats (std at least 1e-3).
    """
    channels = images.shape[-1]
    count = len(images) if rows is None else len(rows)
    per_image = max(1, int(np.prod(images.shape[1:])))
    step = max(1, int(chunk_values) // per_image)
    total = np.zeros(channels)
    squares = np.zeros(channels)
    for start in range(0, count, step):
        stop = min(start + step, count)
        block = images[start:stop] if rows is None else images[np.asarray(rows)[start:stop]]
        block = block.reshape(-1, channels).astype(np.float64)
        total += block.sum(axis=0)
        squares += np.square(block).sum(axis=0)
    pixels = count * per_image / channels
    mean = total / pixels
    std = np.sqrt(np.maximum(squares / pixels - mean**2, 0.0))
    return tuple(mean), tuple(np.maximum(std, 1e-3))
