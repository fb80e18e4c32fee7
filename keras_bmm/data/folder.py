"""Image files into memory: `load_image_folder` (`ROOT/<split>/<class>/*`) and any `FileTable`."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from keras_bmm.data.bad_files import BadFiles
from keras_bmm.data.dataset import ImageDataset, channel_stats
from keras_bmm.data.decoding import DECODE_ERRORS, flagged, read_image
from keras_bmm.data.file_table import FileTable
from keras_bmm.data.listing import IMAGE_EXTENSIONS, list_class_files  # noqa: F401 (public)
from keras_bmm.data.undecodable import (
    UndecodableFilesError,
    find_undecodable,
    none_decode,
    raise_undecodable,
)


def _decode(path, channels: int, size, resize: bool):
    """The decoded image resized to `size`, or, unresized, whether it had that size."""
    image = read_image(path, channels)
    if resize:
        image = tf.image.resize(image, size)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return tf.ensure_shape(image, (*size, channels)), tf.constant(True)
    fits = tf.reduce_all(tf.shape(image)[:2] == size)
    image = tf.cond(fits, lambda: image, lambda: tf.zeros((*size, channels), tf.uint8))
    return tf.ensure_shape(image, (*size, channels)), fits


def _first_size(paths, channels: int, skip: bool, split: str, name: str):
    """`(H, W)` of the first file that decodes (without `skip`: of the first file)."""
    for path in paths:
        try:
            return tuple(read_image(path, channels).shape[:2])
        except DECODE_ERRORS:
            if not skip:
                raise_undecodable({split: paths}, name, channels)
    raise none_decode(split, paths, name, channels)


def decode_images(
    paths,
    channels: int = 3,
    image_size=None,
    desc: str = "decoding",
    skip_bad_files: bool = False,
    split: str = "train",
    name: str = "",
):
    """Decodes image files into one uint8 array `(N, H, W, channels)` with tf.data.

    Files are read and decoded in parallel (`AUTOTUNE`), with a progress bar.

    Args:
        paths: image files.
        channels: channels to decode to (3: RGB; grayscale is replicated).
        image_size: `(H, W)` to resize every image to; `None` requires all
            images to have the size of the first.
        desc: label of the progress bar.
        skip_bad_files: give files that do not decode a zero image instead
            of raising, and return which decoded.
        split: the split's name, for the error naming the files that do not decode.
        name: the dataset's name, for that error.

    Returns:
        The decoded images; with `skip_bad_files`, `(images, decoded)` where
        `decoded` is a bool array.

    Raises:
        UndecodableFilesError: naming every file that cannot be decoded
            (without `skip_bad_files`), or with `skip_bad_files` when none
            decodes.
        ValueError: naming the first file whose size differs when
            `image_size` is `None`.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("No image files to decode.")
    resize = image_size is not None
    if resize:
        size = tuple(int(s) for s in image_size)
    else:
        size = _first_size(paths, channels, skip_bad_files, split, name)
    table = tf.constant(paths)
    indices = tf.data.Dataset.range(len(paths))
    if skip_bad_files:
        fallback = (tf.zeros((*size, channels), tf.uint8), tf.constant(True))
        ds = flagged(indices, lambda i: _decode(table[i], channels, size, resize), fallback)
    else:
        # The plain map is faster; a file that fails is found and named below.
        ds = indices.map(
            lambda i: (i, _decode(table[i], channels, size, resize), True),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    # One array, filled batch by batch: no second copy of the images.
    images = np.empty((len(paths), *size, channels), np.uint8)
    fits, decoded = np.zeros(len(paths), bool), np.zeros(len(paths), bool)
    done = 0
    try:
        with tqdm(total=len(paths), desc=desc, unit="img", disable=len(paths) < 1000) as bar:
            for _, (batch, batch_fits), ok in ds.batch(128):
                n = int(batch_fits.shape[0])
                images[done : done + n] = batch.numpy()
                fits[done : done + n] = batch_fits.numpy()
                decoded[done : done + n] = ok.numpy()
                done += n
                bar.update(n)
    except DECODE_ERRORS:
        raise_undecodable({split: paths}, name, channels)
        raise  # every file decodes when checked again: TensorFlow's error
    if not fits.all():
        bad = paths[int(np.flatnonzero(~fits)[0])]
        shape = tuple(read_image(bad, channels).shape)
        raise ValueError(
            f"Image {bad!r} has shape {shape}, but {paths[0]!r} has {(*size, channels)}; "
            "pass image_size (--image-size H W) to resize all images."
        )
    if skip_bad_files and not decoded.any():
        raise none_decode(split, paths, name, channels)
    return (images, decoded) if skip_bad_files else images


def folder_tables(root: str, per_class: int | None = None) -> tuple:
    """`(train, test)` `FileTable`s of `ROOT/train/<class>/*` and `ROOT/test/<class>/*`.

    The test split is `None` when `ROOT/test` does not exist.

    Class names are the training folder names in sorted order; a test split
    must have the same class folders.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Dataset folder {root!r} does not exist.")
    train = list_class_files(os.path.join(root, "train"), per_class)
    test = None
    if os.path.isdir(os.path.join(root, "test")):
        test = list_class_files(os.path.join(root, "test"))
        if list(train) != list(test):
            only_train = sorted(set(train) - set(test))
            only_test = sorted(set(test) - set(train))
            raise ValueError(
                f"Train and test class folders of {root!r} differ: only in train {only_train}, "
                f"only in test {only_test}."
            )
    tables = []
    for split, files in (("train", train), ("test", test)):
        if files is None:
            tables.append(None)
            continue
        paths = [p for class_files in files.values() for p in class_files]
        labels = np.concatenate([np.full(len(f), c) for c, f in enumerate(files.values())])
        tables.append(FileTable(paths, labels, tuple(train), os.path.join(root, split)))
    return tuple(tables)


def in_memory_dataset(
    name: str,
    train: FileTable,
    test: FileTable | None = None,
    image_size=None,
    channels: int = 3,
    skip_bad_files: bool = False,
) -> ImageDataset:
    """Decodes the files of `FileTable`s into an `ImageDataset` (uint8, augmentation on).

    With `skip_bad_files`, a training file that does not decode keeps its
    index (with a zero image) and is left out of every pipeline; a test file
    that does not decode is dropped. Both are noted in `bad_files`.
    Normalisation statistics are computed on the training images that decoded.

    Raises:
        UndecodableFilesError: without `skip_bad_files`, naming every file
            of both splits that does not decode; with it, when no file of a
            split decodes.
    """
    bad = BadFiles() if skip_bad_files else None
    try:
        decoded = decode_images(
            train.files, channels, image_size, "decoding train", skip_bad_files, "train", name
        )
    except UndecodableFilesError as error:
        if error.skipping or test is None:
            raise
        # One error for both splits: the test files are checked too.
        rows = error.rows + find_undecodable({"test": test.files}, channels)
        raise UndecodableFilesError(rows, len(train) + len(test), name) from None
    images, valid = decoded if skip_bad_files else (decoded, None)
    if valid is not None:
        for i in np.flatnonzero(~valid):
            bad.note("train", int(i), train.files[i])
        valid = np.flatnonzero(valid) if not valid.all() else None
    size = image_size or images.shape[1:3]
    test_images = test_labels = None
    if test is not None:
        decoded = decode_images(
            test.files, channels, size, "decoding test", skip_bad_files, "test", name
        )
        test_images, ok = decoded if skip_bad_files else (decoded, np.ones(len(test), bool))
        for i in np.flatnonzero(~ok):
            bad.note("test", int(i), test.files[i])
        test_labels = test.labels
        if not ok.all():  # a mask copies, even one that keeps all
            test_images, test_labels = test_images[ok], test_labels[ok]
    mean, std = channel_stats(images, valid)
    return ImageDataset(
        name=name,
        train_images=images,
        train_labels=train.labels,
        test_images=test_images,
        test_labels=test_labels,
        class_names=train.class_names,
        mean=mean,
        std=std,
        augment=True,
        train_files=train.files,
        valid=valid,
        bad_files=bad,
    )


def load_image_folder(
    root: str,
    per_class: int | None = None,
    image_size=None,
    channels: int = 3,
    name: str | None = None,
    skip_bad_files: bool = False,
) -> ImageDataset:
    """Loads `ROOT/train/<class>/*` and, if present, `ROOT/test/<class>/*` into memory.

    Class names are the folder names in sorted order; a test split must have
    the same class folders. Images are decoded once (JPEG, PNG, BMP, GIF) to
    uint8 and kept in memory, which is the cache every epoch reads from.
    Normalisation statistics are computed on the training images.

    Args:
        root: the dataset folder.
        per_class: keep the first `per_class` training images of each class
            (by file name); the test split is always loaded whole.
        image_size: `(H, W)` to resize to; default: the images' own size,
            which must then be the same for all.
        channels: 3 for RGB, 1 for grayscale.
        name: dataset name; default: the folder's name.
        skip_bad_files: leave out files that do not decode (see
            `in_memory_dataset`) instead of raising.

    Returns:
        An `ImageDataset` with uint8 images, augmentation on.

    Example:

    ```python
    data = keras_bmm.data.load_image_folder("web_images/", per_class=500)
    ```
    """
    train, test = folder_tables(root, per_class)
    return in_memory_dataset(
        name or os.path.basename(os.path.normpath(root)),
        train,
        test,
        image_size,
        channels,
        skip_bad_files,
    )


def folder_files(data_dir: str, per_class: int | None = None) -> tuple:
    """`(train, test, title)` of an image folder or archive (the `folder` dataset's loader)."""
    from keras_bmm.data.archive import extracted_folder

    root = extracted_folder(data_dir)
    train, test = folder_tables(root, per_class)
    return train, test, os.path.basename(os.path.normpath(root))
