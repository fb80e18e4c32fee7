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
    with pytest.raises(ValueError, match="Unknown symmetric noise type .pairflip."):
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


def test_asymmetric_cifar10_maps_exactly_the_listed_pairs():
    from keras_bmm.noise import asymmetric_noise

    labels = np.repeat(np.arange(10), 1000)
    noise = asymmetric_noise(labels, 0.4, 10, seed=2)
    pairs = {(9, 1), (2, 0), (4, 7), (3, 5), (5, 3)}  # truck->automobile, bird->airplane, ...
    changed = set(zip(labels[noise.noise_mask], noise.labels[noise.noise_mask]))
    assert changed == pairs
    for source, _ in pairs:
        members = labels == source
        assert noise.noise_mask[members].mean() == pytest.approx(0.4, abs=1e-9)
    untouched = ~np.isin(labels, [s for s, _ in pairs])
    assert not noise.noise_mask[untouched].any()
    assert noise.noise_type == "asymmetric"


def test_asymmetric_hundred_classes_is_next_class():
    from keras_bmm.noise import asymmetric_noise

    labels = np.repeat(np.arange(100), 50)
    noise = asymmetric_noise(labels, 0.2, 100, seed=0)
    flipped = noise.noise_mask
    np.testing.assert_array_equal(noise.labels[flipped], (labels[flipped] + 1) % 100)
    assert noise.achieved_rate == pytest.approx(0.2)
    assert set(noise.labels[flipped]) == set(range(100))


def test_noisy_labels_save_and_reload(tmp_path):
    from keras_bmm.noise import LabelNoise

    labels = np.random.default_rng(0).integers(0, 10, 300)
    noise = symmetric_noise(labels, 0.6, 10, seed=5)
    path = str(tmp_path / "labels.npz")
    noise.save(path)
    loaded = LabelNoise.load(path, clean_labels=labels)
    for field in ("labels", "clean_labels", "noise_mask", "resampled_mask"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(noise, field))
    assert (loaded.rate, loaded.noise_type) == (0.6, "symmetric")
    with pytest.raises(ValueError, match="made for another dataset"):
        LabelNoise.load(path, clean_labels=labels[:-1])


def test_real_noise_mask_compares_with_clean_labels():
    from keras_bmm.noise import real_noise

    noise = real_noise([0, 1, 2, 2], [0, 1, 1, 2], 3)
    np.testing.assert_array_equal(noise.noise_mask, [False, False, True, False])
    assert noise.noise_type == "real" and noise.achieved_rate == 0.25


def test_noisy_labels_file_without_a_key_is_a_clear_error(tmp_path):
    from keras_bmm.noise import LabelNoise

    labels = np.arange(10) % 3
    path = str(tmp_path / "labels.npz")
    np.savez(path, labels=labels, clean_labels=labels)
    with pytest.raises(ValueError) as error:
        LabelNoise.load(path)
    message = str(error.value)
    assert path in message and "'noise_mask'" in message and "'resampled_mask'" in message
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="text.npz"):
        LabelNoise.load(str(tmp_path / "text.npz"))
