"""keras-tuner search on noisy held-out labels: end to end, resumable, validated."""

import importlib.util
import json
import os

import pytest

from keras_bmm import TrainConfig
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


@pytest.mark.parametrize("objective", ["noisy", "clean"])
def test_two_trials_end_to_end_and_resume(tmp_path, objective):
    directory = str(tmp_path / "search")
    space = {"warmup_epochs": (1, 2), "learning_rate": (0.01, 0.1)}
    best, path = tune(base_config(), space, max_trials=2, objective=objective, directory=directory)
    assert len(trial_dirs(directory)) == 2
    assert 1 <= best.warmup_epochs <= 2 and 0.01 <= best.learning_rate <= 0.1
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
    tune(base_config(), space, max_trials=3, objective=objective, directory=directory)
    assert len(trial_dirs(directory)) == 3
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
    assert "learning_rate must have low < high" in str(exit_info.value)
