"""Checks inside the train step that stop training at the first bad sample, by name.

A label outside the classes, a non-finite pixel, or a non-finite loss stops
the step before the weights are updated, with a message that names the
sample (its `"index"` in the training set, or its position in the batch when
the inputs carry no index) and says whether the input or the training is at
fault. `raising_clear_errors` turns TensorFlow's graph error into a
`ValueError` with that message alone.
"""

from __future__ import annotations

import functools
import re

import tensorflow as tf

#: Starts every message of these checks, so that `raising_clear_errors` finds them.
MARKER = "keras-bmm:"


def _who(position, index) -> list:
    """The assertion data that names the sample at `position` of the batch."""
    if index is None:
        return ["at batch position", position, "(feed an index to name the sample)"]
    return ["of sample", _at(index, position)]


def _first(bad):
    """The position of the first True of `bad`; 0 when none is, or the batch is empty."""
    padded = tf.concat([tf.cast(bad, tf.int32), tf.zeros([1], tf.int32)], axis=0)
    return tf.argmax(padded, output_type=tf.int32)


def _at(values, position):
    """`values[position]`, or 0 for an empty batch (a replica's share may be empty)."""
    flat = tf.reshape(values, [-1])
    return tf.gather(tf.concat([flat, tf.zeros([1], flat.dtype)], axis=0), position)


def check_labels(labels, num_classes, index=None):
    """Asserts every label is a class index in `[0, num_classes)`."""
    num_classes = tf.cast(num_classes, labels.dtype)
    bad = (labels < 0) | (labels >= num_classes)
    position = _first(bad)
    return tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [
            f"{MARKER} label",
            _at(labels, position),
            *_who(position, index),
            "is not a class index from 0 to",
            num_classes - 1,
            "(the model's outputs)",
        ],
    )


def check_images(images, index=None):
    """Asserts every input image is finite (a NaN pixel is bad input, not divergence)."""
    pixels = tf.range(1, tf.rank(images))  # every axis but the batch's (empty or not)
    bad = tf.logical_not(tf.reduce_all(tf.math.is_finite(images), axis=pixels))
    position = _first(bad)
    return tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [f"{MARKER} the input image", *_who(position, index), "has NaN or infinite pixels"],
    )


def check_inputs(images, labels, num_classes, index=None) -> list:
    """The checks of a batch's input: finite images, labels in `[0, num_classes)`."""
    return [check_images(images, index), check_labels(labels, num_classes, index)]


def check_losses(losses, index=None):
    """Asserts every per-sample loss is finite (inputs already checked: divergence)."""
    bad = tf.logical_not(tf.math.is_finite(losses))
    position = _first(bad)
    return tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [
            f"{MARKER} the loss",
            *_who(position, index),
            "is NaN or infinite although its input is finite: training diverged; "
            "lower the learning rate",
        ],
    )


def clear_message(error: Exception) -> str | None:
    """The message of one of these checks in a TensorFlow error, or None."""
    text = getattr(error, "message", str(error))
    for line in text.splitlines():
        if MARKER in line:
            parts = re.findall(r"\[([^\[\]]*)\]", line.split("assertion failed:", 1)[-1])
            return " ".join(p.strip() for p in parts) + "." if parts else line.strip()
    return None


def raising_clear_errors(method):
    """Decorates `fit`/`evaluate`: a failed check raises `ValueError(message)`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            message = clear_message(error)
            if message is None:
                raise
            raise ValueError(message) from None

    return wrapper
