import numpy as np
import pytest

from keras_bmm import symmetric_noise
from keras_bmm.noise import validate_labels


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_symmetric_rate_matches_paper_definition(rate):
    labels = np.random.default_rng(0).integers(0, 10, 50_000)
    noise = symmetric_noise(labels, rate, 10, seed=3)
    # Drawn over all 10 classes: a tenth of the resampled labels stay right.
    assert abs(noise.achieved_rate - rate * 9 / 10) < 0.01
    assert noise.resampled_mask.mean() == pytest.approx(rate, abs=1e-4)
    assert np.array_equal(noise.noise_mask, noise.labels != labels)
    assert np.all(noise.noise_mask <= noise.resampled_mask)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_exclusive_rate_is_exact(rate):
    labels = np.random.default_rng(1).integers(0, 10, 50_000)
    noise = symmetric_noise(labels, rate, 10, seed=3, noise_type="symmetric-exclusive")
    assert abs(noise.achieved_rate - rate) < 0.01
    assert np.array_equal(noise.noise_mask, noise.resampled_mask)


@pytest.mark.parametrize("noise_type", ["symmetric", "symmetric-exclusive"])
def test_hundred_classes_all_receive_noisy_labels(noise_type):
    labels = np.repeat(np.arange(100), 500)
    noise = symmetric_noise(labels, 0.5, 100, seed=0, noise_type=noise_type)
    received = np.bincount(noise.labels[noise.noise_mask], minlength=100)
    assert received.size == 100 and np.all(received > 100)
    # Every true class also loses labels to the other classes.
    lost = np.bincount(labels[noise.noise_mask], minlength=100)
    assert np.all(lost > 100)


def test_deterministic_given_seed():
    labels = np.arange(1000) % 10
    a = symmetric_noise(labels, 0.4, 10, seed=7)
    b = symmetric_noise(labels, 0.4, 10, seed=7)
    c = symmetric_noise(labels, 0.4, 10, seed=8)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_zero_and_full_rates():
    labels = np.arange(1000) % 10
    assert symmetric_noise(labels, 0.0, 10).achieved_rate == 0.0
    full = symmetric_noise(labels, 1.0, 10, noise_type="symmetric-exclusive")
    assert full.achieved_rate == 1.0
    assert "wrong" in full.summary()


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="Noise rate"):
        symmetric_noise(np.zeros(10, int), rate, 10)


def test_unknown_noise_type():
    with pytest.raises(ValueError, match="Unknown noise type"):
        symmetric_noise(np.zeros(10, int), 0.1, 10, noise_type="pairflip")


def test_labels_out_of_range():
    with pytest.raises(
        ValueError, match=r"out of range: 1 value\(s\) outside \[0, 9\].*position 2 \(value 10\)"
    ):
        symmetric_noise(np.array([0, 1, 10, 3]), 0.1, 10)
    with pytest.raises(ValueError, match="out of range"):
        validate_labels(np.array([-1, 0]), 10)
    with pytest.raises(ValueError, match="integer class indices"):
        validate_labels(np.array([0.5, 1.0]), 10)
