"""The benchmark functions on tiny inputs: they run, and what they compare agrees."""

import json
import os

import numpy as np
import pytest

from keras_bmm.benchmarks import format_table, write_json
from keras_bmm.benchmarks.accuracy import RESULT_FILE, accuracy_run, collect, run_name
from keras_bmm.benchmarks.bmm import bmm_benchmark, keras_bmm_posterior, synthetic_losses
from keras_bmm.benchmarks.reference_em import posterior_reference
from keras_bmm.benchmarks.step import step_benchmark


def test_keras_bmm_and_numpy_posteriors_agree():
    """The benchmark times the same computation on both sides: the posteriors
    agree except where keras-bmm's table is made monotone (a few tail points)."""
    losses = synthetic_losses(20_000, seed=3)
    ours, reference = keras_bmm_posterior(losses), posterior_reference(losses)
    diff = np.abs(ours - reference)
    assert np.median(diff) < 1e-4
    assert np.mean(diff > 1e-2) < 0.01
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
    variants = (("ce", True, False), ("m-dyr-h", False, False), ("m-dyr-h", True, False))
    rows = step_benchmark(num_images=64, width=4, batch_size=32, repeats=1, variants=variants)
    assert [r["variant"] for r in rows] == ["ce", "m-dyr-h (reference passes)", "m-dyr-h (fast)"]
    assert rows[0]["epoch_vs_ce"] == 1.0
    for row in rows:
        assert row["epoch_s"] >= row["train_s"] > 0 and row["images_per_s"] > 0


def test_accuracy_table_collects_finished_runs(tmp_path):
    for name, method, noise in [("b", "m-dyr-h", 0.5), ("a", "ce", 0.8), ("c", "ce", 0.5)]:
        (tmp_path / name).mkdir()
        row = {"noise": noise, "method": method, "mode": "reference", "best_%": 50.0}
        (tmp_path / name / RESULT_FILE).write_text(json.dumps(row))
    (tmp_path / "unfinished").mkdir()
    rows = collect(str(tmp_path))
    assert [(r["noise"], r["method"]) for r in rows] == [(0.5, "ce"), (0.5, "m-dyr-h"), (0.8, "ce")]


def test_accuracy_run_reads_back_the_finished_run_of_the_chosen_step(tmp_path):
    from keras_bmm.training import TrainConfig, _config_dict

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
            json.dump(_config_dict(config), f)
        with open(os.path.join(config.run_dir, RESULT_FILE), "w") as f:
            json.dump({"run": name}, f)
    assert accuracy_run("m-dyr-h", 0.5, True, root)["run"] == "cpu-m-dyr-h-0.5-fast"
    assert accuracy_run("m-dyr-h", 0.5, False, root)["run"] == "cpu-m-dyr-h-0.5-reference"
    # The cpu preset takes the fast step.
    assert accuracy_run("m-dyr-h", 0.5, None, root)["run"] == "cpu-m-dyr-h-0.5-fast"
    assert accuracy_run("ce", 0.5, None, root)["run"] == "cpu-ce-0.5"
    assert accuracy_run("ce", 0.5, False, root)["run"] == "cpu-ce-0.5-reference"


def test_accuracy_run_refuses_a_finished_run_with_other_settings(tmp_path):
    from keras_bmm.training import TrainConfig, _config_dict

    run_dir = tmp_path / "cpu-m-dyr-h-0.5-fast"
    run_dir.mkdir()
    other = TrainConfig(preset="cpu", method="m-dyr-h", noise=0.5, noise_seed=1, epochs=30)
    config = _config_dict(other.resolved())
    config.update(name=run_dir.name, run_dir=str(run_dir))
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / RESULT_FILE).write_text(json.dumps({"run": "stale"}))
    with pytest.raises(ValueError, match=r"other settings \['epochs'\]"):
        accuracy_run("m-dyr-h", 0.5, None, str(tmp_path))
