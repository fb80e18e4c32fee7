"""The realistic noise kinds: instance-dependent, class-confusion and open-set.

Each is checked for its rate and its structure against a plain-Python
transcription of its definition, and for determinism given its seed.
"""

import numpy as np
import pytest

from keras_bmm.noise import (
    NO_CLASS,
    class_scores,
    confusion_noise,
    instance_noise,
    make_noise,
    open_set_noise,
)


def _random_scores(n, classes, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(classes) * 0.5, size=n)
    return scores


def test_instance_flips_the_most_ambiguous_to_their_nearest_other_class():
    labels = np.arange(400) % 4
    scores = _random_scores(400, 4, seed=1)
    noise = instance_noise(labels, 0.3, 4, seed=0, scores=scores)
    # Oracle: Chen et al.'s rule written out sample by sample.
    ambiguity, nearest = [], []
    for i in range(400):
        others = [(scores[i, c], c) for c in range(4) if c != labels[i]]
        best = max(others)
        ambiguity.append(best[0])
        nearest.append(best[1])
    chosen = sorted(range(400), key=lambda i: -ambiguity[i])[:120]
    expected = labels.copy()
    expected[chosen] = np.asarray(nearest)[chosen]
    np.testing.assert_array_equal(noise.labels, expected)
    assert noise.noise_mask.sum() == 120 and noise.achieved_rate == pytest.approx(0.3)
    assert noise.noise_type == "instance"


def test_instance_noise_from_images_is_seeded_and_targets_confusable_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = bunch.images[:900] / 16.0, bunch.target[:900]
    a = instance_noise(labels, 0.4, 10, seed=3, features=images)
    b = instance_noise(labels, 0.4, 10, seed=3, features=images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.noise_mask.sum() == 360
    # Structure: a flipped image is one a separate classifier finds ambiguous.
    scores = class_scores(images, labels, 10, seed=3)
    own = scores[np.arange(900), labels]
    assert own[a.noise_mask].mean() < own[~a.noise_mask].mean() - 0.1
    # ... and its new label is the class that classifier puts next.
    masked = scores.copy()
    masked[np.arange(900), labels] = -1
    np.testing.assert_array_equal(a.labels[a.noise_mask], masked.argmax(1)[a.noise_mask])


def test_class_scores_are_out_of_fold_probabilities():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 60)
    features = rng.normal(size=(180, 5)) + labels[:, None] * 2.0
    scores = class_scores(features, labels, 3, seed=0)
    np.testing.assert_allclose(scores.sum(1), 1.0)
    assert (scores.argmax(1) == labels).mean() > 0.9
    with pytest.raises(ValueError, match="at least 2 classes with 2 samples"):
        class_scores(features[:61], labels[:61], 3)


def test_confusion_noise_follows_a_given_matrix_exactly_per_class():
    labels = np.repeat(np.arange(3), 1000)
    confusion = np.array([[9, 0, 1], [5, 9, 0], [0, 0, 9]], dtype=float)
    noise = confusion_noise(labels, 0.3, 3, seed=2, confusion=confusion)
    for c in range(3):
        assert noise.noise_mask[labels == c].sum() == 300
    # Row 0 flips only to 2, row 1 only to 0; row 2 (never confused) uniformly.
    assert set(noise.labels[(labels == 0) & noise.noise_mask]) == {2}
    assert set(noise.labels[(labels == 1) & noise.noise_mask]) == {0}
    flipped2 = noise.labels[(labels == 2) & noise.noise_mask]
    assert set(flipped2) == {0, 1} and abs(np.mean(flipped2 == 0) - 0.5) < 0.1


def test_confusion_noise_draws_in_proportion_to_the_matrix():
    labels = np.repeat(np.arange(3), 20_000)
    confusion = np.array([[0, 3, 1], [1, 0, 1], [1, 4, 0]], dtype=float)
    noise = confusion_noise(labels, 0.5, 3, seed=0, confusion=confusion)
    for c in range(3):
        flipped = noise.labels[(labels == c) & noise.noise_mask]
        observed = np.bincount(flipped, minlength=3) / flipped.size
        expected = confusion[c] / confusion[c].sum()
        np.testing.assert_allclose(observed, expected, atol=0.015)


def test_estimated_confusion_is_the_mean_probability_per_class():
    labels = np.arange(300) % 3
    scores = _random_scores(300, 3, seed=4)
    noise = confusion_noise(labels, 0.2, 3, seed=1, scores=scores)
    from keras_bmm.noise.confusion import estimated_confusion

    oracle = np.zeros((3, 3))
    for c in range(3):
        rows = [scores[i] for i in range(300) if labels[i] == c]
        oracle[c] = np.sum(rows, axis=0) / len(rows)
    np.testing.assert_allclose(estimated_confusion(scores, labels), oracle)
    assert noise.achieved_rate == pytest.approx(0.2)


def test_confusion_matrix_errors_name_the_problem(tmp_path):
    labels = np.arange(30) % 3
    with pytest.raises(ValueError, match=r"3 x 3.*shape \(2, 2\)"):
        confusion_noise(labels, 0.2, 3, confusion=np.ones((2, 2)))
    with pytest.raises(ValueError, match="row 1, column 0"):
        confusion_noise(labels, 0.2, 3, confusion=[[0, 1, 1], [-1, 0, 1], [1, 1, 0]])
    from keras_bmm.noise import read_confusion

    path = tmp_path / "m.csv"
    path.write_text("0,1\n1,0,3\n")
    with pytest.raises(ValueError, match="m.csv"):
        read_confusion(str(path))


def test_open_set_keeps_the_label_set_and_mixes_in_mislabelled_outsiders():
    labels = np.repeat(np.arange(5), 200)
    found = open_set_noise(labels, 0.2, 5, seed=0, outside=(4,))
    noise = found.noise
    assert found.inside == (0, 1, 2, 3)
    # Every image of the label set stays; 200 outsiders make 20% of 1000 kept.
    kept_original = labels[found.kept]
    assert np.sum(kept_original < 4) == 800 and np.sum(kept_original == 4) == 200
    assert noise.achieved_rate == pytest.approx(0.2)
    np.testing.assert_array_equal(noise.noise_mask, kept_original == 4)
    np.testing.assert_array_equal(noise.clean_labels[noise.noise_mask], NO_CLASS)
    assert set(noise.labels[noise.noise_mask]) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(noise.labels[~noise.noise_mask], kept_original[kept_original < 4])
    assert "of none of the classes" in noise.summary()


def test_open_set_labels_are_uniform_and_seeded():
    labels = np.repeat(np.arange(4), 10_000)
    a = open_set_noise(labels, 0.25, 4, seed=5, outside=(1,))
    b = open_set_noise(labels, 0.25, 4, seed=5, outside=(1,))
    np.testing.assert_array_equal(a.noise.labels, b.noise.labels)
    np.testing.assert_array_equal(a.kept, b.kept)
    given = a.noise.labels[a.noise.noise_mask]
    np.testing.assert_allclose(np.bincount(given, minlength=3) / given.size, 1 / 3, atol=0.02)


def test_open_set_default_leaves_out_as_few_last_classes_as_the_rate_needs():
    labels = np.repeat(np.arange(10), 100)
    assert open_set_noise(labels, 0.1, 10).inside == tuple(range(9))
    assert open_set_noise(labels, 0.2, 10).inside == tuple(range(8))
    with pytest.raises(ValueError, match=r"needs 300 images .* but there are 100"):
        open_set_noise(labels, 0.25, 10, outside=(9,))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        open_set_noise(labels, 1.0, 10)


def test_open_set_dataset_drops_the_outside_classes_from_the_test_split():
    from keras_bmm.data.digits import load_digits
    from keras_bmm.noise.open_set import with_open_set

    data = load_digits()
    mixed = with_open_set(data, 0.2, seed=1)
    assert mixed.class_names == tuple(str(c) for c in range(7))
    assert set(mixed.test_labels) == set(range(7))
    assert mixed.test_labels.size == np.isin(data.test_labels, range(7)).sum()
    outsiders = mixed.train_clean_labels == NO_CLASS
    assert abs(outsiders.mean() - 0.2) < 0.005
    assert mixed.num_train == mixed.train_images.shape[0] == mixed.train_labels.size


def test_make_noise_dispatches_every_kind():
    labels = np.repeat(np.arange(4), 50)
    features = labels[:, None] + np.random.default_rng(0).normal(size=(200, 3))
    for kind in ("instance", "confusion"):
        noise = make_noise(labels, 0.2, 4, seed=0, noise_type=kind, features=features)
        assert noise.noise_type == kind and noise.achieved_rate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="open_set_noise"):
        make_noise(labels, 0.2, 4, noise_type="open-set")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--noise-type", "open-set", "--noise", "1"], "--noise must be below 1"),
        (["--confusion-matrix", "m.csv"], "--confusion-matrix applies to"),
        (
            ["--noise-type", "confusion", "--confusion-matrix", "missing.csv"],
            "missing.csv",
        ),
    ],
)
def test_noise_kind_flags_are_checked_before_training(argv, message, capsys):
    from keras_bmm.training.cli import ArgumentParser, add_config_arguments, parse_config

    parser = ArgumentParser(prog="train.py")
    add_config_arguments(parser)
    with pytest.raises(SystemExit):
        parse_config(parser, ["--dataset", "digits", *argv])
    assert message in capsys.readouterr().err
