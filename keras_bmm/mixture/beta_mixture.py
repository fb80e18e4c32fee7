"""`BetaMixture`: the two-component beta mixture over normalised losses, fitted by EM."""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_bmm.mixture.normalization import loss_bounds, normalize_losses, trim_to_bounds
from keras_bmm.mixture.posterior_table import TABLE_SIZE, monotone, table_lookup

logger = logging.getLogger(__name__)

#: Floor of the weighted likelihoods in the E-step, as in the reference code.
LIKELIHOOD_FLOOR = 1e-12


def _responsibilities(x, alphas, betas, weights, floor=True):
    """Posterior of each component at `x`, shape (2, N).

    With `floor`, each weighted likelihood `w_k * Beta(x; a_k, b_k)` is first
    raised to at least 1e-12, as in the reference code's E-step.
    """
    log_prob = tfp.distributions.Beta(alphas[:, None], betas[:, None]).log_prob(x[None, :])
    log_wl = tf.math.log(weights)[:, None] + log_prob
    if floor:
        log_wl = tf.maximum(log_wl, math.log(LIKELIHOOD_FLOOR))
    return tf.exp(log_wl - tf.reduce_logsumexp(log_wl, axis=0, keepdims=True))


@tf.function(reduce_retracing=True)
def _em(x, alphas, betas, weights, max_iters, tol):
    """Runs EM with weighted method-of-moments M-steps; returns params and steps."""
    dtype = x.dtype

    def body(i, alphas, betas, weights, delta):
        r = _responsibilities(x, alphas, betas, weights)
        mass = tf.reduce_sum(r, axis=1)
        mean = tf.reduce_sum(r * x[None, :], axis=1) / mass
        var = tf.reduce_sum(r * tf.square(x[None, :] - mean[:, None]), axis=1) / mass
        common = mean * (1.0 - mean) / var - 1.0
        new_alphas = mean * common
        new_betas = new_alphas * (1.0 - mean) / mean
        # An empty or collapsed component keeps its previous parameters.
        ok = (
            (mass > 1e-8)
            & (var > 1e-12)
            & tf.math.is_finite(new_alphas)
            & tf.math.is_finite(new_betas)
            & (new_alphas > 0.0)
            & (new_betas > 0.0)
        )
        new_alphas = tf.where(ok, new_alphas, alphas)
        new_betas = tf.where(ok, new_betas, betas)
        new_weights = mass / tf.reduce_sum(mass)
        new_weights = tf.clip_by_value(new_weights, 1e-12, 1.0)
        new_weights = new_weights / tf.reduce_sum(new_weights)
        delta = tf.reduce_max(
            tf.abs(tf.concat([new_alphas - alphas, new_betas - betas, new_weights - weights], 0))
        )
        return i + 1, new_alphas, new_betas, new_weights, delta

    def cond(i, alphas, betas, weights, delta):
        return (i < max_iters) & (delta > tol)

    start = (tf.constant(0), alphas, betas, weights, tf.constant(np.inf, dtype))
    steps, alphas, betas, weights, _ = tf.while_loop(cond, body, start)
    return alphas, betas, weights, steps


class BetaMixture:
    """Two-component beta mixture fitted by EM to losses normalised to [0, 1].

    One component models the clean samples (low loss), the other the
    mislabelled ones (high loss). The densities are
    `tfp.distributions.Beta`; TFP has no EM for them, so the fit is the paper's
    EM: responsibilities in the E-step, a weighted method-of-moments estimate
    of each component's `alpha, beta` in the M-step, starting from
    `alpha = (1, 2)`, `beta = (2, 1)`, weights `(1/2, 1/2)`, with inputs
    clipped into `[1e-4, 1 - 1e-4]`.

    `posterior(x)` is p(noisy | x): the responsibility of the component with
    the larger mean, whatever order the components ended in. It is read from
    a table of `TABLE_SIZE` points made non-decreasing in the loss (see
    `posterior_table.monotone`), because a mixture of betas can otherwise assign a lower
    noise probability to a larger loss in the tails.

    Degenerate input never yields NaN posteriors:

    - NaN and infinite values are dropped before fitting (their number is in
      `num_dropped`); a NaN passed to `posterior` reads as the largest loss.
    - With fewer than `min_samples` finite values, or values with no spread
      (all equal after clipping), no mixture can be identified: the model is
      marked `degenerate` and `posterior` returns 0 everywhere, i.e. every
      sample is treated as clean, so that bootstrapping falls back to the
      given labels (plain mixup) instead of inventing noise it cannot see.
    - A component that empties during EM, or whose variance collapses, keeps
      its previous parameters; mixture weights are kept above 1e-12.

    Args:
        max_iters: maximum number of EM iterations (the paper uses 10).
        tol: optional tolerance; EM stops early once no parameter moves by
            more than `tol` in an iteration. `None` runs all `max_iters`.
        alphas_init: initial `alpha` of the two components.
        betas_init: initial `beta` of the two components.
        weights_init: initial mixture weights.
        min_samples: fewest finite values for a fit (default 10).

    Example:

    >>> mixture = keras_bmm.BetaMixture().fit(normalised_losses)
    >>> p_noisy = mixture.posterior(normalised_losses)

    Reference:
        Arazo, Ortego, Albert, O'Connor, McGuinness. "Unsupervised Label Noise
        Modeling and Loss Correction", ICML 2019, Section 3.
    """

    EPS = 1e-4

    def __init__(
        self,
        max_iters: int = 10,
        tol: float | None = None,
        alphas_init=(1.0, 2.0),
        betas_init=(2.0, 1.0),
        weights_init=(0.5, 0.5),
        min_samples: int = 10,
    ):
        if int(max_iters) < 1:
            raise ValueError(f"max_iters must be >= 1, got {max_iters}.")
        if tol is not None and not tol >= 0:
            raise ValueError(f"tol must be None or >= 0, got {tol}.")
        self.max_iters = int(max_iters)
        self.tol = tol
        self.alphas_init = tuple(float(a) for a in alphas_init)
        self.betas_init = tuple(float(b) for b in betas_init)
        self.weights_init = tuple(float(w) for w in weights_init)
        self.min_samples = int(min_samples)
        self._reset()

    def _reset(self):
        self.alphas = np.array(self.alphas_init, dtype=np.float64)
        self.betas = np.array(self.betas_init, dtype=np.float64)
        self.weights = np.array(self.weights_init, dtype=np.float64)
        self.degenerate = False
        self.fitted = False
        self.num_iters = 0
        self.num_dropped = 0
        self.table = np.zeros(TABLE_SIZE, dtype=np.float64)

    def fit(self, x) -> BetaMixture:
        """Fits the mixture by EM to values in [0, 1].

        Args:
            x: array-like of values in [0, 1] (normalised losses).

        Returns:
            `self`, fitted.

        Raises:
            ValueError: if `x` is empty.
        """
        values = np.asarray(x, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError("BetaMixture.fit needs at least one value, got an empty array.")
        self._reset()
        finite = np.isfinite(values)
        self.num_dropped = int(values.size - finite.sum())
        values = np.clip(values[finite], self.EPS, 1.0 - self.EPS)
        self.fitted = True
        if values.size < self.min_samples or np.ptp(values) < 1e-6:
            self.degenerate = True
            logger.warning(
                "BetaMixture: %d usable value(s) with spread %.3g; cannot identify two "
                "components, treating every sample as clean (posterior 0).",
                values.size,
                float(np.ptp(values)) if values.size else 0.0,
            )
            return self
        alphas, betas, weights, steps = _em(
            tf.constant(values),
            tf.constant(self.alphas),
            tf.constant(self.betas),
            tf.constant(self.weights),
            tf.constant(self.max_iters),
            tf.constant(-1.0 if self.tol is None else float(self.tol), tf.float64),
        )
        self.alphas, self.betas, self.weights = alphas.numpy(), betas.numpy(), weights.numpy()
        self.num_iters = int(steps)
        self.table = self._posterior_table()
        return self

    @property
    def noisy_component(self) -> int:
        """Index of the component with the larger mean (the noisy one)."""
        return noisy_component(self.alphas, self.betas)

    @property
    def clean_component(self) -> int:
        """Index of the component with the smaller mean (the clean one)."""
        return 1 - self.noisy_component

    def component_posterior(self, x) -> np.ndarray:
        """Raw responsibility of the noisy component at `x`, without the monotone fix."""
        values = np.clip(np.asarray(x, dtype=np.float64), self.EPS, 1.0 - self.EPS)
        r = _responsibilities(
            tf.constant(values.ravel()),
            tf.constant(self.alphas),
            tf.constant(self.betas),
            tf.constant(self.weights),
            floor=False,
        )
        return r[self.noisy_component].numpy().reshape(values.shape)

    def _posterior_table(self) -> np.ndarray:
        grid = np.linspace(0.0, 1.0, TABLE_SIZE)
        raw = self.component_posterior(grid)
        clean = self.clean_component
        clean_mean = self.alphas[clean] / (self.alphas[clean] + self.betas[clean])
        anchor = int(round(clean_mean * (TABLE_SIZE - 1)))
        return np.clip(monotone(raw, anchor), 0.0, 1.0)

    def posterior(self, x) -> np.ndarray:
        """p(noisy | x) for normalised losses `x`, non-decreasing in `x`.

        Args:
            x: array-like of normalised losses (values outside [0, 1] are
                clipped; NaN reads as 1).

        Returns:
            A float64 array shaped like `x` with values in [0, 1].
        """
        values = np.asarray(x, dtype=np.float64)
        return table_lookup(tf.constant(self.table), tf.constant(values)).numpy()

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            "max_iters": self.max_iters,
            "tol": self.tol,
            "alphas_init": self.alphas_init,
            "betas_init": self.betas_init,
            "weights_init": self.weights_init,
            "min_samples": self.min_samples,
        }

    def __repr__(self) -> str:
        return (
            f"BetaMixture(alphas={np.round(self.alphas, 4).tolist()}, "
            f"betas={np.round(self.betas, 4).tolist()}, "
            f"weights={np.round(self.weights, 4).tolist()}, degenerate={self.degenerate})"
        )


def noisy_component(alphas, betas) -> int:
    """Index of the Beta component with the larger mean, `alpha / (alpha + beta)`."""
    alphas, betas = np.asarray(alphas, np.float64), np.asarray(betas, np.float64)
    return int(np.argmax(alphas / (alphas + betas)))


def fit_losses(
    losses,
    max_iters: int = 10,
    tol: float | None = None,
    lower_percentile: float = 5.0,
    upper_percentile: float = 95.0,
):
    """Fits the paper's mixture to raw per-sample losses, as `BMMCallback` does.

    The losses between the two percentiles are min-max scaled with them and
    fitted by EM.

    Args:
        losses: finite per-sample losses.
        max_iters: EM iterations.
        tol: optional EM tolerance.
        lower_percentile: lower normalisation percentile.
        upper_percentile: upper normalisation percentile.

    Returns:
        `(mixture, bounds)`: the fitted `BetaMixture` and `(low, high)`; the
        posterior of raw losses is `mixture.posterior(normalize_losses(losses, bounds))`.
    """
    bounds = loss_bounds(losses, lower_percentile, upper_percentile)
    values = normalize_losses(trim_to_bounds(losses, bounds), bounds).numpy()
    return BetaMixture(max_iters=max_iters, tol=tol).fit(values), bounds
