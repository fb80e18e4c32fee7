"""Image files to pixels: decoding, and finding the files that do not decode."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_bmm.data.augment import resize_image

#: Errors a file that cannot be read or decoded raises inside a tf.data pipeline.
DECODE_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError)


def read_image(path, channels: int = 3):
    """The decoded image file (JPEG, PNG, GIF's first frame, BMP) as uint8 `(h, w, channels)`.

    Grayscale is replicated and alpha dropped for `channels=3`.
    """
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def decode_resized(path, size, channels: int = 3):
    """The image file resized to `size = (H, W)`, uint8 `(H, W, channels)`."""
    return tf.ensure_shape(resize_image(read_image(path, channels), size), (*size, channels))


def decode_error(path: str) -> str | None:
    """TensorFlow's message for a file that does not decode, or `None` if it decodes."""
    try:
        read_image(tf.constant(path))
    except DECODE_ERRORS as error:
        return error.message.splitlines()[0]
    return None


def flagged(indices: tf.data.Dataset, load, fallback) -> tf.data.Dataset:
    """`(index, value, ok)` for each index, in order; `ok` is False where `load` failed.

    A failed load gives `fallback` (a tensor, or a structure like `load`'s
    result). Loads run in parallel.
    """

    def attempt(index):
        good = tf.data.Dataset.from_tensors(index).map(lambda i: (i, load(i), True))
        good = good.ignore_errors()
        return good.concatenate(tf.data.Dataset.from_tensors((index, fallback, False))).take(1)

    return indices.interleave(
        attempt, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True, cycle_length=8
    )


def decodes(paths, chunk: int = 4096) -> np.ndarray:
    """Bool array: whether each file decodes (checked in parallel)."""
    paths = tf.constant(list(paths))
    ds = flagged(
        tf.data.Dataset.range(int(paths.shape[0])),
        lambda i: tf.shape(read_image(tf.gather(paths, i))),
        tf.zeros([3], tf.int32),
    )
    return np.concatenate([ok.numpy() for _, _, ok in ds.batch(chunk)] or [np.zeros(0, bool)])


def first_bad_file(paths, chunk: int = 256):
    """`(position, message)` of the first file of `paths` that does not decode, or `None`.

    Files are checked in order, `chunk` at a time in parallel, and the scan
    stops at the first chunk with a bad file.
    """
    paths = list(paths)
    for start in range(0, len(paths), chunk):
        ok = decodes(paths[start : start + chunk])
        if not ok.all():
            position = start + int(np.flatnonzero(~ok)[0])
            return position, decode_error(paths[position]) or "cannot be read"
    return None
