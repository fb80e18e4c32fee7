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
    indices = ("given_index", "predicted_index", "target_index", "corrected_index", "clean_index")
    assert tuple(rows[0].keys()) == (*REPORT_COLUMNS, *indices)
    # Labels are class names (the digits' are "0".."9"), their indices beside.
    assert all(r["given_label"] == r["given_index"] for r in rows)
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


def test_target_label_follows_hard_bootstrapping(run):
    rows = read_csv(run.report_path)
    for r in rows:
        expected = r["predicted_label"] if float(r["p_noisy"]) > 0.5 else r["given_label"]
        assert r["target_label"] == expected
        assert r["target_index"] == str(int(r["target_label"]))


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
    from keras_bmm.networks import small_cnn

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


def test_report_bounds_and_losses_come_from_one_inference_mode_pass(run):
    """The run trained in fast mode (mixtures fitted on training-mode losses); the
    report's normalised losses use the percentiles of its own inference-mode losses."""
    from keras_bmm.data import load_digits

    images = load_digits().train_images
    logits = run.model.backbone.predict(images, verbose=0).astype(np.float64)
    logits -= logits.max(1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    labels = run.noise.labels
    losses = -log_p[np.arange(labels.size), labels]
    low, high = np.percentile(losses, [5, 95])
    rows = {int(r["index"]): r for r in read_csv(run.report_path)}
    normalized = np.array([float(rows[i]["normalized_loss"]) for i in range(labels.size)])
    inside = (normalized > 0.01) & (normalized < 0.99)
    assert inside.sum() > labels.size // 2
    np.testing.assert_allclose(
        normalized[inside], ((losses - low) / (high - low))[inside], rtol=1e-3, atol=1e-4
    )
    p = np.array([float(rows[i]["p_noisy"]) for i in range(labels.size)])
    order = np.argsort(losses)
    assert np.all(np.diff(p[order]) >= -1e-9)  # p(noisy) is a function of the loss


def fitted_model(backbone, method, images, labels, **kwargs):
    from keras_bmm import BootstrappingModel
    from keras_bmm.mixture import fit_losses

    model = BootstrappingModel(backbone, method=method, num_samples=len(labels), **kwargs)
    model.compile(optimizer="sgd")
    model.build((None, *images.shape[1:]))
    spread = np.random.default_rng(0).gamma(2.0, 0.5, len(labels))
    model.noise_state.set_mixture(*fit_losses(spread))
    return model


def test_report_takes_the_class_count_from_the_logits_of_a_subclassed_backbone():
    import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.dense = keras.layers.Dense(4)

        def call(self, x, training=None):
            return self.dense(self.flatten(x))

    rng = np.random.default_rng(1)
    images = rng.normal(size=(30, 3, 3, 1)).astype("float32")
    labels = rng.integers(0, 4, 30)
    model = fitted_model(Net(), "m-dyr-h", images, labels, warmup_epochs=0)
    rows = noise_report(model, images, labels)
    assert len(rows) == 30 and {r["given_label"] for r in rows} <= {0, 1, 2, 3}
    predicted = np.argmax(model.backbone(images).numpy(), 1)
    assert [r["predicted_label"] for r in rows] == predicted.tolist()


def test_md_dyr_sh_targets_use_the_runs_final_temperature():
    """After the temperature's fall (1 -> 0.001) the soft target is the hard one:
    the target label must follow (1 - B) y + B softmax(logits / 0.001)."""
    import keras

    rng = np.random.default_rng(2)
    images = rng.normal(size=(300, 6)).astype("float32")
    labels = rng.integers(0, 5, 300)
    backbone = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                5, kernel_initializer=keras.initializers.RandomNormal(0, 0.6, seed=3)
            ),
        ]
    )
    model = fitted_model(
        backbone,
        "md-dyr-sh",
        images,
        labels,
        warmup_epochs=0,
        dynamic_epochs=1,
        temperature_epochs=3,
    )
    model.noise_state.set_epoch(7)  # past warm-up + dynamic mixup + the temperature's fall
    rows = sorted(noise_report(model, images, labels), key=lambda r: r["index"])
    p = np.array([r["p_noisy"] for r in rows])[:, None]
    logits = backbone(images).numpy().astype(np.float64)

    def corrected(temperature):
        scaled = logits / temperature
        soft = np.exp(scaled - scaled.max(1, keepdims=True))
        soft /= soft.sum(1, keepdims=True)
        return np.argmax((1 - p) * np.eye(5)[labels] + p * soft, axis=1)

    final, first = corrected(1e-3), corrected(1.0)
    assert (final != first).sum() >= 5  # the temperature matters for these samples
    np.testing.assert_array_equal([r["target_label"] for r in rows], final)


def test_targets_follow_the_start_the_rule_chose():
    """An automatic warm-up that never started: every target is the given label,
    whatever p(noisy) says; once it started, MD-DYR-SH's temperature counts from
    the chosen start, not from epoch 0."""
    import keras

    rng = np.random.default_rng(4)
    images = rng.normal(size=(200, 6)).astype("float32")
    labels = rng.integers(0, 5, 200)
    backbone = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                5, kernel_initializer=keras.initializers.RandomNormal(0, 0.6, seed=3)
            ),
        ]
    )
    model = fitted_model(backbone, "md-dyr-sh", images, labels, warmup_epochs="auto")
    model.noise_state.set_epoch(40)
    rows = sorted(noise_report(model, images, labels), key=lambda r: r["index"])
    assert [r["target_label"] for r in rows] == labels.tolist()
    assert max(r["p_noisy"] for r in rows) > 0.9  # not for want of likely-noisy samples
    # Started at epoch 30 with 5 epochs of dynamic mixup: at epoch 36 the soft
    # targets are at the temperature's first step (1.0), not its end.
    model.noise_state.choose_start(30)
    model.noise_state.set_epoch(36)
    rows = sorted(noise_report(model, images, labels), key=lambda r: r["index"])
    p = np.array([r["p_noisy"] for r in rows])[:, None]
    logits = backbone(images).numpy().astype(np.float64)
    soft = np.exp(logits - logits.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    expected = np.argmax((1 - p) * np.eye(5)[labels] + p * soft, axis=1)
    np.testing.assert_array_equal([r["target_label"] for r in rows], expected)
