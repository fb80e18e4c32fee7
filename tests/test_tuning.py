"""keras-tuner search on noisy held-out labels: end to end, resumable, validated."""

import dataclasses
import importlib.util
import json
import os

import pytest

from keras_bmm import TrainConfig
from keras_bmm.search_space import check_search
from keras_bmm.tuning import holdout_split, tune, validate_space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def base_config():
    return TrainConfig(dataset="digits", noise=0.5, epochs=3, lr_milestones=(3,), verbose=0)


def trial_dirs(directory):
    return sorted(d for d in os.listdir(directory) if d.startswith("trial_"))


def best_recorded(directory):
    """The settings of the trials with the highest score in keras-tuner's trial files."""
    trials = []
    for d in trial_dirs(directory):
        with open(os.path.join(directory, d, "trial.json")) as f:
            trial = json.load(f)
        if trial["status"] == "COMPLETED":
            trials.append((trial["score"], trial["hyperparameters"]["values"]))
    top = max(score for score, _ in trials)
    return [values for score, values in trials if score == top]


def assert_is_a_best_trial(best, directory):
    settings = {k: getattr(best, k) for k in ("warmup_epochs", "learning_rate")}
    assert any(
        settings == pytest.approx({k: values[k] for k in settings})
        for values in best_recorded(directory)
    ), (settings, best_recorded(directory))


@pytest.mark.parametrize("objective", ["noisy", "clean"])
def test_two_trials_end_to_end_and_resume(tmp_path, objective):
    directory = str(tmp_path / "search")
    space = {"warmup_epochs": (1, 2), "learning_rate": (0.01, 0.1)}
    best, path = tune(base_config(), space, max_trials=2, objective=objective, directory=directory)
    assert len(trial_dirs(directory)) == 2
    assert_is_a_best_trial(best, directory)
    with open(path) as f:
        saved = json.load(f)
    assert saved["learning_rate"] == pytest.approx(best.learning_rate)
    # scripts/train.py accepts the best configuration as it is.
    config, _ = load_script("train").parse_args(
        ["--config", path, "--run-dir", str(tmp_path / "r")]
    )
    assert (config.learning_rate, config.warmup_epochs) == (best.learning_rate, best.warmup_epochs)
    assert config.mixup_alpha == pytest.approx(best.mixup_alpha)
    # Resumable: the same directory continues the search, finished trials are not re-run.
    stamps = {
        d: os.path.getmtime(os.path.join(directory, d, "trial.json")) for d in trial_dirs(directory)
    }
    best, _ = tune(base_config(), space, max_trials=3, objective=objective, directory=directory)
    assert len(trial_dirs(directory)) == 3
    assert_is_a_best_trial(best, directory)
    for d, stamp in stamps.items():
        assert os.path.getmtime(os.path.join(directory, d, "trial.json")) == stamp


@pytest.mark.parametrize(
    "space,message",
    [
        ({"learning_rate": (0.1, 0.01)}, "learning_rate must have low < high"),
        ({"mixup_alpha": (0.0, 4.0)}, "log-scaled: low must be > 0"),
        ({"warmup_epochs": (1, 5)}, r"warmup_epochs must be integers in \[0, epochs - 1 = 2\]"),
        ({"reg_weight": (-1.0, 1.0)}, "reg_weight must be >= 0"),
        ({"dropout": (0.1, 0.5)}, "Unknown search-space setting 'dropout'"),
        ({"reg_weight": "wide"}, "must be two numbers"),
    ],
)
def test_invalid_search_space(space, message):
    with pytest.raises(ValueError, match=message):
        validate_space(space, epochs=3)


def test_holdout_split_is_disjoint_and_complete():
    train, val = holdout_split(100, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)
    with pytest.raises(ValueError, match="holdout fraction"):
        holdout_split(100, 1.0, seed=0)


def test_tune_script_reports_bad_range(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("tune").main(
            [
                "--noise",
                "0.5",
                "--epochs",
                "3",
                "--space",
                "learning_rate=0.2,0.1",
                "--directory",
                str(tmp_path / "s"),
            ]
        )
    assert exit_info.value.code == 2
    assert "learning_rate must have low < high" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "s")


def test_md_dyr_sh_warmup_leaves_room_for_the_dynamic_mixup():
    """A warm-up plus dynamic mixup that reaches the epoch count never bootstraps:
    such trials are not sampled by default and refused when asked for."""
    config = TrainConfig(
        method="md-dyr-sh", epochs=6, warmup_epochs=0, dynamic_epochs=3, lr_milestones=(3,)
    ).resolved()
    ranges = check_search(config, None, max_trials=2, objective="noisy", holdout=0.1)
    assert ranges["warmup_epochs"] == (1, 2)
    with pytest.raises(ValueError, match=r"epochs - 1 - dynamic_epochs = 2\]"):
        check_search(config, {"warmup_epochs": (1, 3)}, 2, "noisy", 0.1)
    m_dyr_h = dataclasses.replace(config, method="m-dyr-h")
    ranges = check_search(m_dyr_h, {"warmup_epochs": (1, 5)}, 2, "noisy", 0.1)
    assert ranges["warmup_epochs"] == (1, 5)


def test_invalid_trial_settings_stop_the_search():
    """Every trial's settings are validated: a space that escaped `validate_space`
    stops the search with the setting named, instead of training a trial that
    cannot bootstrap."""
    import keras_tuner

    from keras_bmm.tuning import BMMHyperModel

    config = dataclasses.replace(base_config(), warmup_epochs=1).resolved()  # m-dyr-h, 3 epochs
    hypermodel = BMMHyperModel(config, {"warmup_epochs": (3, 3)}, None, 10, (8, 8, 1), 0, 1, False)
    with pytest.raises(keras_tuner.errors.FatalValueError, match=r"warmup_epochs \(3\)"):
        hypermodel.trial_config(keras_tuner.HyperParameters())
    space = {"warmup_epochs": (1, 2)}
    hypermodel = BMMHyperModel(config, space, None, 10, (8, 8, 1), 0, 1, False)
    assert hypermodel.trial_config(keras_tuner.HyperParameters()).warmup_epochs == 1


def test_tuning_the_cpu_setting_does_not_augment(tmp_path, monkeypatch):
    """The cpu preset turns augmentation off for its image folder (whose images are
    not zero-mean): its trials train on un-augmented images; without the preset
    the folder's own default (augmentation on) holds."""
    from test_data import write_folder

    from keras_bmm.data.interface import DatasetPipelines

    calls = []
    batches = DatasetPipelines.train_batches

    def recording(self, *args, **kwargs):
        calls.append(kwargs["augment"])
        return batches(self, *args, **kwargs)

    monkeypatch.setattr(DatasetPipelines, "train_batches", recording)
    root = write_folder(str(tmp_path / "images"), ["ant", "bee"], per_class=6, size=(8, 8))
    settings = dict(
        preset="cpu",
        data_dir=root,
        model="small_cnn",
        epochs=2,
        eval_every=1,
        lr_milestones=(2,),
        batch_size=4,
        noise=0.2,
        verbose=0,
    )
    tune(TrainConfig(**settings), max_trials=1, directory=str(tmp_path / "a"))
    assert calls == [False]
    folder = TrainConfig(**{**settings, "preset": None, "dataset": "folder"})
    tune(folder, max_trials=1, directory=str(tmp_path / "b"))
    assert calls == [False, True]
