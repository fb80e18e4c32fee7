"""Input pipelines as plain tf.data functions: indexed for training."""

from __future__ import annotations

import tensorflow as tf


def train_pipeline(images, labels, batch_size: int, seed: int = 0, shuffle: bool = True):
    """Training batches `({"image", "index"}, label)` with each sample's index.

    The index is the sample's position in `images`, which the train step uses
    to record its loss for the beta mixture.

    Args:
        images: array `(N, ...)`.
        labels: int array `(N,)`, the (noisy) labels to train on.
        batch_size: batch size.
        seed: shuffle seed (reshuffled every epoch).
        shuffle: whether to shuffle.

    Returns:
        A `tf.data.Dataset`.
    """
    n = len(labels)
    ds = tf.data.Dataset.from_tensor_slices(
        ({"image": images, "index": tf.range(n, dtype=tf.int32)}, tf.cast(labels, tf.int32))
    )
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def eval_pipeline(images, labels, batch_size: int):
    """Evaluation batches `(image, label)` in order."""
    ds = tf.data.Dataset.from_tensor_slices((images, tf.cast(labels, tf.int32)))
    return ds.cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)
