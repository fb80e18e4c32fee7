"""The dataset table and the command line: one module and one entry make a dataset."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_bmm.data import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TOY_MODULE = '''
"""A toy source: 4 classes of 6x6 images, each class a bright row."""
import numpy as np
from keras_bmm.data.dataset import ImageDataset


def load_toy(data_dir=None):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    images = rng.normal(0.0, 0.3, (120, 6, 6, 1)).astype("float32")
    images[np.arange(120), labels, :, 0] += 3.0
    return ImageDataset("toy", images[:100], labels[:100], images[100:], labels[100:],
                        class_names=("a", "b", "c", "d"))
'''


def test_a_new_source_is_one_module_and_one_entry_built_through_the_cli(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "toy_source.py").write_text(TOY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "SOURCES", dict(registry.SOURCES))  # the test's own table
    schedule = {"model": "small_cnn", "width": 8, "epochs": 2, "batch_size": 20, "warmup_epochs": 1}
    registry.register(
        registry.DataSource("toy", "toy_source:load_toy", defaults=schedule, help="a toy set")
    )
    from keras_bmm.commands import train as command
    from keras_bmm.training.cli import ArgumentParser

    help_text = command.build_parser().format_help()
    assert "toy: a toy set" in help_text
    assert isinstance(command.build_parser(), ArgumentParser)
    run = tmp_path / "run"
    command.main(
        ["--dataset", "toy", "--method", "ce", "--noise", "0.2", "--run-dir", str(run)]
        + ["--no-export", "--verbose", "0"]
    )
    out = capsys.readouterr().out
    assert "dataset=toy method=ce epochs=2" in out and "test accuracy" in out
    assert (run / "noise_report.csv").exists()
    # The entry's defaults reached the run; a dataset unknown to the table is refused.
    config, _ = command.parse_args(["--dataset", "toy"])
    assert (config.epochs, config.width, config.model) == (2, 8, "small_cnn")
    with pytest.raises(SystemExit):
        command.parse_args(["--dataset", "toyy"])


def test_the_table_describes_every_builtin_dataset():
    names = registry.dataset_names()
    assert names[:1] == ("digits",) and set(registry.file_dataset_names()) == {
        "folder",
        "manifest",
        "clothing1m",
    }
    for name in names:
        source = registry.source_of(name)
        assert source.help and ":" in source.loader
        assert source.defaults.get("epochs", 0) > 0
        assert not source.data_dir_required or source.data_dir
    with pytest.raises(ValueError, match="Unknown dataset 'nope'"):
        registry.source_of("nope")


def test_scripts_are_shims_without_path_edits():
    """`python scripts/X.py` is `keras-bmm X`; nothing outside tests/ imports scripts/."""
    for name in ("train", "report", "tune", "benchmark"):
        path = os.path.join(ROOT, "scripts", f"{name}.py")
        source = open(path).read()
        assert "sys.path" not in source
        imported = [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
        assert imported == [f"keras_bmm.commands.{name}"] * 2
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_bmm")):
        for file in files:
            if file.endswith(".py"):
                text = open(os.path.join(folder, file)).read()
                assert "from scripts" not in text and "import scripts" not in text


def test_the_console_command_and_the_script_train_alike(tmp_path):
    """The installed `keras-bmm` (pip install -e .) and `python scripts/train.py`."""
    command = os.path.join(os.path.dirname(sys.executable), "keras-bmm")
    if not os.path.exists(command):
        pytest.fail("keras-bmm is not installed beside this Python: pip install -e .")
    argv = ["--dataset", "digits", "--noise", "0.8", "--method", "ce", "--epochs", "1"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    runs = {}
    for name, prefix in (
        ("console", [command, "train"]),
        ("script", [sys.executable, os.path.join(ROOT, "scripts", "train.py")]),
    ):
        run = tmp_path / name
        proc = subprocess.run(
            [*prefix, *argv, "--run-dir", str(run), "--output", str(tmp_path / f"{name}-export")],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "exported SavedModel" in proc.stdout
        runs[name] = np.genfromtxt(run / "history.csv", delimiter=",", names=True)["loss"]
    np.testing.assert_allclose(runs["console"], runs["script"], rtol=1e-5)
    bad = subprocess.run([command, "trian"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "Did you mean 'train'?" in bad.stderr
