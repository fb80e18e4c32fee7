"""The paper's beta-mixture EM in plain numpy/scipy: an independent oracle.

Used as the test oracle of `keras_bmm.BetaMixture` and as the baseline of the
`bmm` benchmark. It shares no code with `keras_bmm.mixture`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def em_reference(x, max_iters: int = 10):
    """Fits the two-component beta mixture by the paper's EM.

    Args:
        x: values in [0, 1] (clipped into `[1e-4, 1 - 1e-4]`).
        max_iters: EM iterations.

    Returns:
        `(alphas, betas, weights)` numpy arrays of the two components.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 1e-4, 1 - 1e-4)
    alphas = np.array([1.0, 2.0])
    betas = np.array([2.0, 1.0])
    weights = np.array([0.5, 0.5])
    for _ in range(max_iters):
        r = np.array([weights[k] * stats.beta.pdf(x, alphas[k], betas[k]) for k in range(2)])
        r[r <= 1e-12] = 1e-12
        r /= r.sum(axis=0)
        for k in range(2):
            mean = np.sum(r[k] * x) / np.sum(r[k])
            var = np.sum(r[k] * (x - mean) ** 2) / np.sum(r[k])
            alphas[k] = mean * (mean * (1 - mean) / var - 1)
            betas[k] = alphas[k] * (1 - mean) / mean
        weights = r.sum(axis=1) / r.sum()
    return alphas, betas, weights


def posterior_reference(losses, max_iters: int = 10) -> np.ndarray:
    """p(noisy | loss) for raw losses, as `BMMCallback` computes it, in numpy.

    Normalises with the 5th/95th percentiles, fits `em_reference` on the
    losses within them, and returns the responsibility of the component with
    the larger mean at every (normalised, clipped) loss.
    """
    losses = np.asarray(losses, dtype=np.float64)
    low, high = np.percentile(losses, [5, 95])
    inside = losses[(losses >= low) & (losses <= high)]
    scale = max(high - low, 1e-12)
    alphas, betas, weights = em_reference((inside - low) / scale, max_iters)
    x = np.clip((losses - low) / scale, 1e-4, 1 - 1e-4)
    likelihood = np.array([weights[k] * stats.beta.pdf(x, alphas[k], betas[k]) for k in range(2)])
    noisy = int(np.argmax(alphas / (alphas + betas)))
    return likelihood[noisy] / np.maximum(likelihood.sum(axis=0), 1e-300)
