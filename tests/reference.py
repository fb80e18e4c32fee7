"""Independent numpy/scipy oracles, transcribed from the paper's reference code.

`PaulAlbert31/LabelNoiseCorrection`, `utils.py`: `BetaMixture1D`,
`fit_beta_weighted`, the normalisation of `track_training_loss` and
`compute_probabilities_batch`, `create_lookup` and `look_lookup`, written
here as they are there (numpy instead of torch). Nothing is imported from
keras_bmm.
"""

import numpy as np
from scipy import stats


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def weighted_mean(x, w):
    return np.sum(w * x) / np.sum(w)


def fit_beta_weighted(x, w):
    x_bar = weighted_mean(x, w)
    s2 = weighted_mean((x - x_bar) ** 2, w)
    alpha = x_bar * ((x_bar * (1 - x_bar)) / s2 - 1)
    beta = alpha * (1 - x_bar) / x_bar
    return alpha, beta


class BetaMixture1D:
    """The reference's `BetaMixture1D`, line by line."""

    def __init__(
        self, max_iters=10, alphas_init=(1, 2), betas_init=(2, 1), weights_init=(0.5, 0.5)
    ):
        self.alphas = np.array(alphas_init, dtype=np.float64)
        self.betas = np.array(betas_init, dtype=np.float64)
        self.weight = np.array(weights_init, dtype=np.float64)
        self.max_iters = max_iters
        self.lookup = np.zeros(100, dtype=np.float64)
        self.lookup_resolution = 100
        self.eps_nan = 1e-12

    def likelihood(self, x, y):
        return stats.beta.pdf(x, self.alphas[y], self.betas[y])

    def weighted_likelihood(self, x, y):
        return self.weight[y] * self.likelihood(x, y)

    def probability(self, x):
        return sum(self.weighted_likelihood(x, y) for y in range(2))

    def posterior(self, x, y):
        return self.weighted_likelihood(x, y) / (self.probability(x) + self.eps_nan)

    def responsibilities(self, x):
        r = np.array([self.weighted_likelihood(x, i) for i in range(2)])
        r[r <= self.eps_nan] = self.eps_nan
        r /= r.sum(axis=0)
        return r

    def fit(self, x):
        x = np.copy(x)
        eps = 1e-4
        x[x >= 1 - eps] = 1 - eps
        x[x <= eps] = eps
        for _ in range(self.max_iters):
            r = self.responsibilities(x)
            self.alphas[0], self.betas[0] = fit_beta_weighted(x, r[0])
            self.alphas[1], self.betas[1] = fit_beta_weighted(x, r[1])
            self.weight = r.sum(axis=1)
            self.weight /= self.weight.sum()
        return self

    def create_lookup(self, y):
        x_l = np.linspace(0 + self.eps_nan, 1 - self.eps_nan, self.lookup_resolution)
        lookup_t = self.posterior(x_l, y)
        lookup_t[np.argmax(lookup_t) :] = lookup_t.max()
        self.lookup = lookup_t

    def look_lookup(self, x):
        x_i = np.array((self.lookup_resolution * np.asarray(x)).astype(int))
        x_i[x_i < 0] = 0
        x_i[x_i == self.lookup_resolution] = self.lookup_resolution - 1
        return self.lookup[x_i]


def em_reference(x, max_iters: int = 10):
    """`(alphas, betas, weights)` of the reference's EM on values in [0, 1]."""
    mixture = BetaMixture1D(max_iters=max_iters).fit(np.asarray(x, dtype=np.float64))
    return mixture.alphas, mixture.betas, mixture.weight


def _remap(x):
    """The reference's out-of-range remapping (`10e-4` is 1e-3)."""
    x = np.array(x, dtype=np.float64)
    x[x >= 1] = 1 - 10e-4
    x[x <= 0] = 10e-4
    return x


def track_training_loss(losses):
    """The mixture fit of `track_training_loss`: `(mixture, max_loss, min_loss)`."""
    losses = np.asarray(losses, dtype=np.float64)
    max_perc = np.percentile(losses, 95)
    min_perc = np.percentile(losses, 5)
    kept = losses[(losses <= max_perc) & (losses >= min_perc)]
    max_loss = np.float32(max_perc)
    min_loss = np.float32(min_perc) + 10e-6
    kept = _remap((kept - min_loss) / (max_loss - min_loss + 1e-6))
    mixture = BetaMixture1D(max_iters=10).fit(kept)
    mixture.create_lookup(1)
    return mixture, max_loss, min_loss


def compute_probabilities_batch(losses, mixture, max_loss, min_loss):
    """B of `compute_probabilities_batch` for raw per-sample losses."""
    normalized = _remap((np.asarray(losses, np.float64) - min_loss) / (max_loss - min_loss + 1e-6))
    return mixture.look_lookup(normalized)


def reference_posterior(losses):
    """The reference's pipeline end to end: fit on all losses, then B for each."""
    mixture, max_loss, min_loss = track_training_loss(losses)
    return compute_probabilities_batch(losses, mixture, max_loss, min_loss)
