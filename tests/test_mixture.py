import numpy as np
import pytest

from keras_bmm import BetaMixture, loss_bounds, normalize_losses
from keras_bmm.benchmarks.reference import em_reference, remap
from keras_bmm.mixture import TABLE_SIZE, trim_to_bounds


def sample_mixture(n=50_000, seed=0):
    rng = np.random.default_rng(seed)
    noisy = rng.random(n) < 0.3
    x = np.where(noisy, rng.beta(7.0, 3.0, n), rng.beta(2.0, 8.0, n))
    return x, noisy


def test_recovers_known_parameters():
    x, _ = sample_mixture()
    mixture = BetaMixture(max_iters=1000, tol=1e-9).fit(x)
    clean, noisy = mixture.clean_component, mixture.noisy_component
    assert mixture.num_iters < 1000  # converged by the tolerance
    np.testing.assert_allclose(mixture.alphas[clean], 2.0, rtol=0.1)
    np.testing.assert_allclose(mixture.betas[clean], 8.0, rtol=0.1)
    np.testing.assert_allclose(mixture.alphas[noisy], 7.0, rtol=0.1)
    np.testing.assert_allclose(mixture.betas[noisy], 3.0, rtol=0.1)
    np.testing.assert_allclose(mixture.weights[noisy], 0.3, atol=0.03)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_numpy_reference_em(seed):
    x, _ = sample_mixture(20_000, seed)
    x[:5] = [0.0, 1.0, 1e-7, 1 - 1e-7, 0.5]  # exercises the input clipping
    mixture = BetaMixture(max_iters=10).fit(x)
    alphas, betas, weights = em_reference(x, max_iters=10)
    np.testing.assert_allclose(mixture.alphas, alphas, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mixture.betas, betas, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mixture.weights, weights, rtol=1e-4, atol=1e-4)
    assert mixture.num_iters == 10


def test_tolerance_stops_early():
    x, _ = sample_mixture(5_000)
    assert BetaMixture(max_iters=500, tol=1e-3).fit(x).num_iters < 500


def test_posterior_separates_and_is_monotone():
    x, noisy = sample_mixture(20_000)
    mixture = BetaMixture(max_iters=100).fit(x)
    grid = np.linspace(0, 1, 5001)
    p = mixture.posterior(grid)
    assert np.all(np.diff(p) >= 0)
    assert p[0] < 0.01 and p[-1] > 0.99
    assert np.mean((mixture.posterior(x) > 0.5) == noisy) > 0.9


def test_monotone_fix_applies_where_raw_posterior_is_not_monotone():
    # A wide clean component and a narrow noisy one: the raw responsibility
    # of the noisy component falls again past its peak.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.beta(1.2, 1.5, 20_000), rng.beta(40.0, 30.0, 5_000)])
    mixture = BetaMixture(max_iters=50).fit(x)
    grid = np.linspace(0.01, 0.99, 981)
    raw = mixture.component_posterior(grid)
    assert np.any(np.diff(raw) < -1e-3)
    assert np.all(np.diff(mixture.posterior(grid)) >= 0)
    top = int(np.argmax(raw))
    np.testing.assert_allclose(mixture.posterior(grid[: top + 1]), raw[: top + 1], atol=2e-3)


def test_posterior_is_high_mean_component_whatever_the_order():
    x, _ = sample_mixture(10_000)
    default = BetaMixture(max_iters=50).fit(x)
    swapped = BetaMixture(max_iters=50, alphas_init=(2.0, 1.0), betas_init=(1.0, 2.0)).fit(x)
    assert default.noisy_component != swapped.noisy_component
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(default.posterior(grid), swapped.posterior(grid), atol=1e-6)


@pytest.mark.parametrize(
    "values",
    [
        np.full(100, 0.3),
        np.array([0.2, 0.8]),
        np.array([np.nan, np.inf, -np.inf, 0.4]),
        np.full(50, np.nan),
        np.zeros(1000),
        np.ones(1000),
    ],
)
def test_degenerate_inputs_give_finite_posteriors(values):
    mixture = BetaMixture().fit(values)
    assert mixture.degenerate
    p = mixture.posterior(np.array([0.0, 0.5, 1.0, np.nan]))
    assert np.all(np.isfinite(p)) and np.all(p == 0.0)


def test_nan_values_are_dropped_not_fatal():
    x, _ = sample_mixture(5_000)
    dirty = np.concatenate([x, [np.nan] * 20, [np.inf] * 5])
    mixture = BetaMixture().fit(dirty)
    assert mixture.num_dropped == 25 and not mixture.degenerate
    clean = BetaMixture().fit(x)
    np.testing.assert_allclose(mixture.alphas, clean.alphas)
    p = mixture.posterior(np.array([np.nan, 2.0, -1.0]))
    assert np.all(np.isfinite(p)) and p[0] == p[1] == pytest.approx(mixture.posterior(1.0))


def test_empty_component_keeps_parameters_finite():
    # All mass at one point plus a few outliers: one component empties.
    x = np.concatenate([np.full(5_000, 0.2), [0.9, 0.91, 0.92]])
    mixture = BetaMixture(max_iters=30).fit(x)
    assert np.all(np.isfinite(mixture.alphas)) and np.all(np.isfinite(mixture.betas))
    assert np.all(np.isfinite(mixture.posterior(np.linspace(0, 1, 11))))


def test_empty_input_raises():
    with pytest.raises(ValueError, match="empty"):
        BetaMixture().fit([])


def test_bad_settings():
    with pytest.raises(ValueError, match="max_iters"):
        BetaMixture(max_iters=0)
    with pytest.raises(ValueError, match="tol"):
        BetaMixture(tol=-1)


def test_table_size_and_range():
    mixture = BetaMixture().fit(sample_mixture(2_000)[0])
    assert mixture.table.shape == (TABLE_SIZE,)
    assert mixture.table.min() >= 0 and mixture.table.max() <= 1


def test_loss_normalisation_matches_numpy():
    rng = np.random.default_rng(0)
    losses = rng.gamma(2.0, 1.0, 10_000)
    low, high = loss_bounds(losses)
    assert low == pytest.approx(np.percentile(losses, 5))
    assert high == pytest.approx(np.percentile(losses, 95))
    # The reference's remapping (tests/reference.py): only values at or beyond
    # 0 and 1 move; a tiny positive one stays where it is.
    losses[:3] = [low + 1e-9 * (high - low), low, high + 1.0]
    expected = remap((losses - low) / (high - low + 1e-6))
    normalized = normalize_losses(losses, (low, high)).numpy()
    np.testing.assert_allclose(normalized, expected, rtol=1e-12)
    assert 0 < normalized[0] < 1e-6 and normalized[1] == 1e-3 and normalized[2] == 1 - 1e-3
    kept = trim_to_bounds(losses, (low, high))
    assert kept.size == pytest.approx(0.9 * losses.size, abs=2)
    assert kept.min() >= low and kept.max() <= high


def test_loss_normalisation_degenerate():
    assert loss_bounds([np.nan, np.inf]) == (0.0, 1.0)
    out = normalize_losses(np.array([np.nan, np.inf, -np.inf, 3.0, 3.0]), (3.0, 3.0)).numpy()
    assert np.all(np.isfinite(out)) and out[0] == out[1] == 1 - 1e-3 and out[2] == 1e-3
    with pytest.raises(ValueError, match="Percentiles"):
        loss_bounds([1.0], 95, 5)
