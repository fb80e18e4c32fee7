"""Independent numpy/scipy implementations used as test oracles."""

import numpy as np
from scipy import stats


def em_reference(x, max_iters=10):
    """The paper's EM on a two-component beta mixture, in plain numpy/scipy."""
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


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
