"""`holdout_split`: a seeded random split of sample indices (no TensorFlow)."""

from __future__ import annotations

import numpy as np


def holdout_split(num_samples: int, fraction: float, seed: int):
    """Random `(train_index, val_index)`, sorted, with `round(fraction * N)` (at least 1) held out.

    Args:
        num_samples: samples to split.
        fraction: the share held out, in (0, 1).
        seed: seed of the split; the same seed gives the same split.

    Returns:
        Two sorted int64 arrays that partition `range(num_samples)`.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}.")
    order = np.random.default_rng(seed).permutation(num_samples)
    n_val = max(1, int(round(fraction * num_samples)))
    if n_val >= num_samples:
        raise ValueError(
            f"Holding out {fraction:g} of {num_samples} samples leaves none to train on."
        )
    return np.sort(order[n_val:]), np.sort(order[:n_val])
