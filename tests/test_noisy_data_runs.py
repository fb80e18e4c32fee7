"""Runs on image files: no test split (val_split), resuming a streamed run, bad files."""

import csv
import json
import os
import re
import tempfile
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers.images import corrupt, write_folder

from keras_bmm import TrainConfig, train
from keras_bmm.data import load_dataset, read_manifest
from keras_bmm.data.splits import held_out_seed


def config(run_dir, data_dir, **kwargs):
    values = dict(
        dataset="folder",
        data_dir=str(data_dir),
        image_size=(16, 16),
        stream=True,
        model="small_cnn",
        width=8,
        epochs=2,
        warmup_epochs=1,
        batch_size=8,
        learning_rate=0.05,
        lr_milestones=(),
        noise=0.3,
        run_dir=str(run_dir),
        output=str(run_dir) + "-export",
        verbose=0,
    )
    values.update(kwargs)
    return TrainConfig(**values)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_val_split_without_test_folder_trains_reports_and_exports(tmp_path):
    root = write_folder(tmp_path / "scraped", ["ant", "bee", "cat"], per_class=8)
    result = train(config(tmp_path / "run", root, val_split=0.25))
    assert np.isnan(result.best_test_accuracy) and np.isnan(result.last_test_accuracy)
    accuracy = result.history["noisy_val_accuracy"]
    assert len(accuracy) == 2 and np.isfinite(accuracy).all()
    # Independently: the documented split (a permutation seeded by the run's val_seed,
    # round(0.25 * 24) held out) and the final model's accuracy on those images against
    # their noisy labels.
    held_out = np.sort(np.random.default_rng(held_out_seed(0)).permutation(24)[:6])
    memory = load_dataset("folder", root, image_size=(16, 16), stream=False)
    logits = result.model.backbone.predict(memory.train_images[held_out].astype("float32"))
    expected = np.mean(np.argmax(logits, 1) == result.noise.labels[held_out])
    assert result.last_noisy_val_accuracy == pytest.approx(expected, abs=1e-6)
    assert result.best_noisy_val_accuracy == pytest.approx(np.max(accuracy))
    # The report: one row per trained file, with its path, most suspicious first.
    rows = read_csv(result.report_path)
    assert len(rows) == 18
    assert {int(r["index"]) for r in rows} == set(range(24)) - set(held_out)
    assert all(r["file"] == memory.train_files[int(r["index"])] for r in rows)
    p = [float(r["p_noisy"]) for r in rows]
    assert p == sorted(p, reverse=True)
    # The corrected labels are a manifest that trains again.
    corrected = read_manifest(result.corrected_labels_path, memory.class_names)
    by_file = {r["file"]: int(r["corrected_index"]) for r in rows}
    assert [by_file[f] for f in corrected.files] == corrected.labels.tolist()
    # The export serves raw uint8 images of the training size.
    serve = tf.saved_model.load(result.export_path).signatures["serving_default"]
    out = serve(image=tf.constant(memory.train_images[:3]))
    np.testing.assert_allclose(out["probabilities"].numpy().sum(1), 1.0, atol=1e-5)
    with open(os.path.join(result.run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["epochs_run"] == 2 and np.isnan(metrics["best_test_accuracy"])
    assert metrics["last_noisy_val_accuracy"] == pytest.approx(expected, abs=1e-6)


class Crash(keras.callbacks.Callback):
    """A killed process: raises in the middle of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.crash_epoch, self.current = epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.crash_epoch and batch == 1:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("image_size", [(16, 16), (64, 64)])  # padded crop; resized crop
def test_resumed_streamed_run_ends_like_an_uninterrupted_one(tmp_path, image_size):
    root = write_folder(tmp_path / "ds", ["a", "b", "c"], per_class=6, sizes=(40, 90))
    settings = dict(epochs=4, augment=True, image_size=image_size, method="m-dyr-h")
    whole = train(config(tmp_path / "whole", root, **settings), export=False)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "split", root, **settings), export=False, callbacks=[Crash(2)])
    resumed = train(config(tmp_path / "split", root, **settings), export=False, resume=True)
    assert len(resumed.history["loss"]) == 4
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    for key in ("loss", "bmm_alpha_noisy", "bmm_auc"):
        np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-4)


def test_a_run_saved_before_val_seed_resumes_on_the_split_it_trained_on(tmp_path):
    """An older keras-bmm drew the held-out part with the run's seed and saved no
    val_seed: resumed, the run keeps that split, and its report its samples."""
    root = write_folder(tmp_path / "ds", ["a", "b", "c"], per_class=8)
    settings = dict(val_split=0.25, method="ce", epochs=2)
    legacy = dict(settings, val_seed=0)  # the seed an older keras-bmm drew with
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "run", root, **legacy), export=False, callbacks=[Crash(1)])
    path = tmp_path / "run" / "config.json"
    saved = json.loads(path.read_text())
    del saved["val_seed"]  # as an older keras-bmm saved it
    path.write_text(json.dumps(saved))
    resumed = train(config(tmp_path / "run", root, **settings), export=False, resume=True)
    held_out = np.random.default_rng(0).permutation(24)[:6]  # the split it started on
    rows = read_csv(resumed.report_path)
    assert sorted(int(r["index"]) for r in rows) == sorted(set(range(24)) - set(held_out))
    assert len(resumed.history["loss"]) == 2


class CorruptAfter(keras.callbacks.Callback):
    """Breaks an image file at the end of epoch 0, as a disk or a sync job might."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            corrupt(self.path)


def train_files(root, split="train"):
    return sorted(
        os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(root, split)) for f in fs
    )


ADVICE = (
    "Remove or replace them, or rerun with --skip-bad-files (skip_bad_files=True) to leave "
    "them out; they are then listed in the run folder's bad_files.csv."
)


@pytest.mark.parametrize("stream", [True, False])
def test_one_failed_run_names_every_bad_file_in_plain_words(tmp_path, stream):
    """Every undecodable file of both splits, each with its reason in plain words (not
    TensorFlow's `{{function_node ...}}`), and how to skip them; no run folder is left."""
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6, splits=("train", "test"))
    files, test_files = train_files(root), train_files(root, "test")
    corrupt(files[1])  # a PNG that is text
    corrupt(files[8], how="truncate")  # a JPEG cut in half
    open(files[10], "wb").close()  # an empty file
    corrupt(test_files[3])
    with pytest.raises(ValueError) as info:
        train(config(tmp_path / "run", root, stream=stream), export=False)
    assert str(info.value) == "\n".join(
        [
            "4 of the 24 image files of 'ds' do not decode:",
            f"  train '{files[1]}': not an image (not JPEG, PNG, GIF, BMP or WebP data)",
            f"  train '{files[8]}': truncated or corrupt JPEG data",
            f"  train '{files[10]}': the file is empty",
            f"  test '{test_files[3]}': not an image (not JPEG, PNG, GIF, BMP or WebP data)",
            ADVICE,
        ]
    )
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_a_file_that_breaks_during_training_is_named_with_the_others(tmp_path):
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6)
    files = train_files(root)
    later = os.path.join(root, "train", "b", "001.png")
    with pytest.raises(ValueError) as info:
        train(config(tmp_path / "run", root), export=False, callbacks=[CorruptAfter(later)])
    assert str(info.value) == "\n".join(
        [
            "1 of the 12 image files of 'ds' do not decode:",
            f"  train '{later}': not an image (not JPEG, PNG, GIF, BMP or WebP data)",
            ADVICE,
        ]
    )
    assert later in files


@pytest.mark.parametrize("stream", [True, False])
def test_many_bad_files_are_counted_and_all_listed_in_a_csv_file(tmp_path, monkeypatch, stream):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=15)
    files = train_files(root)
    for path in files[:25]:
        corrupt(path)
    with pytest.raises(ValueError) as info:
        train(config(tmp_path / "run", root, stream=stream), export=False)
    lines = str(info.value).splitlines()
    listed = os.path.join(tmp_path, "temp", "keras-bmm", "undecodable-ds.csv")
    assert lines[0] == "25 of the 30 image files of 'ds' do not decode:"
    assert lines[1:21] == [
        f"  train '{path}': not an image (not JPEG, PNG, GIF, BMP or WebP data)"
        for path in files[:20]
    ]
    assert lines[21:] == [
        f"  ... and 5 more: all 25 are listed in {listed} (split,path,reason).",
        ADVICE,
    ]
    rows = read_csv(listed)
    assert [r["path"] for r in rows] == files[:25]
    assert {(r["split"], r["reason"]) for r in rows} == {
        ("train", "not an image (not JPEG, PNG, GIF, BMP or WebP data)")
    }
    assert os.listdir(os.path.dirname(listed)) == ["undecodable-ds.csv"]  # written whole
    assert sorted(os.listdir(tmp_path)) == ["ds", "temp"]


@pytest.mark.parametrize("stream", [True, False])
def test_skip_bad_files_with_no_file_that_decodes_says_so_and_leaves_nothing(tmp_path, stream):
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=3)
    files = train_files(root)
    for path in files:
        corrupt(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy divide warning first
        with pytest.raises(ValueError) as info:
            train(config(tmp_path / "run", root, stream=stream, skip_bad_files=True), export=False)
    assert str(info.value) == "\n".join(
        [
            "None of the 6 training image files of 'ds' decodes, so skip_bad_files "
            "(--skip-bad-files) leaves nothing to train on:",
            *(f"  train '{p}': not an image (not JPEG, PNG, GIF, BMP or WebP data)" for p in files),
            "Check the data folder or manifest: none of these files is an image.",
        ]
    )
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_bad_file_of_the_held_out_part_stops_the_run_with_its_path(tmp_path):
    """A file of the val_split part, which only the held-out evaluation reads, is
    named as a training file is."""
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6)
    table = load_dataset("folder", root, image_size=(16, 16), stream=True).train_files
    # The documented split: a permutation seeded by the val_seed of seed 0.
    held_out = np.sort(np.random.default_rng(held_out_seed(0)).permutation(12)[:3])
    bad = table[held_out[1]]
    with pytest.raises(ValueError, match=rf"(?s)do not decode:.*'{re.escape(bad)}'"):
        train(
            config(tmp_path / "run", root, val_split=0.25, method="ce"),
            export=False,
            callbacks=[CorruptAfter(bad)],
        )


@pytest.mark.parametrize("stream,val_split", [(True, None), (False, None), (True, 0.25)])
def test_skip_bad_files_leaves_them_out_without_moving_other_samples(tmp_path, stream, val_split):
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6)
    table = load_dataset("folder", root, image_size=(16, 16), stream=True).train_files
    corrupt(table[1])
    corrupt(table[8], how="truncate")  # a JPEG cut in half
    later = table[7]
    callbacks = [CorruptAfter(later)] if stream else []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(
            config(
                tmp_path / "run",
                root,
                stream=stream,
                skip_bad_files=True,
                method="ce",
                val_split=val_split,
            ),
            export=False,
            callbacks=callbacks,
        )
    # An epoch of unknown length (files left out) ends with its data: not a warning.
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    bad = read_csv(os.path.join(result.run_dir, "bad_files.csv"))
    expected = [1, 7, 8] if stream else [1, 8]
    assert [int(r["index"]) for r in bad] == expected
    assert [r["path"] for r in bad] == [table[i] for i in expected]
    assert {r["split"] for r in bad} == {"train"}
    assert result.history["skipped_files"][-1] == len(expected)
    # Indices are the full training set's, held out or not (the documented split).
    held_out = np.random.default_rng(held_out_seed(0)).permutation(12)[:3] if val_split else []
    trained = sorted(set(range(12)) - set(held_out))
    rows = read_csv(result.report_path)
    assert sorted(int(r["index"]) for r in rows) == sorted(set(trained) - set(expected))
    assert all(r["file"] == table[int(r["index"])] for r in rows)
    # The mixture saw every good sample of the last epoch once, and no bad one.
    losses, counts = result.model.noise_state.recorded_losses()
    unseen = [trained[i] for i in np.flatnonzero(counts == 0)]
    assert unseen == [i for i in expected if i in trained]
    assert set(counts[counts > 0]) == {1}


def test_reference_arrangement_skips_bad_files_in_its_tracking_pass(tmp_path):
    """fast=False (as --no-fast and the paper preset) fits the mixture on a pass over
    the training set after every epoch, which leaves the bad files out too."""
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6)
    table = load_dataset("folder", root, image_size=(16, 16), stream=True).train_files
    corrupt(table[5])
    result = train(
        config(tmp_path / "run", root, skip_bad_files=True, fast=False, method="m-dyr-h"),
        export=False,
    )
    assert not result.config.fast and result.config.epoch_loss_pass
    assert len(result.history["loss"]) == 2 and np.isfinite(result.history["loss"]).all()
    fit = result.model.noise_state.last_fit
    assert fit.epoch == 1
    np.testing.assert_array_equal(np.flatnonzero(~fit.seen), [5])
    bad = read_csv(os.path.join(result.run_dir, "bad_files.csv"))
    assert [(int(r["index"]), r["path"]) for r in bad] == [(5, table[5])]


def test_a_resumed_run_reads_its_images_as_it_started(tmp_path, monkeypatch):
    """In memory or streamed is chosen by the memory free when a run starts: the run
    saves that choice, and a resume keeps it whatever is free then."""
    from keras_bmm.data import memory

    root = write_folder(tmp_path / "scraped", ["ant", "bee"], per_class=6)
    settings = dict(stream=None, epochs=1, method="ce", warmup_epochs=0)
    monkeypatch.setattr(memory, "available_bytes", lambda: 0)  # nothing free: streamed
    first = train(config(tmp_path / "run", root, **settings), export=False)
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["stream"] is True and first.config.stream is True
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 40)  # plenty: in memory
    again = train(config(tmp_path / "run", root, **settings), export=False, resume=True)
    assert again.config.stream is True
    fresh = train(config(tmp_path / "other", root, **settings), export=False)
    assert fresh.config.stream is False


def test_a_run_saved_without_its_choice_keeps_the_first_resumes(tmp_path, monkeypatch):
    """A run saved before runs recorded the choice (`"stream": null` in its config.json)
    chooses once, at its next resume, and writes that choice back: later resumes keep
    it whatever memory is free then."""
    from keras_bmm.data import memory

    root = write_folder(tmp_path / "scraped", ["ant", "bee"], per_class=6)
    settings = dict(stream=None, epochs=1, method="ce", warmup_epochs=0)
    path = tmp_path / "run" / "config.json"
    train(config(tmp_path / "run", root, **settings), export=False)
    old = json.loads(path.read_text())
    path.write_text(json.dumps({**old, "stream": None}))  # as an older keras-bmm saved it
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 40)  # plenty: in memory
    first = train(config(tmp_path / "run", root, **settings), export=False, resume=True)
    assert first.config.stream is False
    assert json.loads(path.read_text()) == {**old, "stream": False}
    monkeypatch.setattr(memory, "available_bytes", lambda: 0)  # nothing free: would stream
    again = train(config(tmp_path / "run", root, **settings), export=False, resume=True)
    assert again.config.stream is False
    assert json.loads(path.read_text())["stream"] is False
