"""The label-flip matrix fitted by EM, against simulated labels and plain-Python oracles."""

import math

import numpy as np
import pytest

from keras_bmm.noise_transition import flip_matrix, flipped_share, true_class_posterior


def simulate(n, flips, seed=0, sharpness=4.0):
    """A calibrated network and labels flipped by `flips`: the true class is drawn from
    the network's own probabilities, the given label from the true class's row."""
    rng = np.random.default_rng(seed)
    classes = flips.shape[0]
    probabilities = rng.dirichlet(np.full(classes, 1.0 / sharpness), size=n)
    true = np.array([rng.choice(classes, p=row) for row in probabilities])
    given = np.array([rng.choice(classes, p=flips[k]) for k in true])
    return probabilities, true, given


def log_likelihood(probabilities, given, flips):
    """Plain Python: sum over samples of log sum_k p(k|x) T[k, y]."""
    total = 0.0
    for row, y in zip(probabilities, given):
        total += math.log(sum(row[k] * flips[k][y] for k in range(len(row))))
    return total


def test_em_recovers_the_flips_that_made_the_labels():
    flips = np.array(
        [[0.6, 0.4, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.1, 0.1, 0.7, 0.1], [0.0, 0.0, 0.3, 0.7]]
    )
    probabilities, _, given = simulate(20000, flips)
    fitted = flip_matrix(probabilities, given)
    assert np.abs(fitted - flips).max() < 0.04
    assert np.allclose(fitted.sum(axis=1), 1.0)


def test_a_calibrated_network_on_right_labels_finds_no_flips():
    # A weak network (its arg-max right on about 60%) whose disagreements are all its own.
    probabilities, true, _ = simulate(8000, np.eye(5), seed=1, sharpness=1.0)
    assert np.mean(probabilities.argmax(axis=1) == true) < 0.75
    fitted = flip_matrix(probabilities, true)
    assert flipped_share(probabilities, true, fitted) < 0.02


def test_the_fit_is_at_least_as_likely_as_the_truth_and_the_start():
    flips = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    probabilities, _, given = simulate(600, flips, seed=2)
    fitted = flip_matrix(probabilities, given)
    start = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    best = log_likelihood(probabilities, given, fitted)
    assert best >= log_likelihood(probabilities, given, flips) - 1e-6
    assert best >= log_likelihood(probabilities, given, start) - 1e-6


def test_the_posterior_is_bayes_rule_sample_by_sample():
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(4), size=50)
    given = rng.integers(0, 4, 50)
    flips = rng.dirichlet(np.ones(4), size=4)
    posterior = true_class_posterior(probabilities, given, flips)
    for n in range(50):
        weights = [probabilities[n][k] * flips[k][given[n]] for k in range(4)]
        assert posterior[n] == pytest.approx([w / sum(weights) for w in weights])


def test_the_flipped_share_is_the_share_of_labels_that_are_not_the_true_class():
    flips = np.array([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    probabilities, true, given = simulate(20000, flips, seed=4)
    fitted = flip_matrix(probabilities, given)
    assert flipped_share(probabilities, given, fitted) == pytest.approx(
        np.mean(true != given), abs=0.015
    )


def test_bad_shapes_and_labels_are_named():
    with pytest.raises(ValueError, match="N = 3 labels"):
        flip_matrix(np.ones((2, 2)) / 2, [0, 1, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        flip_matrix(np.ones((2, 2)) / 2, [0, 2])
    nan = np.ones((3, 2)) / 2
    nan[1, 0] = np.nan
    with pytest.raises(ValueError, match="row 1"):
        flip_matrix(nan, [0, 1, 1])
    with pytest.raises(ValueError, match="start_rate"):
        flip_matrix(np.ones((2, 2)) / 2, [0, 1], start_rate=0.0)
    assert flip_matrix(np.zeros((0, 3)), []).shape == (3, 3)  # no samples: the start
