"""`holdout_split`: a seeded random split of sample indices (no TensorFlow)."""

from __future__ import annotations

import numpy as np

#: Mixed into a run's seed to seed its held-out split (`held_out_seed`).
_HELD_OUT_STREAM = 0x68656C64  # "held"


def held_out_seed(seed: int) -> int:
    """The seed of the held-out split of a run seeded `seed`: a stream apart from its noise's.

    Noise drawn with `seed` (symmetric noise resamples the first samples of
    `default_rng(seed).permutation(N)`) and a split drawn with the same seed
    would hold out exactly the samples the noise changed first: with 50%
    symmetric noise and a 20% split, every held-out label would be resampled.
    This seed gives the split its own stream.

    Args:
        seed: the run's seed.

    Returns:
        A 32-bit seed for `holdout_split`.

    Example:

    >>> train_index, val_index = holdout_split(1000, 0.1, held_out_seed(0))
    """
    return int(np.random.SeedSequence([int(seed), _HELD_OUT_STREAM]).generate_state(1)[0])


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
