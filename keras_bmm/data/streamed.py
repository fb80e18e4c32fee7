"""`StreamedDataset`: images read from their files by tf.data during training."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.data.bad_files import BadFiles
from keras_bmm.data.file_table import FileTable
from keras_bmm.data.interface import DatasetPipelines

#: Training images decoded up front to estimate the normalisation statistics.
STATS_SAMPLE = 512


@dataclasses.dataclass
class StreamedDataset(DatasetPipelines):
    """A file-backed dataset: a table of files, labels and sample indices, decoded per batch.

    Memory does not grow with the number of images: each batch is read,
    decoded (JPEG, PNG, GIF, BMP; grayscale, RGB or RGBA, all to RGB) and
    resized to `image_size` by tf.data in parallel, then dropped. A sample's
    index is its row in `train`, carried in every element, so a worker that
    reads only its own files, or a file left out, moves no other sample.

    Attributes:
        name: the dataset's name.
        train: the training `FileTable`.
        test: the test `FileTable`, or `None`.
        image_size: `(H, W)` every image is resized to.
        mean: per-channel mean of the raw pixels (estimated on a sample).
        std: per-channel standard deviation.
        augment: whether training uses the augmentation (random-resized
            crop and flip, or for small images the paper's padded crop).
        bad_files: with `skip_bad_files`, the `BadFiles` that collects the
            files left out; `None`: a file that does not decode stops the run.
        train_clean_labels: true training labels, when known.
        pool_index: after `holdout`, each sample's index in the full set.
        valid: indices of the training files found to decode before
            training (see `DatasetPipelines.distributed_train_batches`):
            only they are read, without leaving out files as they fail.
            `None`: all, with `bad_files` leaving out those that fail.

    Example:

    ```python
    data = keras_bmm.data.load_dataset("manifest", data_dir="labels.csv",
                                       image_size=(224, 224), stream=True)
    ds = data.train_batches(data.train_labels, batch_size=64)
    ```
    """

    name: str
    train: FileTable
    test: FileTable | None
    image_size: tuple
    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)
    augment: bool = True
    bad_files: BadFiles | None = None
    train_clean_labels: np.ndarray | None = None
    pool_index: np.ndarray | None = None
    valid: np.ndarray | None = None

    #: Images are read from their files during training.
    streams = True

    def __post_init__(self):
        self.image_size = tuple(int(s) for s in self.image_size)
        self.mean = tuple(float(m) for m in np.ravel(self.mean))
        self.std = tuple(float(s) for s in np.ravel(self.std))
        if self.test is not None and self.test.class_names != self.train.class_names:
            raise ValueError(
                f"{self.name!r}: test classes {list(self.test.class_names)} differ from the "
                f"training classes {list(self.train.class_names)}."
            )

    @property
    def class_names(self) -> tuple:
        return self.train.class_names

    @property
    def train_labels(self) -> np.ndarray:
        return self.train.labels

    @property
    def train_files(self) -> tuple:
        return self.train.files

    @property
    def test_labels(self) -> np.ndarray | None:
        return None if self.test is None else self.test.labels

    @property
    def has_test(self) -> bool:
        return self.test is not None

    @property
    def image_shape(self) -> tuple:
        return (*self.image_size, 3)

    @property
    def input_dtype(self) -> str:
        return "uint8"

    def train_source(self):
        from keras_bmm.data.source import file_source

        skipping = self.bad_files if self.valid is None else None
        return file_source(
            self.train.files, self.image_size, skipping, "train", self.pool_index, self.valid
        )

    def test_source(self):
        if self.test is None:
            return None
        from keras_bmm.data.source import file_source

        return file_source(self.test.files, self.image_size, self.bad_files, "test")

    def subset(self, indices) -> StreamedDataset:
        """The training samples at `indices` (sorted), with the same test split."""
        indices = np.asarray(indices, dtype=np.int64)
        clean = self.train_clean_labels
        valid = None if self.valid is None else np.flatnonzero(np.isin(indices, self.valid))
        return dataclasses.replace(
            self,
            train=self.train.subset(indices),
            train_clean_labels=None if clean is None else clean[indices],
            pool_index=self.sample_ids[indices],
            valid=valid,
        )


def streamed_dataset(
    name: str,
    train: FileTable,
    test: FileTable | None = None,
    image_size=None,
    skip_bad_files: bool = False,
    augment: bool = True,
) -> StreamedDataset:
    """A `StreamedDataset`, with normalisation statistics estimated on a sample.

    The statistics come from `STATS_SAMPLE` training images drawn with a
    fixed seed, decoded and resized, accumulated batch by batch.

    Args:
        name: the dataset's name.
        train: the training files and labels.
        test: the test files and labels, or `None`.
        image_size: `(H, W)`; default: the first training image's size.
        skip_bad_files: leave out files that do not decode (noted in
            `bad_files`) instead of stopping.
        augment: the dataset's default for training augmentation.

    Returns:
        A `StreamedDataset`.

    Raises:
        UndecodableFilesError: when a file does not decode (the first
            training file, or one of the statistics sample), naming every
            file of both splits that does not (unless `skip_bad_files`);
            with `skip_bad_files`, when no training file decodes.
    """
    from keras_bmm.data.decoding import DECODE_ERRORS, decode_error, read_image
    from keras_bmm.data.pipeline import source_ordered_batches
    from keras_bmm.data.source import file_source
    from keras_bmm.data.undecodable import (
        UndecodableFilesError,
        find_undecodable,
        none_decode,
        raise_undecodable,
    )

    splits = {"train": train.files, "test": None if test is None else test.files}
    if image_size is None:
        for path in train.files:
            if decode_error(path) is None:
                image_size = tuple(int(s) for s in read_image(path).shape[:2])
                break
            if not skip_bad_files:
                raise_undecodable(splits, name)
        if image_size is None:
            raise none_decode("train", train.files, name)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.permutation(len(train))[:STATS_SAMPLE])
    source = file_source(
        [train.files[i] for i in sample], image_size, BadFiles() if skip_bad_files else None
    )
    total, squares, count = np.zeros(3), np.zeros(3), 0
    try:
        for images, _ in source_ordered_batches(source, np.zeros(len(sample)), 64, False):
            pixels = images.numpy().reshape(-1, 3).astype(np.float64)
            total += pixels.sum(0)
            squares += np.square(pixels).sum(0)
            count += len(pixels)
    except DECODE_ERRORS:
        raise_undecodable(splits, name)  # every file, of both splits
        raise  # every file decodes when checked again: TensorFlow's error
    if count == 0:  # with skip_bad_files, no sampled file decodes: does any?
        rows = find_undecodable({"train": train.files})
        if len(rows) == len(train):
            raise UndecodableFilesError(rows, len(train), name, skipping=True)
    mean = total / max(count, 1)
    std = np.maximum(np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0)), 1e-3)
    return StreamedDataset(
        name=name,
        train=train,
        test=test,
        image_size=image_size,
        mean=tuple(mean),
        std=tuple(std),
        augment=augment,
        bad_files=BadFiles() if skip_bad_files else None,
    )
