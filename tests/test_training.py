"""Presets, the run folder, and resuming a stopped run."""

import csv
import json
import os

import keras
import numpy as np
import pytest

from keras_bmm import TrainConfig, train
from keras_bmm.training.train_presets import PRESETS


class Crash(keras.callbacks.Callback):
    """Simulates a killed process: raises in the middle of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.crash_epoch = epoch
        self.current = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.crash_epoch and batch == 2:
            raise KeyboardInterrupt("simulated crash")


def config(run_dir, **kwargs):
    values = dict(
        dataset="digits",
        noise=0.5,
        method="m-dyr-h",
        epochs=5,
        warmup_epochs=2,
        lr_milestones=(3,),
        run_dir=str(run_dir),
        verbose=0,
    )
    values.update(kwargs)
    return TrainConfig(**values)


def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path):
    """Stopped in epoch 4 (after 3 complete epochs) and resumed, a run ends with
    the same weights, BMM state, labels and history as an uninterrupted run:
    data order, augmentation and mixup draws depend only on the seed and epoch,
    and the checkpoint holds the optimizer, BMM and random-generator state."""
    whole = train(config(tmp_path / "whole"), export=False)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "split"), export=False, callbacks=[Crash(3)])
    with open(tmp_path / "split" / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 3
    resumed = train(config(tmp_path / "split"), export=False, resume=True)
    assert len(resumed.history["val_accuracy"]) == 5
    # Every epoch's time is in the history, the stopped invocation's included.
    seconds = resumed.history["epoch_seconds"]
    assert len(seconds) == 5 and all(s > 0 for s in seconds)
    np.testing.assert_array_equal(resumed.noise.labels, whole.noise.labels)
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    np.testing.assert_allclose(
        resumed.history["bmm_alpha_noisy"], whole.history["bmm_alpha_noisy"], rtol=1e-4
    )


def test_resuming_a_run_whose_history_has_no_epoch_times(tmp_path):
    """A run begun before the history recorded `epoch_seconds` resumes with
    its own columns: CSVLogger appends without a header, so a new column
    would shift every value after it."""
    run = tmp_path / "old"
    with pytest.raises(KeyboardInterrupt):
        train(config(run, epochs=4), export=False, callbacks=[Crash(2)])
    path = run / "history.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="") as f:
        columns = [c for c in rows[0] if c != "epoch_seconds"]
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    resumed = train(config(run, epochs=4), export=False, resume=True)
    assert "epoch_seconds" not in resumed.history
    assert len(resumed.history["loss"]) == 4
    assert all(0 < loss < 10 for loss in resumed.history["loss"])
    np.testing.assert_allclose(resumed.history["bmm_auc"][:2], [float(r["bmm_auc"]) for r in rows])


def test_resuming_on_a_validation_epoch_keeps_the_history_columns(tmp_path):
    """The first run's first epoch has no validation logs, the resumed run's
    first epoch has: the appended rows still line up with the header."""
    whole = train(config(tmp_path / "whole", epochs=4, eval_every=2), export=False)
    run = tmp_path / "split"
    with pytest.raises(KeyboardInterrupt):
        train(config(run, epochs=4, eval_every=2), export=False, callbacks=[Crash(1)])
    resumed = train(config(run, epochs=4, eval_every=2), export=False, resume=True)
    for key in ("loss", "val_loss", "bmm_auc"):
        np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-3, err_msg=key)


def test_run_folder_contents_and_refusals(tmp_path):
    run = tmp_path / "run"
    result = train(config(run, epochs=3, warmup_epochs=1), export=False)
    for name in ("config.json", "noisy_labels.npz", "history.csv", "metrics.json", "backup"):
        assert os.path.exists(run / name), name
    with open(run / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["epochs_run"] == 3
    assert metrics["last_test_accuracy"] == pytest.approx(result.last_test_accuracy)
    assert len(result.history["bmm_alpha_noisy"]) == 3
    with pytest.raises(FileExistsError, match="already holds a run; resume it or overwrite"):
        train(config(run, epochs=3, warmup_epochs=1), export=False)
    with pytest.raises(ValueError, match=r"settings differ .*: --epochs 3 \(here 4\)\. Resume"):
        train(config(run, epochs=4, warmup_epochs=1), export=False, resume=True)
    with pytest.raises(FileNotFoundError, match="No run to resume"):
        train(config(tmp_path / "none"), export=False, resume=True)


def test_methods_share_saved_labels(tmp_path):
    first = train(config(tmp_path / "a", epochs=1, warmup_epochs=0, method="ce"), export=False)
    second = train(
        config(
            tmp_path / "b",
            epochs=1,
            warmup_epochs=0,
            method="mixup",
            noise_seed=99,
            noisy_labels=str(tmp_path / "a" / "noisy_labels.npz"),
        ),
        export=False,
    )
    np.testing.assert_array_equal(first.noise.labels, second.noise.labels)


def test_presets_and_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BMM_CIFAR10_ARCHIVE", "cifar10-jpeg.tar.gz")
    paper = TrainConfig(preset="paper").resolved()
    assert (paper.dataset, paper.epochs, paper.batch_size, paper.learning_rate) == (
        "cifar10",
        300,
        128,
        0.1,
    )
    assert (paper.lr_milestones, paper.warmup_epochs, paper.weight_decay) == ((100, 250), 105, 1e-4)
    assert (paper.mixup_alpha, paper.reg_weight, paper.width) == (32.0, 1.0, 64)
    overridden = TrainConfig(preset="paper", epochs=150, dataset="cifar100").resolved()
    assert (overridden.epochs, overridden.dataset, overridden.warmup_epochs) == (
        150,
        "cifar100",
        105,
    )
    cpu = TrainConfig(preset="cpu").resolved()
    assert cpu.data_dir == "cifar10-jpeg.tar.gz"  # from the environment, no machine path
    assert cpu.dataset == "folder" and cpu.per_class == PRESETS["cpu"]["per_class"]
    # Bootstrapping starts 6 epochs after the first drop (1-based), as in the paper.
    assert cpu.warmup_epochs == cpu.lr_milestones[0] + 5
    assert paper.warmup_epochs == paper.lr_milestones[0] + 5
    # A user's own images (folder, manifest) choose the start themselves; the
    # cpu preset keeps its fixed one, the comparison's baseline.
    (tmp_path / "labels.csv").write_text("path,label\n")
    for dataset, data_dir in (("folder", tmp_path), ("manifest", tmp_path / "labels.csv")):
        own = TrainConfig(dataset=dataset, data_dir=str(data_dir)).resolved()
        assert (own.warmup_epochs, own.epochs) == ("auto", 300)
    assert (
        TrainConfig(dataset="folder", data_dir="x", warmup_epochs=20).resolved().warmup_epochs == 20
    )
    # A preset's data settings stay with its own dataset.
    other = TrainConfig(preset="cpu", dataset="cifar10").resolved()
    assert other.data_dir is None and other.per_class is None
    with pytest.raises(ValueError, match="Unknown preset 'gpu'"):
        TrainConfig(preset="gpu").resolved()
    # The paper preset reproduces the reference code's passes; cpu and the
    # default take the fast step.
    assert not paper.fast and cpu.fast and TrainConfig().resolved().fast
    assert not TrainConfig(preset="cpu", fast=False).resolved().fast
    # The mixture is fitted on an epoch pass whenever the steps record no losses.
    assert paper.epoch_loss_pass and not cpu.epoch_loss_pass
    assert not TrainConfig().resolved().epoch_loss_pass
    assert TrainConfig(fast=True, epoch_loss_pass=True).resolved().epoch_loss_pass
    assert TrainConfig().resolved().augment is None  # the dataset decides
    monkeypatch.delenv("KERAS_BMM_CIFAR10_ARCHIVE")
    with pytest.raises(ValueError, match="data_dir is required.*KERAS_BMM_CIFAR10_ARCHIVE"):
        TrainConfig(preset="cpu").resolved()


def test_eval_every_evaluates_the_last_epoch(tmp_path):
    result = train(config(tmp_path / "run", method="ce", epochs=4, eval_every=2), export=False)
    accuracy = np.asarray(result.history["val_accuracy"])
    assert np.isnan(accuracy[[0, 2]]).all() and np.isfinite(accuracy[[1, 3]]).all()
    assert result.last_test_accuracy == accuracy[3]
    assert result.best_test_accuracy == np.nanmax(accuracy)
    assert len(result.history["bmm_auc"]) == 4  # the mixture is still fitted every epoch
    with pytest.raises(ValueError, match="multiple of eval_every"):
        TrainConfig(epochs=5, eval_every=2).resolved()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(dataset="cifar10_n", noise=0.2), "real human label noise"),
        (dict(noise=1.2), r"^noise must be a rate in \[0, 1\]"),
        (dict(dataset="imagenet"), "Unknown dataset"),
        (dict(method="ce", model="vgg"), "Unknown model"),
        (dict(per_class=0), "per_class"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs).resolved()


def test_folder_dataset_needs_a_folder():
    from keras_bmm.data import load_dataset

    with pytest.raises(ValueError, match="needs data_dir"):
        load_dataset("folder")
    with pytest.raises(ValueError, match="data_dir is required for the folder dataset"):
        TrainConfig(dataset="folder").resolved()


def test_run_names_keep_datasets_and_settings_apart(monkeypatch):
    """Two image folders, or two schedules, never share `runs/<name>` and
    `exported_models/<name>`; default settings add nothing to the name."""
    monkeypatch.setenv("KERAS_BMM_CIFAR10_ARCHIVE", "/data/cifar10-jpeg.tar.gz")

    def name(**kwargs):
        return TrainConfig(noise=0.5, **kwargs).resolved().name

    birds = name(dataset="folder", data_dir="/data/birds")
    cars = name(dataset="folder", data_dir="/data/cars/")
    assert birds == "folder-birds-m-dyr-h-0.5" and cars == "folder-cars-m-dyr-h-0.5"
    assert name(dataset="folder", data_dir="/data/cars.tar.gz") == cars
    assert name(preset="cpu") == "cpu-folder-cifar10-jpeg-m-dyr-h-0.5"
    assert name(preset="paper") != name(dataset="cifar10")  # different schedules
    assert name() == "digits-m-dyr-h-0.5" == name(epochs=60)  # the digits' default epochs
    assert name(epochs=40) == "digits-m-dyr-h-0.5-epochs40"
    assert name(learning_rate=0.01, fast=False) == "digits-m-dyr-h-0.5-lr0.01-no-fast"
    assert name(preset="cpu", epochs=60) == name(preset="cpu")  # the preset's own value
    assert name(preset="cpu", width=32) == "cpu-folder-cifar10-jpeg-m-dyr-h-0.5-width32"
    config = TrainConfig(noise=0.5, epochs=40, run_dir="elsewhere").resolved()
    assert config.name == "digits-m-dyr-h-0.5-epochs40"  # how it runs is not in the name


def test_progress_written_to_a_file_is_one_line_per_epoch(tmp_path, capsys):
    """Not a terminal (pytest captures stdout): no redraw characters, one line per
    epoch, whatever verbosity 1 would draw in a terminal."""
    train(config(tmp_path / "run", method="ce", epochs=2, warmup_epochs=0, verbose=1), export=False)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"]
    assert sum(" - loss: " in line for line in lines) == 2
    assert max(len(line) for line in lines) < 1000


def test_summary_says_what_applies():
    """Zero noise: no detection AUC (it is undefined); `ce` and `mixup` have no
    bootstrapping line; a fixed warm-up says when bootstrapping started."""
    import dataclasses

    from keras_bmm.noise import make_noise
    from keras_bmm.training.result import TrainResult

    labels = np.arange(100) % 10
    history = {"val_accuracy": [0.5, 0.6], "bmm_auc": [float("nan")] * 2}
    clean = make_noise(labels, 0.0, 10, seed=0)
    ce = TrainResult.from_history(TrainConfig(method="ce").resolved(), clean, history)
    text = ce.summary()
    assert "nan" not in text.lower() and "bootstrapping" not in text
    assert "ROC AUC" not in text and "label noise: symmetric noise r=0" in text
    noisy = make_noise(labels, 0.5, 10, seed=0)
    history = {"val_accuracy": [0.5, 0.6], "bmm_auc": [0.7, 0.8]}
    sh = TrainConfig(method="md-dyr-sh", epochs=10, warmup_epochs=1, dynamic_epochs=2)
    text = TrainResult.from_history(sh.resolved(), noisy, history).summary()
    assert "bootstrapping: from epoch 2 (fixed warm-up of 1 epochs); dynamic mixup 2" in text
    assert "at the start 0.7000  last epoch 0.8000" in text
    mixup = TrainResult.from_history(TrainConfig(method="mixup").resolved(), noisy, history)
    text = mixup.summary()
    assert (
        "bootstrapping" not in text
        and "ROC AUC (against the true labels): last epoch 0.8000" in text
    )
    # A user's own labels: nothing that needs the truth, and no test accuracy without a test split.
    unknown = dataclasses.replace(clean, truth_known=False)
    history = {"val_accuracy": [float("nan")] * 2, "noisy_val_accuracy": [0.4, 0.5]}
    own = TrainResult.from_history(TrainConfig(method="m-dyr-h").resolved(), unknown, history)
    own.noise_estimate = {"estimate": 0.3, "low": 0.25, "high": 0.4}
    text = own.summary()
    assert "nan" not in text.lower() and "label noise" not in text and "ROC AUC" not in text
    assert "test accuracy" not in text and "held-out accuracy against the noisy labels" in text
    assert "estimated share of wrong labels: 30.0% (the estimates range from 25.0% to 40.0%)" in (
        text
    )
    assert "truly" not in text


def test_reference_arrangement_fits_the_mixture_on_augmented_losses(tmp_path):
    """fast=False fits the mixture on a tracking pass with the training
    augmentation, as the reference's `trainset_track` (transform_train): the
    last fit's losses are the inference losses of that epoch's augmented
    images, not of the raw ones."""
    import tensorflow as tf

    from keras_bmm.bootstrapping.passes import dataset_losses
    from keras_bmm.data import eval_pipeline
    from keras_bmm.training.experiment import _tracking_pass

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("a", "b"):
            os.makedirs(tmp_path / "ds" / split / name)
            for i in range(12):
                pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
                path = str(tmp_path / "ds" / split / name / f"{i}.png")
                tf.io.write_file(path, tf.io.encode_png(pixels))
    settings = dict(
        dataset="folder",
        data_dir=str(tmp_path / "ds"),
        model="small_cnn",
        width=4,
        batch_size=8,
        fast=False,
        lr_milestones=(),
    )
    result = train(config(tmp_path / "run", epochs=3, warmup_epochs=1, **settings), export=False)
    assert result.config.epoch_loss_pass and not result.config.fast
    model, noise = result.model, result.noise
    from keras_bmm.training.builders import dataset_of

    data = dataset_of(result.config)
    tracking = _tracking_pass(result.config, data, noise.labels)
    augmented, index, _, _ = dataset_losses(model, tracking(2))
    np.testing.assert_array_equal(np.sort(index), np.arange(24))
    full = np.zeros(24)
    full[index] = augmented
    np.testing.assert_allclose(model.noise_state.last_fit.losses, full, rtol=1e-5)
    raw, _, _, _ = dataset_losses(
        model, eval_pipeline(data.train_images, noise.labels, 8, indexed=True)
    )
    assert np.abs(raw - full).max() > 1e-3
    # Each epoch draws its own augmentation, and the same one after a resume.
    first = np.concatenate([x["image"].numpy() for x, _ in tracking(1)])
    again = np.concatenate([x["image"].numpy() for x, _ in tracking(1)])
    other = np.concatenate([x["image"].numpy() for x, _ in tracking(2)])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_only_a_run_that_never_bootstrapped_weighs_its_suggestions_with_the_flip_matrix(
    tmp_path,
):
    """The flip-matrix condition needs probabilities of a network that trained on the
    given labels alone: cross-entropy and mixup runs get it; a bootstrapped run does not."""
    for method, warmup, gated in (("ce", 0, True), ("mixup", 0, True), ("m-dyr-h", 1, False)):
        result = train(
            config(tmp_path / f"{method}-{warmup}", epochs=3, method=method, warmup_epochs=warmup),
            export=False,
        )
        assert result.suggestions.supported, result.suggestions.reason
        assert ("flip matrix" in result.suggestions.reason) == gated, (method, warmup)
