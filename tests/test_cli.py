"""scripts/train.py rejects bad input before any training starts."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "train.py")


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("train_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--noise", "1.5"], "--noise must be a rate in [0, 1], got 1.5"),
        (["--noise", "-0.1"], "--noise must be a rate in [0, 1]"),
        (["--preset", "gpu"], "invalid choice: 'gpu'"),
        (["--dataset", "cifar10_n", "--noise", "0.2"], "real human label noise"),
        (["--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["--method", "coteaching"], "invalid choice: 'coteaching'"),
        (
            ["--epochs", "10", "--warmup-epochs", "20"],
            "--epochs (10) must exceed --warmup-epochs (20)",
        ),
        (["--epochs", "0"], "epochs must be >= 1"),
        (["--noise-type", "asym"], "invalid choice: 'asym'"),
        (["--method", "md-dyr-sh", "--epochs", "5", "--warmup-epochs", "5"], "must exceed"),
        (["--warmup-if-unsettled", "start"], "--warmup-if-unsettled applies to --warmup-epochs"),
        (["--warmup-epochs", "auto", "--warmup-if-unsettled", "no"], "invalid choice: 'no'"),
        (
            ["--warmup-epochs", "auto", "--warmup-min-epochs", "0"],
            "--warmup-min-epochs must be >= 1",
        ),
        (
            ["--dataset", "folder", "--data-dir", "d", "--image-size", "0", "0"],
            "--image-size must be two positive sizes in pixels, H W (e.g. 224 224); got 0 0.",
        ),
        (
            ["--dataset", "folder", "--data-dir", "d", "--image-size", "-3", "16"],
            "--image-size must be two positive sizes in pixels, H W (e.g. 224 224); got -3 16.",
        ),
    ],
)
def test_bad_arguments(script, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (  # auto by the folder dataset's default: never a number
            ["--dataset", "folder", "--data-dir", "d", "--epochs", "1"],
            "--epochs (1) must exceed the earliest start of the automatic warm-up (3: "
            "--warmup-epochs auto, the folder dataset's default, which reads the signals of the "
            "first epochs before it may start) for m-dyr-h: bootstrapping starts after the "
            "warm-up. Give more epochs, or a fixed --warmup-epochs below the epochs.",
        ),
        (  # one head-only epoch, and two of signals after it
            ["--preset", "finetune", "--data-dir", "d", "--epochs", "4"],
            "(4: --warmup-epochs auto, the finetune preset's default, which reads",
        ),
        (
            ["--warmup-epochs", "auto", "--warmup-min-epochs", "5", "--epochs", "5"],
            "--epochs (5) must exceed the earliest start of the automatic warm-up (5: "
            "--warmup-epochs auto, which reads the signals of the first epochs before it may "
            "start) for m-dyr-h",
        ),
        (
            ["--dataset", "folder", "--data-dir", "d", "--epochs", "6", "--method", "md-dyr-sh"]
            + ["--dynamic-epochs", "3"],
            "--epochs (6) must exceed the earliest start of the automatic warm-up (3: "
            "--warmup-epochs auto, the folder dataset's default, which reads the signals of the "
            "first epochs before it may start) + --dynamic-epochs (3) for md-dyr-sh",
        ),
        (
            ["--warmup-epochs", "label-wave", "--epochs", "4"],
            "(5: --warmup-epochs label-wave, which reads the signals",
        ),
    ],
)
def test_too_few_epochs_for_an_automatic_warmup_say_so(script, capsys, argv, message):
    """An automatic warm-up has no number of epochs: the message names its earliest end
    and where `auto` came from, not a `--warmup-epochs (1)` that was never given."""
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err, err
    assert "must exceed --warmup-epochs" not in err


def test_good_arguments_resolve_defaults(script):
    config, options = script.parse_args(["--noise", "0.8", "--method", "ce"])
    assert config.epochs > config.warmup_epochs and config.name == "digits-ce-0.8"
    assert config.run_dir == os.path.join("runs", "digits-ce-0.8")
    assert options == {
        "resume": False,
        "auto_resume": False,
        "overwrite": False,
        "no_export": False,
        "plots": False,
    }


def test_flags_override_the_preset(script):
    config, options = script.parse_args(
        ["--preset", "paper", "--dataset", "cifar100", "--noise", "0.5", "--lr", "0.05", "--resume"]
    )
    assert (config.dataset, config.noise, config.learning_rate) == ("cifar100", 0.5, 0.05)
    assert (config.epochs, config.lr_milestones, config.warmup_epochs) == (300, (100, 250), 105)
    assert options["resume"]


def test_process_exits_before_training(tmp_path):
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--noise", "2", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "--noise must be a rate in [0, 1], got 2.0" in proc.stderr
    assert os.listdir(tmp_path) == []


def fake_run(script, argv):
    """A started run's folder (its settings and a history) as `train.py ARGV` makes it."""
    config, _ = script.parse_args(argv)
    os.makedirs(config.run_dir)
    with open(os.path.join(config.run_dir, "config.json"), "w") as f:
        json.dump(config.as_dict(), f)
    open(os.path.join(config.run_dir, "history.csv"), "w").close()
    return config.run_dir


def test_resume_with_other_flags_names_the_runs_and_flags_that_differ(
    script, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    assert fake_run(script, ["--noise", "0.8", "--method", "ce"]) == "runs/digits-ce-0.8"
    fake_run(script, ["--noise", "0.8", "--epochs", "30", "--lr", "0.1", "--no-fast"])
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--resume", "--noise", "0.8"])
    assert str(exit_info.value) == (
        "train.py: error: No run to resume in 'runs/digits-m-dyr-h-0.8'. Without --run-dir or "
        "--name, the run folder is named from the settings (runs/<name>): --resume needs the "
        "flags the run was started with. Runs beside it, closest first: 'runs/digits-ce-0.8' "
        "with --method ce (here m-dyr-h); 'runs/digits-m-dyr-h-0.8-epochs30-lr0.1-no-fast' with "
        "--epochs 30 (here 60), --no-fast (here --fast), --lr 0.1 (here 0.05). Resume one with "
        "its flags, or with its --run-dir."
    )
    # The run found, resumed with other flags: each named with the run's value.
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--resume", "--noise", "0.5", "--run-dir", "runs/digits-ce-0.8"])
    assert str(exit_info.value) == (
        "train.py: error: The settings differ from the run in 'runs/digits-ce-0.8': --method ce "
        "(here m-dyr-h), --noise 0.8 (here 0.5). Resume with the run's settings."
    )
    assert sorted(os.listdir(tmp_path / "runs")) == [
        "digits-ce-0.8",
        "digits-m-dyr-h-0.8-epochs30-lr0.1-no-fast",
    ]


def test_multiworker_with_malformed_tf_config_exits_clearly(script, monkeypatch, tmp_path):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--strategy", "multiworker", "--run-dir", str(tmp_path / "r")])
    assert "TF_CONFIG is not valid JSON" in str(exit_info.value)
    assert not os.path.exists(tmp_path / "r")


def test_mixed_precision_run_keeps_the_bmm_in_float32(tmp_path):
    import keras
    import numpy as np

    from keras_bmm import TrainConfig, train

    result = train(
        TrainConfig(
            noise=0.5,
            epochs=2,
            warmup_epochs=1,
            mixed_precision=True,
            run_dir=str(tmp_path / "run"),
            verbose=0,
        ),
        export=False,
    )
    assert keras.config.dtype_policy().name == "float32"  # restored
    assert result.model.backbone.layers[-1].compute_dtype == "float16"
    assert result.model.noise_state.table.dtype == "float32"
    assert np.all(np.isfinite(result.history["bmm_alpha_noisy"]))
    for name in ("history.json", "metrics.json", "tensorboard", "noise_report.csv"):
        assert os.path.exists(tmp_path / "run" / name), name


def test_switches(script):
    config, _ = script.parse_args(
        ["--no-fast", "--no-augment", "--eval-every", "5", "--epochs", "60"]
    )
    assert (config.fast, config.augment, config.eval_every) == (False, False, 5)
    config, _ = script.parse_args(["--fast", "--epoch-loss-pass"])
    assert config.fast and config.epoch_loss_pass
    config, _ = script.parse_args(["--preset", "cpu", "--no-fast", "--data-dir", "c.tar.gz"])
    assert not config.fast and config.augment is False  # the preset turns augmentation off


#: Runs a script as `__main__` and records its exit code and the heavy modules it imported.
IMPORT_PROBE = """
import json, runpy, sys, time
script, out = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
code = 0
started = time.perf_counter()
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exit:
    code = exit.code
    if isinstance(code, str):  # sys.exit(message): printed, status 1
        print(code, file=sys.stderr)
        code = 1
seconds = time.perf_counter() - started
heavy = {"tensorflow", "keras", "keras_tuner", "tensorflow_probability"}
with open(out, "w") as f:
    heavy = sorted(heavy & {m.split(".")[0] for m in sys.modules})
    json.dump({"code": code, "heavy": heavy, "seconds": seconds}, f)
"""


@pytest.mark.parametrize(
    "name,argv,code,first_line",
    [
        ("train", ["-h"], 0, "usage: train.py"),
        ("train", ["--nosie", "0.5"], 2, "train.py: error: unrecognized arguments: --nosie"),
        ("train", ["--noise", "abc"], 2, "train.py: error: argument --noise: invalid float"),
        ("train", ["--noise", "2"], 2, "train.py: error: --noise must be a rate in [0, 1]"),
        ("train", ["--epochs", "4", "--warmup-epochs", "9"], 2, "train.py: error: --epochs (4)"),
        (
            "train",
            ["--dataset", "folder", "--data-dir", "d", "--image-size", "0", "0"],
            2,
            "train.py: error: --image-size must be two positive sizes in pixels",
        ),
        (
            "train",
            ["--resume", "--noise", "0.5"],
            1,
            "train.py: error: No run to resume in 'runs/digits-m-dyr-h-0.5'. Without --run-dir "
            "or --name, the run folder is named from the settings (runs/<name>): --resume needs "
            "the flags the run was started with.",
        ),
        ("tune", ["-h"], 0, "usage: tune.py"),
        ("tune", ["--max-trails", "3"], 2, "tune.py: error: unrecognized arguments: --max-trails"),
        ("tune", ["--holdout", "1.5"], 2, "tune.py: error: holdout fraction must be in (0, 1)"),
        (
            "tune",
            ["--epochs", "4", "--space", "learning_rate=0.2,0.1"],
            2,
            "tune.py: error: Search range of learning_rate must have low < high",
        ),
        (
            "tune",
            ["--method", "md-dyr-sh", "--epochs", "6", "--dynamic-epochs", "3"]
            + ["--space", "warmup_epochs=1,4"],
            2,
            "tune.py: error: Search range of warmup_epochs must be integers in [0, epochs - 1 - "
            "dynamic_epochs = 2]",
        ),
        ("report", ["-h"], 0, "usage: report.py"),
        ("report", [], 2, "report.py: error: the following arguments are required: --run-dir"),
        ("report", ["--run-dir", "no-such-run"], 1, "report.py: error: 'no-such-run' holds no"),
    ],
)
def test_flags_are_checked_before_tensorflow_is_imported(tmp_path, name, argv, code, first_line):
    """`-h`, a mistyped flag and a bad value answer without importing TensorFlow,
    the error first (then at most a hint, never the usage block)."""
    out = tmp_path / "probe.json"
    script = os.path.join(ROOT, "scripts", f"{name}.py")
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, script, str(out), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    probe = json.loads(out.read_text())
    assert probe["heavy"] == [], probe
    assert probe["code"] == code, probe
    assert probe["seconds"] < 2, probe  # the script's own time, without Python's start-up
    text = proc.stdout if code == 0 else proc.stderr
    assert text.splitlines()[0].startswith(first_line), text
    if code:
        assert len(proc.stderr.splitlines()) <= 2 and "usage:" not in proc.stderr
    if "unrecognized" in first_line:
        assert "Did you mean --noise" in proc.stderr or "Did you mean --max-trials" in proc.stderr
