"""Property-based tests (hypothesis): the mixture and the normalisation never
produce a NaN or an out-of-range posterior, whatever losses they are given."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keras_bmm import BetaMixture, loss_bounds, normalize_losses
from keras_bmm.mixture.posterior_table import TABLE_SIZE

#: Floats of every magnitude, with NaN and +-inf mixed in.
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
loss_arrays = st.one_of(
    arrays(np.float64, st.integers(1, 300), elements=any_float),
    # Constant arrays, including huge and tiny constants.
    st.builds(
        lambda n, v: np.full(n, v),
        st.integers(1, 300),
        st.sampled_from([0.0, 1e-300, 1e-8, 0.5, 1.0, 7.0, 1e8, 1e300, -3.0]),
    ),
    # Realistic losses with a few bad values.
    st.builds(
        lambda n, seed, bad: np.concatenate(
            [np.random.default_rng(seed).gamma(1.0, 1.0, n), np.array(bad)]
        ),
        st.integers(1, 400),
        st.integers(0, 10_000),
        st.lists(st.sampled_from([np.nan, np.inf, -np.inf, 1e30]), max_size=5),
    ),
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(loss_arrays)
def test_normalisation_is_finite_and_in_unit_interval(losses):
    bounds = loss_bounds(losses)
    assert np.all(np.isfinite(bounds))
    normalized = normalize_losses(losses, bounds).numpy()
    assert normalized.shape == losses.shape
    assert np.all(np.isfinite(normalized))
    assert np.all((normalized > 0) & (normalized < 1))


@SETTINGS
@given(loss_arrays)
def test_mixture_posterior_is_finite_and_a_probability(losses):
    normalized = normalize_losses(losses, loss_bounds(losses)).numpy()
    for values in (normalized, losses):  # normalised, and raw (clipped inside)
        mixture = BetaMixture().fit(values)
        for x in (values, np.linspace(0, 1, 17), np.array([np.nan, -1.0, 2.0])):
            posterior = mixture.posterior(x)
            assert np.all(np.isfinite(posterior))
            assert np.all((posterior >= 0) & (posterior <= 1))
        assert np.all(np.isfinite(mixture.table))


#: Agreement of TFP's and scipy's float64 beta densities, through the responsibilities.
TOLERANCE = 1e-6


def noisy_responsibility(mixture, grid):
    """scipy: the weighted posterior of the component with the larger mean."""
    x = np.clip(grid, mixture.EPS, 1 - mixture.EPS)
    a, b, w = mixture.alphas[:, None], mixture.betas[:, None], mixture.weights[:, None]
    log_wl = np.log(w) + scipy.stats.beta.logpdf(x[None, :], a, b)
    posterior = np.exp(log_wl - scipy.special.logsumexp(log_wl, axis=0))
    return posterior[np.argmax(mixture.alphas / (mixture.alphas + mixture.betas))]


@SETTINGS
@given(loss_arrays)
def test_posterior_is_the_noisy_responsibility_where_already_monotone(losses):
    """Against scipy: the table never leaves the band between the responsibility's
    running minimum from the right and its running maximum from the left, and so
    equals it wherever the responsibility is already non-decreasing (the band is a
    point there); `posterior` reads the table at its grid points."""
    normalized = normalize_losses(losses, loss_bounds(losses)).numpy()
    grid = np.linspace(0.0, 1.0, TABLE_SIZE)
    for values in (normalized, losses):  # normalised, and raw (clipped inside)
        mixture = BetaMixture().fit(values)
        if mixture.degenerate:
            assert np.all(mixture.posterior(grid) == 0.0)
            continue
        raw = noisy_responsibility(mixture, grid)
        upper = np.maximum.accumulate(raw)
        lower = np.minimum.accumulate(raw[::-1])[::-1]
        table = mixture.table
        assert np.all(np.diff(table) >= -1e-12)  # a larger loss is never less suspicious
        assert np.all(table <= upper + TOLERANCE) and np.all(table >= lower - TOLERANCE)
        monotone_there = upper - lower <= TOLERANCE
        np.testing.assert_allclose(table[monotone_there], raw[monotone_there], atol=TOLERANCE)
        np.testing.assert_allclose(mixture.posterior(grid), table, atol=1e-12)


def test_empty_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one value"):
        BetaMixture().fit(np.array([]))
