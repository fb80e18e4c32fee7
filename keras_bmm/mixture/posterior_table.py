"""The posterior look-up table that the train step reads p(noisy | loss) from."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Number of points of the posterior look-up table over [0, 1].
TABLE_SIZE = 1001


def table_lookup(table, x) -> tf.Tensor:
    """Linear interpolation in a table sampled uniformly on [0, 1].

    Interpolating a non-decreasing table gives a non-decreasing function, so
    the posterior read by the train step keeps the table's monotonicity.

    Args:
        table: 1-D tensor of `G >= 2` values at `x = i / (G - 1)`.
        x: tensor of points; NaN reads as 1, values outside [0, 1] are clipped.

    Returns:
        A tensor shaped like `x`, in the dtype of `table`.
    """
    table = tf.convert_to_tensor(table)
    x = tf.cast(tf.convert_to_tensor(x), table.dtype)
    x = tf.where(tf.math.is_nan(x), tf.ones_like(x), x)
    x = tf.clip_by_value(x, 0.0, 1.0)
    last = tf.shape(table)[0] - 1
    position = x * tf.cast(last, table.dtype)
    left = tf.minimum(tf.cast(tf.floor(position), tf.int32), last - 1)
    fraction = position - tf.cast(left, table.dtype)
    return tf.gather(table, left) * (1.0 - fraction) + tf.gather(table, left + 1) * fraction


def monotone(raw: np.ndarray, anchor: int) -> np.ndarray:
    """Makes a posterior curve non-decreasing around the clean component's mean.

    Above `anchor` the curve is replaced by its running maximum (as the
    reference code does past the posterior's arg-max: a larger loss is never
    less suspicious); below it by the running minimum taken from `anchor`
    downwards, so that a noisy component with a pole at 0 (alpha < 1) does not
    flag the cleanest samples.

    Args:
        raw: the posterior sampled on a uniform grid.
        anchor: grid index of the clean component's mean.

    Returns:
        The non-decreasing curve, same shape.
    """
    out = raw.copy()
    out[anchor:] = np.maximum.accumulate(raw[anchor:])
    out[: anchor + 1] = np.minimum.accumulate(raw[: anchor + 1][::-1])[::-1]
    return out
