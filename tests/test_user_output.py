"""What a user with their own images sees: the terminal, the report, the history."""

import csv
import os
import subprocess
import sys

import numpy as np
from helpers.images import corrupt, write_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(tmp_path, *argv):
    """`scripts/train.py` in a fresh process without TF_CPP_MIN_LOG_LEVEL, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["CUDA_VISIBLE_DEVICES"] = ""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "train.py"), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=900,
    )


def test_a_folder_run_prints_what_it_knows_and_nothing_else(tmp_path):
    """A folder of the user's own labels, two files that do not decode, skipped:
    no TensorFlow start-up noise, short epoch lines, the skipped files said once,
    no truth it does not know, and a report with class names."""
    root = write_folder(tmp_path / "own", ["cat", "dog", "fox"], per_class=12)
    files = sorted(os.listdir(os.path.join(root, "train", "cat")))
    corrupt(os.path.join(root, "train", "cat", files[0]))
    corrupt(os.path.join(root, "train", "dog", files[1]), how="truncate")
    run = tmp_path / "run"
    argv = ["--dataset", "folder", "--data-dir", root, "--image-size", "16", "16"]
    argv += ["--model", "small_cnn", "--width", "8", "--epochs", "5", "--val-split", "0.2"]
    argv += ["--skip-bad-files", "--run-dir", str(run), "--no-export", "--verbose", "2"]
    proc = run_script(tmp_path, *argv)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out, err = proc.stdout, proc.stderr
    for noise in ("cuInit", "oneDNN", "cuda drivers", "rendezvous", "OUT_OF_RANGE", "ran out of"):
        assert noise not in out + err, noise
    epoch_lines = [line for line in out.splitlines() if " - loss: " in line]
    assert len(epoch_lines) == 5 and max(len(line) for line in epoch_lines) < 200
    assert "bmm_alpha" not in out and "held_out_accuracy" in epoch_lines[0]
    assert (out + err).count("have no loss recorded") <= 1
    summary = out[out.index("dataset=folder") :]
    for unknown in ("label noise", "ROC AUC", "test accuracy", "nan", "resampled"):
        assert unknown not in summary, unknown
    assert "estimated share of wrong labels" in summary and "bootstrapping: " in summary
    assert "label suggestions:" in summary and "noise report" in summary
    with open(run / "noise_report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert "clean_label" not in rows[0] and "is_noisy" not in rows[0]
    assert {r["given_label"] for r in rows} <= {"cat", "dog", "fox"}
    assert {r["given_index"] for r in rows} <= {"0", "1", "2"}
    with open(run / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in history] == [1, 2, 3, 4, 5]  # as Keras counts them
    assert "bmm_auc" not in history[0] and "true_noise_fraction" not in history[0]


def test_labels_say_how_many_they_replaced(tmp_path):
    from keras_bmm.data import load_dataset, write_manifest

    root = write_folder(tmp_path / "own", ["cat", "dog"], per_class=4)
    data = load_dataset("folder", root, image_size=(16, 16))
    labels = np.array(data.train_labels)
    labels[:3] = 1 - labels[:3]
    manifest = write_manifest(str(tmp_path / "m.csv"), data.train_files, labels, data.class_names)
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        load_dataset("folder", root, image_size=(16, 16), labels=manifest)
    assert f"Labels from {manifest}: 3 of 8 training labels replaced." in printed.getvalue()
