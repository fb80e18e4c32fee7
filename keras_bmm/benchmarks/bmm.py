"""`bmm` benchmark: mixture fit plus posteriors, keras-bmm against numpy/scipy."""

from __future__ import annotations

import numpy as np

from keras_bmm.benchmarks.common import median_time
from keras_bmm.benchmarks.reference import reference_posterior as posterior_reference
from keras_bmm.mixture import fit_losses, normalize_losses

COLUMNS = ["losses", "keras_bmm_s", "numpy_s", "numpy_over_keras_bmm", "max_abs_diff"]


def synthetic_losses(n: int, seed: int = 0) -> np.ndarray:
    """Cross-entropy-like losses: 60% clean (small), 40% noisy (large)."""
    rng = np.random.default_rng(seed)
    noisy = rng.random(n) < 0.4
    return np.where(noisy, rng.gamma(6.0, 0.6, n), rng.gamma(1.2, 0.25, n))


def keras_bmm_posterior(losses) -> np.ndarray:
    """What `BMMCallback` does each epoch: fit, then p(noisy) for every sample."""
    mixture, bounds = fit_losses(losses)
    return mixture.posterior(normalize_losses(losses, bounds))


def bmm_benchmark(sizes=(50_000, 1_000_000), repeats: int = 5) -> list[dict]:
    """Median time to fit the mixture (10 EM steps) and compute all posteriors.

    Args:
        sizes: numbers of losses.
        repeats: timed repeats (after one untimed call, which traces).

    Returns:
        One row per size: seconds for keras-bmm and for the numpy/scipy EM,
        their ratio, and the largest posterior difference between them (the
        numpy version has no monotone table, so the tails may differ).
    """
    rows = []
    for n in sizes:
        losses = synthetic_losses(n)
        ours = median_time(lambda x=losses: keras_bmm_posterior(x), repeats)
        numpy_time = median_time(lambda x=losses: posterior_reference(x), repeats)
        diff = np.abs(keras_bmm_posterior(losses) - posterior_reference(losses))
        rows.append(
            {
                "losses": n,
                "keras_bmm_s": ours,
                "numpy_s": numpy_time,
                "numpy_over_keras_bmm": numpy_time / ours,
                "max_abs_diff": float(diff.max()),
                "median_abs_diff": float(np.median(diff)),
            }
        )
    return rows
