"""The benchmark functions on tiny inputs: they run, and what they compare agrees."""

import json
import os

import numpy as np
import pytest

from keras_bmm.benchmarks.accuracy import RESULT_FILE, accuracy_run, collect, run_name
from keras_bmm.benchmarks.bmm import bmm_benchmark, keras_bmm_posterior, synthetic_losses
from keras_bmm.benchmarks.common import format_table, write_json
from keras_bmm.benchmarks.reference import reference_posterior as posterior_reference
from keras_bmm.benchmarks.step import step_benchmark
from keras_bmm.benchmarks.stream import COLUMNS as STREAM_COLUMNS
from keras_bmm.benchmarks.stream import make_collection, stream_benchmark


def test_posteriors_agree_with_the_reference_pipeline_within_its_lookup_bins():
    """keras-bmm's p(noisy) against the reference code's pipeline as written
    (`track_training_loss` -> `BetaMixture1D` -> `create_lookup` ->
    `look_lookup`, in tests/reference.py).

    Tolerance, and why. Both fit the same EM (tests/test_mixture.py checks
    the parameters to 1e-4), so they differ only in how B is read:

    - the reference reads a 100-entry table by `floor(100 x)`, whose entry i
      was computed at `x = i / 99`: the point it reads lies within
      1/99 < 0.0102 of x; keras-bmm interpolates a 1001-point table at x;
    - both make the curve non-decreasing past its mode with a running maximum.

    So each method's B for a sample at normalised loss x lies between the
    minimum of the reference mixture's own posterior within 0.0102 of x and
    its running maximum up to x + 0.0102, up to 1e-3 for the normalisation
    details (the reference adds 1e-5 to the lower bound and remaps only
    values at or beyond 0 and 1, moving x by far less than 0.0102).
    """
    from scipy.ndimage import minimum_filter1d

    from keras_bmm.benchmarks.reference import compute_probabilities_batch, track_training_loss

    losses = synthetic_losses(20_000, seed=3)
    ours = keras_bmm_posterior(losses)
    mixture, max_loss, min_loss = track_training_loss(losses)
    reference = compute_probabilities_batch(losses, mixture, max_loss, min_loss)
    assert np.array_equal(posterior_reference(losses), reference)
    grid = np.linspace(1e-12, 1 - 1e-12, 20_001)
    raw = mixture.posterior(grid, 1)
    window = int(np.ceil(0.0102 * (grid.size - 1)))
    x = np.clip((losses - min_loss) / (max_loss - min_loss + 1e-6), 0.0, 1.0)
    at = np.rint(x * (grid.size - 1)).astype(int)
    low = minimum_filter1d(raw, 2 * window + 1, mode="nearest")[at] - 1e-3
    high = np.maximum.accumulate(raw)[np.minimum(at + window, grid.size - 1)] + 1e-3
    for b in (ours, reference):
        assert np.all((b >= low) & (b <= high))
    # The window is narrow where it matters: the median sample differs by little.
    assert np.median(np.abs(ours - reference)) < 0.01
    # and the posterior separates the two synthetic populations
    assert ours[losses > 3].mean() > 0.8 and ours[losses < 0.2].mean() < 0.1


def test_bmm_benchmark_rows(tmp_path):
    rows = bmm_benchmark(sizes=(2_000,), repeats=1)
    assert rows[0]["losses"] == 2_000 and rows[0]["keras_bmm_s"] > 0
    path = tmp_path / "bmm.json"
    write_json(str(path), "bmm", rows, {"repeats": 1})
    saved = json.loads(path.read_text())
    assert saved["rows"][0]["losses"] == 2_000 and "tensorflow" in saved["meta"]
    assert "numpy_over_keras_bmm" in format_table(rows, list(rows[0]))
    markdown = format_table(rows, ["losses", "keras_bmm_s"], markdown=True).splitlines()
    assert markdown[:2] == ["| losses | keras_bmm_s |", "|---|---|"] and len(markdown) == 3


def test_step_benchmark_rows():
    variants = (
        ("ce", True, False),
        ("m-dyr-h", False, False),
        ("m-dyr-h", True, False),
        ("m-dyr-h", True, False, 2),
        ("pass", True, False),
    )
    rows = step_benchmark(num_images=64, width=4, batch_size=32, repeats=1, variants=variants)
    assert [r["variant"] for r in rows] == [
        "ce",
        "m-dyr-h (reference passes)",
        "m-dyr-h (fast)",
        "m-dyr-h (fast, between refreshes)",
        "un-mixed pass alone",
        *(f"m-dyr-h (fast, targets every {k} epochs; bootstrapping average)" for k in (2, 4, 8)),
    ]
    fast, between = rows[2]["epoch_s_all"][0], rows[3]["epoch_s_all"][0]
    assert rows[6]["epoch_s_all"] == [pytest.approx((fast + 3 * between) / 4)]
    assert rows[0]["epoch_vs_ce"] == 1.0
    for row in rows:
        assert row["epoch_s"] >= row["train_s"] > 0 and row["images_per_s"] > 0


def test_record_benchmark_rows():
    from keras_bmm.benchmarks.record import record_benchmark

    rows = record_benchmark(sizes=(100, 5_000), width=2, batch_size=8, steps=2, repeats=1)
    assert [r["recorded_samples"] for r in rows] == [100, 5_000]
    assert rows[0]["vs_first"] == 1.0 and all(r["step_ms"] > 0 for r in rows)


def test_accuracy_table_collects_finished_runs(tmp_path):
    for name, method, noise in [("b", "m-dyr-h", 0.5), ("a", "ce", 0.8), ("c", "ce", 0.5)]:
        (tmp_path / name).mkdir()
        row = {"noise": noise, "method": method, "mode": "reference", "best_%": 50.0}
        (tmp_path / name / RESULT_FILE).write_text(json.dumps(row))
    (tmp_path / "unfinished").mkdir()
    rows = collect(str(tmp_path))
    assert [(r["noise"], r["method"]) for r in rows] == [(0.5, "ce"), (0.5, "m-dyr-h"), (0.8, "ce")]


def test_accuracy_run_reads_back_the_finished_run_of_the_chosen_step(tmp_path, monkeypatch):
    from keras_bmm.training import TrainConfig

    monkeypatch.setenv("KERAS_BMM_CIFAR10_ARCHIVE", "cifar10-jpeg.tar.gz")
    root = str(tmp_path)
    for method, fast in [("m-dyr-h", True), ("m-dyr-h", False), ("ce", True), ("ce", False)]:
        name = run_name(method, 0.5, fast)
        config = TrainConfig(
            preset="cpu",
            method=method,
            noise=0.5,
            noise_seed=1,
            fast=fast,
            name=name,
            run_dir=os.path.join(root, name),
        ).resolved()
        os.makedirs(config.run_dir)
        with open(os.path.join(config.run_dir, "config.json"), "w") as f:
            json.dump(config.as_dict(), f)
        with open(os.path.join(config.run_dir, RESULT_FILE), "w") as f:
            json.dump({"run": name}, f)
    assert accuracy_run("m-dyr-h", 0.5, True, root)["run"] == "cpu-m-dyr-h-0.5-fast"
    assert accuracy_run("m-dyr-h", 0.5, False, root)["run"] == "cpu-m-dyr-h-0.5-reference"
    # The cpu preset takes the fast step.
    assert accuracy_run("m-dyr-h", 0.5, None, root)["run"] == "cpu-m-dyr-h-0.5-fast"
    assert accuracy_run("ce", 0.5, None, root)["run"] == "cpu-ce-0.5"
    assert accuracy_run("ce", 0.5, False, root)["run"] == "cpu-ce-0.5-reference"


def test_accuracy_run_refuses_a_finished_run_with_other_settings(tmp_path, monkeypatch):
    from keras_bmm.training import TrainConfig

    monkeypatch.setenv("KERAS_BMM_CIFAR10_ARCHIVE", "cifar10-jpeg.tar.gz")
    run_dir = tmp_path / "cpu-m-dyr-h-0.5-fast"
    run_dir.mkdir()
    other = TrainConfig(preset="cpu", method="m-dyr-h", noise=0.5, noise_seed=1, epochs=30)
    config = other.resolved().as_dict()
    config.update(name=run_dir.name, run_dir=str(run_dir))
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / RESULT_FILE).write_text(json.dumps({"run": "stale"}))
    with pytest.raises(ValueError, match=r"other settings \['epochs'\]"):
        accuracy_run("m-dyr-h", 0.5, None, str(tmp_path))


def test_stream_benchmark_rows(tmp_path):
    """Each data path measured in its own process on a tiny generated JPEG collection."""
    rows = stream_benchmark(
        sizes=(24,),
        image_size=32,
        batch_size=8,
        width=4,
        pipeline_batches=2,
        step_repeats=1,
        step_model="tiny_cnn",
        step_width=4,
        root=str(tmp_path),
    )
    assert [(r["images"], r["path"]) for r in rows] == [(24, "streamed"), (24, "in memory")]
    for row in rows:
        assert list(row) == STREAM_COLUMNS and row["step_model"] == "tiny_cnn w4"
        assert all(row[c] > 0 for c in STREAM_COLUMNS if c not in ("path", "step_model"))
    files = sorted(f for _, _, names in os.walk(tmp_path / "jpeg-24" / "train") for f in names)
    assert len(files) == 24 and all(f.endswith(".jpg") for f in files)
    # Reused when complete: nothing is rewritten.
    stamp = os.path.getmtime(tmp_path / "jpeg-24" / "train" / "class00" / "000000.jpg")
    make_collection(str(tmp_path / "jpeg-24"), 24)
    assert os.path.getmtime(tmp_path / "jpeg-24" / "train" / "class00" / "000000.jpg") == stamp
