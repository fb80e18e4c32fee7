"""The two-component beta mixture over normalised per-sample losses.

Also holds the paper's loss normalisation and the posterior look-up table that
the train step reads, so that the callback, the model and the tests share one
implementation of each.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

logger = logging.getLogger(__name__)

#: Floor of the weighted likelihoods in the E-step, as in the reference code.
LIKELIHOOD_FLOOR = 1e-12
#: Normalised losses are clipped into [NORMALIZED_EPS, 1 - NORMALIZED_EPS].
NORMALIZED_EPS = 1e-3
#: Number of points of the posterior look-up table over [0, 1].
TABLE_SIZE = 1001


# --------------------------------------------------------------------------
# Loss normalisation.


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
    """Min-max scales losses with `bounds` and clips them into (0, 1).

    `(loss - low) / (high - low + 1e-6)`, clipped into `[1e-3, 1 - 1e-3]` as in
    the reference code. A NaN or `+inf` loss maps to the top of the range (it
    is treated as the largest loss), `-inf` to the bottom. Works in graph mode,
    so the train step uses the same function as the callback.

    Args:
        losses: tensor or array of per-sample losses.
        bounds: `(low, high)`, e.g. from `loss_bounds`, or a tensor of shape (2,).

    Returns:
        A float tensor of the same shape and dtype (float32 unless float64 is
        given) with values in `[1e-3, 1 - 1e-3]`.
    """
    losses = tf.convert_to_tensor(losses)
    if not losses.dtype.is_floating:
        losses = tf.cast(losses, tf.float32)
    bounds = tf.cast(tf.convert_to_tensor(bounds, dtype_hint=losses.dtype), losses.dtype)
    low, high = bounds[0], bounds[1]
    scaled = (losses - low) / (tf.maximum(high - low, 0.0) + 1e-6)
    scaled = tf.where(tf.math.is_nan(scaled), tf.ones_like(scaled), scaled)
    return tf.clip_by_value(scaled, NORMALIZED_EPS, 1.0 - NORMALIZED_EPS)


def trim_to_bounds(losses, bounds) -> np.ndarray:
    """The finite losses within `[low, high]`: the values the mixture is fitted on."""
    values = np.asarray(losses, dtype=np.float64).ravel()
    low, high = bounds
    return values[np.isfinite(values) & (values >= low) & (values <= high)]


# --------------------------------------------------------------------------
# Posterior look-up table.


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


def _monotone(raw: np.ndarray, anchor: int) -> np.ndarray:
    """Makes a posterior curve non-decreasing around the clean component's mean.

    Above `anchor` the curve is replaced by its running maximum (as the
    reference code does past the posterior's arg-max: a larger loss is never
    less suspicious); below it by the running minimum taken from `anchor`
    downwards, so that a noisy component with a pole at 0 (alpha < 1) does not
    flag the cleanest samples.
    """
    out = raw.copy()
    out[anchor:] = np.maximum.accumulate(raw[anchor:])
    out[: anchor + 1] = np.minimum.accumulate(raw[: anchor + 1][::-1])[::-1]
    return out


# --------------------------------------------------------------------------
# EM.


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
    `_monotone`), because a mixture of betas can otherwise assign a lower
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
        means = self.alphas / (self.alphas + self.betas)
        return int(np.argmax(means))

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
        return np.clip(_monotone(raw, anchor), 0.0, 1.0)

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
