"""The paper's loss normalisation: percentile bounds and min-max scaling."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Normalised losses at or beyond 0 and 1 become NORMALIZED_EPS and 1 - NORMALIZED_EPS.
NORMALIZED_EPS = 1e-3


def loss_bounds(losses, lower_percentile: float = 5.0, upper_percentile: float = 95.0):
    """The paper's normalisation bounds: two percentiles of the finite losses.

    Args:
        losses: array of per-sample losses.
        lower_percentile: percentile used as the lower bound (default 5).
        upper_percentile: percentile used as the upper bound (default 95).

    Returns:
        `(low, high)` as Python floats. With no finite loss at all, `(0.0, 1.0)`.
    """
    if not 0.0 <= lower_percentile < upper_percentile <= 100.0:
        raise ValueError(
            "Percentiles must satisfy 0 <= lower < upper <= 100, got "
            f"{lower_percentile} and {upper_percentile}."
        )
    values = np.asarray(losses, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, [lower_percentile, upper_percentile])
    return float(low), float(high)


def normalize_losses(losses, bounds) -> tf.Tensor:
    """Min-max scales losses with `bounds` into the open interval (0, 1).

    `x = (loss - low) / (high - low + 1e-6)`; as in the reference code, a
    value `x >= 1` becomes `1 - 1e-3` and `x <= 0` becomes `1e-3`, and values
    in between are kept. (The reference also adds 1e-5 to `low` before
    scaling; this does not, a shift of `x` by `1e-5 / (high - low)`.) A NaN
    or `+inf` loss maps to the top of the range (it is treated as the
    largest loss), `-inf` to the bottom. Works in graph mode, so the train
    step uses the same function as the callback.

    Args:
        losses: tensor or array of per-sample losses.
        bounds: `(low, high)`, e.g. from `loss_bounds`, or a tensor of shape (2,).

    Returns:
        A float tensor of the same shape and dtype (float32 unless float64 is
        given) with values in (0, 1).
    """
    losses = tf.convert_to_tensor(losses)
    if not losses.dtype.is_floating:
        losses = tf.cast(losses, tf.float32)
    bounds = tf.cast(tf.convert_to_tensor(bounds, dtype_hint=losses.dtype), losses.dtype)
    low, high = bounds[0], bounds[1]
    scaled = (losses - low) / (tf.maximum(high - low, 0.0) + 1e-6)
    scaled = tf.where(tf.math.is_nan(scaled), tf.ones_like(scaled), scaled)
    scaled = tf.where(scaled >= 1.0, tf.constant(1.0 - NORMALIZED_EPS, scaled.dtype), scaled)
    return tf.where(scaled <= 0.0, tf.constant(NORMALIZED_EPS, scaled.dtype), scaled)


def trim_to_bounds(losses, bounds) -> np.ndarray:
    """The finite losses within `[low, high]`: the values the mixture is fitted on."""
    values = np.asarray(losses, dtype=np.float64).ravel()
    low, high = bounds
    return values[np.isfinite(values) & (values >= low) & (values <= high)]
