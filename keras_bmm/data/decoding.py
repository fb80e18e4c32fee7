"""Image files to pixels: decoding, and finding the files that do not decode."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_bmm.data.augment import resize_image

#: Errors a file that cannot be read or decoded raises inside a tf.data pipeline.
DECODE_ERRORS = (
    tf.errors.InvalidArgumentError,
    tf.errors.NotFoundError,
    tf.errors.DataLossError,
    tf.errors.PermissionDeniedError,
    tf.errors.FailedPreconditionError,  # e.g. a folder named like an image
)


def read_image(path, channels: int = 3):
    """The decoded image file (JPEG, PNG, GIF's first frame, BMP) as uint8 `(h, w, channels)`.

    Grayscale is replicated and alpha dropped for `channels=3`.
    """
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def decode_resized(path, size, channels: int = 3):
    """The image file resized to `size = (H, W)`, uint8 `(H, W, channels)`."""
    return tf.ensure_shape(resize_image(read_image(path, channels), size), (*size, channels))


def decode_error(path: str, channels: int = 3) -> str | None:
    """TensorFlow's message for a file that does not decode, or `None` if it decodes.

    `keras_bmm.data.undecodable.plain_reason` says it in plain words.
    """
    try:
        read_image(tf.constant(path), channels)
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


def decodes(paths, chunk: int = 4096, channels: int = 3, progress=None) -> np.ndarray:
    """Bool array: whether each file decodes (checked in parallel).

    Args:
        paths: the files.
        chunk: files per batch of results.
        channels: channels decoded to (3 or 1).
        progress: called with the number of files checked, batch by batch
            (e.g. a `tqdm` bar's `update`).
    """
    paths = tf.constant(list(paths))
    ds = flagged(
        tf.data.Dataset.range(int(paths.shape[0])),
        lambda i: tf.shape(read_image(tf.gather(paths, i), channels)),
        tf.zeros([3], tf.int32),
    )
    found = []
    for _, _, ok in ds.batch(chunk):
        found.append(ok.numpy())
        if progress is not None:
            progress(len(found[-1]))
    return np.concatenate(found or [np.zeros(0, bool)])
