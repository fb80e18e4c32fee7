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


def remap(x):
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
    kept = remap((kept - min_loss) / (max_loss - min_loss + 1e-6))
    mixture = BetaMixture1D(max_iters=10).fit(kept)
    mixture.create_lookup(1)
    return mixture, max_loss, min_loss


def compute_probabilities_batch(losses, mixture, max_loss, min_loss):
    """B of `compute_probabilities_batch` for raw per-sample losses."""
    normalized = remap((np.asarray(losses, np.float64) - min_loss) / (max_loss - min_loss + 1e-6))
    return mixture.look_lookup(normalized)


def reference_posterior(losses):
    """The reference's pipeline end to end: fit on all losses, then B for each."""
    mixture, max_loss, min_loss = track_training_loss(losses)
    return compute_probabilities_batch(losses, mixture, max_loss, min_loss)


def nll_loss(log_probs, targets, reduction="mean"):
    """torch's `F.nll_loss` on log-probabilities."""
    losses = -log_probs[np.arange(len(targets)), targets]
    return losses.mean() if reduction == "mean" else losses


def reg_loss_class(mean_tab, num_classes=10):
    """The reference's class-balance regulariser (`reg_loss_class`)."""
    return sum((1.0 / num_classes) * np.log((1.0 / num_classes) / item) for item in mean_tab)


def mixup_data_beta_inputs(x, B, index):
    """The inputs of `mixup_data_beta` (dynamic mixup) for a given permutation."""
    lam = (1 - B) + (1 - B[index])
    shape = (-1,) + (1,) * (x.ndim - 1)
    return ((1 - B) / lam).reshape(shape) * x + ((1 - B[index]) / lam).reshape(shape) * x[index]


def mixup_criterion_beta(pred, y_a, y_b, lam):
    """`mixup_criterion_beta`, with its `lam ~ Beta(32, 32)` passed in."""
    return lam * nll_loss(pred, y_a) + (1 - lam) * nll_loss(pred, y_b)


def mixup_criterion_soft_hard(pred, y_a, y_b, B, index, output_x1, output_x2, temp):
    """`mixup_criterion_SoftHard` (MD-DYR-SH's soft-to-hard phase)."""
    soft1 = softmax(output_x1 / temp)
    soft2 = softmax(output_x2 / temp)
    first = (1 - B) * nll_loss(pred, y_a, "none") + B * (-np.sum(soft1 * pred, axis=1))
    second = (1 - B[index]) * nll_loss(pred, y_b, "none") + B[index] * (
        -np.sum(soft2 * pred, axis=1)
    )
    return np.sum(0.5 * first + 0.5 * second) / len(pred)
