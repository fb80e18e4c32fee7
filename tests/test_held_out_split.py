"""The `val_split` part is drawn apart from the noise, and old runs keep their split."""

import json

import numpy as np
import pytest

from keras_bmm.data.splits import held_out_seed, holdout_split
from keras_bmm.training.builders import dataset_of, noise_of
from keras_bmm.training.config import ConfigError, TrainConfig
from keras_bmm.training.run_folder import RunFolder
from keras_bmm.training.saved_run import training_split


@pytest.mark.parametrize("noise_type", ["symmetric", "symmetric-exclusive"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_held_out_part_is_as_noisy_as_the_part_trained_on(noise_type, seed):
    """Noise and split seeded alike once drew from one permutation: the held-out
    part was the samples the noise resampled first (90% wrong at 50% noise)."""
    config = TrainConfig(
        dataset="digits", noise=0.5, noise_type=noise_type, val_split=0.2, seed=seed
    ).resolved()
    data = dataset_of(config)
    noise = noise_of(config, data)
    train_part, held_out = training_split(config, data)
    wrong = noise.labels != data.train_labels  # the truth, from the clean labels
    trained, kept_out = wrong[train_part.sample_ids], wrong[held_out.sample_ids]
    assert held_out.num_train == round(0.2 * data.num_train)
    # 270 held-out samples: a binomial share has a standard deviation under 0.031.
    assert abs(kept_out.mean() - trained.mean()) < 0.1, (kept_out.mean(), trained.mean())


def test_the_split_seed_is_its_own_stream_and_can_be_set():
    assert held_out_seed(0) == held_out_seed(0) != held_out_seed(1)
    assert held_out_seed(3) != 3
    config = TrainConfig(dataset="digits", val_split=0.1, seed=3).resolved()
    assert config.val_seed == held_out_seed(3)
    assert TrainConfig(dataset="digits", val_split=0.1, val_seed=7).resolved().val_seed == 7
    assert TrainConfig(dataset="digits", seed=3).resolved().val_seed is None
    # The derived seed is not named; a chosen one is.
    assert "val-seed" not in config.default_name()
    chosen = TrainConfig(dataset="digits", val_split=0.1, val_seed=7).resolved()
    assert chosen.default_name().endswith("val-seed7")


def test_a_run_saved_before_val_seed_keeps_its_split_when_resumed(tmp_path):
    config = TrainConfig(dataset="digits", val_split=0.25, seed=3, run_dir=str(tmp_path))
    config = config.resolved()
    saved = config.as_dict()
    del saved["val_seed"]  # as an older keras-bmm saved it
    (tmp_path / "config.json").write_text(json.dumps(saved))
    folder = RunFolder(str(tmp_path))
    assert folder.settings_differ(config) == []
    resumed = folder.choices_of(config)
    assert resumed.val_seed == 3
    data = dataset_of(resumed)
    _, held_out = training_split(resumed, data)
    legacy = np.sort(np.random.default_rng(3).permutation(data.num_train)[: held_out.num_train])
    np.testing.assert_array_equal(held_out.sample_ids, legacy)
    # A run saved with its val_seed resumes with it, and another one differs.
    (tmp_path / "config.json").write_text(json.dumps(config.as_dict()))
    assert folder.choices_of(config).val_seed == held_out_seed(3)
    other = TrainConfig(dataset="digits", val_split=0.25, seed=3, val_seed=5).resolved()
    assert "val_seed" in folder.settings_differ(other)


def test_holdout_split_of_one_seed_is_the_permutation_it_documents():
    train_index, val_index = holdout_split(50, 0.2, 9)
    order = np.random.default_rng(9).permutation(50)
    np.testing.assert_array_equal(val_index, np.sort(order[:10]))
    np.testing.assert_array_equal(train_index, np.sort(order[10:]))


def test_an_old_run_resumed_with_another_val_seed_is_told_it_differs(tmp_path):
    config = TrainConfig(dataset="digits", val_split=0.25, seed=3, run_dir=str(tmp_path))
    saved = config.resolved().as_dict()
    del saved["val_seed"]  # as an older keras-bmm saved it
    (tmp_path / "config.json").write_text(json.dumps(saved))
    folder = RunFolder(str(tmp_path))
    chosen = TrainConfig(dataset="digits", val_split=0.25, seed=3, val_seed=7).resolved()
    assert folder.settings_differ(chosen) == ["val_seed"]
    assert folder.choices_of(chosen).val_seed == 7
    # Given the seed it was drawn with, or the derived one, it is the same run.
    for same in (3, held_out_seed(3)):
        again = TrainConfig(dataset="digits", val_split=0.25, seed=3, val_seed=same).resolved()
        assert folder.settings_differ(again) == []
        assert folder.choices_of(again).val_seed == 3


@pytest.mark.parametrize(
    "settings, field",
    [
        (dict(val_seed=4), "val_seed"),
        (dict(seed=-1), "seed"),
        (dict(val_split=0.1, val_seed=-2), "val_seed"),
        (dict(noise_seed=1.5), "noise_seed"),
    ],
)
def test_bad_seeds_are_named(settings, field):
    with pytest.raises(ConfigError, match=field) as caught:
        TrainConfig(dataset="digits", **settings).resolved()
    assert caught.value.field == field


def test_a_search_holds_out_as_many_wrong_labels_as_it_trains_on():
    pytest.importorskip("keras_tuner")
    from keras_bmm.tuning import search_split

    config = TrainConfig(dataset="digits", noise=0.6, seed=0).resolved()
    data = dataset_of(config)
    train_part, labels, held_out, held_out_labels = search_split(config, data, 0.1)
    truth = data.train_labels
    trained = np.mean(labels != truth[train_part.sample_ids])
    kept_out = np.mean(held_out_labels != truth[held_out.sample_ids])
    # 135 held-out samples: a binomial share has a standard deviation under 0.043.
    assert abs(kept_out - trained) < 0.13, (kept_out, trained)
