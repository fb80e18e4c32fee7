"""A plain install (no extras) trains on the digits; each optional feature,
used without its extra, stops with an error that names the extra."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Runs argv[2:] as the script argv[1] with the extras' packages unimportable.
WITHOUT_EXTRAS = """
import runpy, sys
BLOCKED = ("keras_tuner", "tensorflow_datasets", "matplotlib")

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, Blocker())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_without_extras(tmp_path, script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, os.path.join(ROOT, "scripts", script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=600,
    )


def test_digits_train_without_any_extra(tmp_path):
    proc = run_without_extras(
        tmp_path,
        "train.py",
        "--noise",
        "0.8",
        "--epochs",
        "2",
        "--warmup-epochs",
        "1",
        "--lr-milestones",
        "--verbose",
        "0",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test accuracy: best" in proc.stdout
    name = "digits-m-dyr-h-0.8-epochs2-warmup-epochs1-no-lr-milestones"
    assert os.path.isfile(tmp_path / "exported_models" / name / "1" / "saved_model.pb")


def test_each_extra_is_named_when_missing(tmp_path):
    cifar = run_without_extras(
        tmp_path,
        "train.py",
        "--dataset",
        "cifar10",
        "--epochs",
        "1",
        "--warmup-epochs",
        "0",
        "--lr-milestones",
    )
    assert cifar.returncode == 1 and "pip install 'keras-bmm[tfds]'" in cifar.stderr
    plots = run_without_extras(
        tmp_path, "train.py", "--plots", "--epochs", "2", "--warmup-epochs", "1", "--lr-milestones"
    )
    assert plots.returncode == 1 and "pip install 'keras-bmm[plots]'" in plots.stderr
    assert not list(tmp_path.glob("runs/*/history.csv"))
    tune = run_without_extras(tmp_path, "tune.py", "--epochs", "2", "--max-trials", "1")
    assert tune.returncode == 1 and "pip install 'keras-bmm[tune]'" in tune.stderr
