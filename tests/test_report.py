"""The noise report, detection metrics and plots on a short digits run."""

import csv
import os

import numpy as np
import pytest

from keras_bmm import TrainConfig, train
from keras_bmm.mixture.detection import detection_metrics
from keras_bmm.report import REPORT_COLUMNS, noise_report

#: Measured on this run (digits, 60% symmetric noise, 12 epochs, seed 0): 1.00 of
#: the top fifth by p(noisy) are truly noisy; the test allows a wide margin.
MIN_TOP_PRECISION = 0.8


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        dataset="digits",
        noise=0.6,
        method="m-dyr-h",
        epochs=12,
        warmup_epochs=6,
        lr_milestones=(9,),
        run_dir=str(run_dir),
        verbose=0,
    )
    return train(config, export=False, plots=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_report_rows_and_columns(run):
    rows = read_csv(run.report_path)
    assert tuple(rows[0].keys()) == REPORT_COLUMNS
    assert len(rows) == run.noise.labels.size
    assert sorted(int(r["index"]) for r in rows) == list(range(run.noise.labels.size))
    p = np.array([float(r["p_noisy"]) for r in rows])
    assert np.all(np.diff(p) <= 0) and np.all((p >= 0) & (p <= 1))
    by_index = {int(r["index"]): r for r in rows}
    for i in (0, 7, 100):
        assert int(by_index[i]["given_label"]) == run.noise.labels[i]
        assert int(by_index[i]["clean_label"]) == run.noise.clean_labels[i]
        assert int(by_index[i]["is_noisy"]) == int(run.noise.noise_mask[i])


def test_most_suspicious_first_are_mostly_noisy(run):
    rows = read_csv(run.report_path)
    top = rows[: len(rows) // 5]
    precision = np.mean([int(r["is_noisy"]) for r in top])
    print(f"\nprecision of the top 20% by p(noisy): {precision:.3f}")
    assert precision > MIN_TOP_PRECISION


def test_corrected_label_follows_hard_bootstrapping(run):
    rows = read_csv(run.report_path)
    for r in rows:
        expected = r["predicted_label"] if float(r["p_noisy"]) > 0.5 else r["given_label"]
        assert r["corrected_label"] == expected


def test_detection_metrics_in_epoch_logs(run):
    h = run.history
    for key in ("bmm_auc", "bmm_precision", "bmm_recall", "true_noise_fraction"):
        assert len(h[key]) == 12, key
    assert h["true_noise_fraction"][-1] == pytest.approx(run.noise.achieved_rate)
    assert 0.0 < h["bmm_noise_fraction"][-1] < 1.0


def test_detection_metrics_against_hand_count():
    mask = np.array([1, 1, 0, 0, 0, 1], bool)
    p = np.array([0.9, 0.2, 0.7, 0.1, 0.0, 0.8])
    m = detection_metrics(mask, p)
    assert m["bmm_precision"] == pytest.approx(2 / 3)
    assert m["bmm_recall"] == pytest.approx(2 / 3)
    assert m["true_noise_fraction"] == 0.5
    assert np.isnan(detection_metrics(mask, np.zeros(6))["bmm_precision"])


def test_plots_are_png_files_of_sensible_size(run):
    names = sorted(os.path.basename(p) for p in run.plot_paths)
    assert names == [
        "losses_epoch_001.png",
        "losses_epoch_006.png",
        "losses_epoch_012.png",
        "training.png",
    ]
    for path in run.plot_paths:
        with open(path, "rb") as f:
            header = f.read(24)
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
        assert 500 <= width <= 2000 and 300 <= height <= 1500
        assert os.path.getsize(path) > 10_000


def test_report_needs_a_fitted_mixture():
    import keras

    from keras_bmm import BootstrappingModel
    from keras_bmm.models import small_cnn

    model = BootstrappingModel(small_cnn(10), method="m-dyr-h")
    model.build((None, 8, 8, 1))
    with pytest.raises(ValueError, match="No beta mixture has been fitted yet"):
        noise_report(model, np.zeros((4, 8, 8, 1), "float32"), np.zeros(4, int))
    del keras


def test_report_script_on_a_saved_run(run, tmp_path):
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "report.py")
    out = tmp_path / "report.csv"
    proc = subprocess.run(
        [sys.executable, script, "--run-dir", run.run_dir, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    again, first = read_csv(out), read_csv(run.report_path)
    assert [r["index"] for r in again] == [r["index"] for r in first]
    np.testing.assert_allclose(
        [float(r["p_noisy"]) for r in again], [float(r["p_noisy"]) for r in first], atol=1e-5
    )
    missing = subprocess.run(
        [sys.executable, script, "--run-dir", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 1 and "no keras-bmm run" in missing.stderr
