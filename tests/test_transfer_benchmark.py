"""The transfer benchmark on a tiny generated CIFAR-10-like folder: its plumbing, not figures."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_bmm.benchmarks import transfer
from keras_bmm.benchmarks.transfer import (
    ASYMMETRIC_PAIRS,
    FINETUNE_CLASSES,
    PRETRAIN_CLASSES,
    RESULT_FILE,
    TransferSetup,
    collect,
    parse_noise,
    transfer_run,
)


def cifar_like_folder(root, train=4, test=2):
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        for name in PRETRAIN_CLASSES + FINETUNE_CLASSES:
            os.makedirs(root / split / name)
            for i in range(count):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                tf.io.write_file(str(root / split / name / f"{i}.png"), tf.io.encode_png(image))
    return str(root)


def test_pretrained_run_fine_tunes_the_saved_features_on_asymmetric_noise(tmp_path, monkeypatch):
    from test_backbones import make_hub_preset

    from keras_bmm.noise import LabelNoise
    from keras_bmm.training.run_folder import RunFolder

    archive = cifar_like_folder(tmp_path / "cifar")
    root = str(tmp_path / "runs")
    # A small keras-hub ResNet (a local preset folder) keeps the two trainings short.
    preset, _ = make_hub_preset(tmp_path / "preset")
    setup = TransferSetup(
        backbone=preset, pretrain_per_class=4, pretrain_epochs=1, per_class=4, epochs=2
    )
    row = transfer_run("pretrained", "m-dyr-h", "asymmetric", 0.5, archive, root, setup, 0)
    assert (row["init"], row["noise"], row["method"], row["epochs"]) == (
        "pretrained",
        "asym 0.5",
        "m-dyr-h",
        2,
    )
    pretraining = json.load(open(os.path.join(root, "pretrain", RESULT_FILE)))
    assert os.path.isfile(pretraining["weights"]) and pretraining["init"] == "pretraining"
    settings = RunFolder(row["run_dir"]).saved_settings()
    assert settings["weights"] == pretraining["weights"] and settings["freeze_epochs"] == 1
    assert settings["backbone"] == preset and tuple(settings["image_size"]) == (32, 32)
    # Asymmetric noise among the fine-tuning classes (sorted: dog frog horse ship truck):
    # half of each source class goes to its pair, the other classes stay clean.
    noise = LabelNoise.load(os.path.join(row["run_dir"], "noisy_labels.npz"))
    names = sorted(FINETUNE_CLASSES)
    for c, name in enumerate(names):
        flipped = noise.labels[noise.clean_labels == c] != c
        if name in ASYMMETRIC_PAIRS:
            assert flipped.sum() == 2
            assert set(noise.labels[noise.clean_labels == c][flipped]) == {
                names.index(ASYMMETRIC_PAIRS[name])
            }
        else:
            assert not flipped.any()
    assert row["wrong_%"] == pytest.approx(100 * 6 / 20)
    # A finished run is read back, not trained again.
    monkeypatch.setattr("keras_bmm.training.train", lambda *a, **k: pytest.fail("trained again"))
    again = transfer_run("pretrained", "m-dyr-h", "asymmetric", 0.5, archive, root, setup, 0)
    assert again == row
    rows = collect(root)
    assert [(r["init"], r["noise"]) for r in rows] == [
        ("pretraining", "clean"),
        ("pretrained", "asym 0.5"),
    ]


def test_a_setting_changed_from_the_preset_names_its_run_and_reaches_the_config(tmp_path):
    from test_backbones import make_hub_preset

    from keras_bmm.training.run_folder import RunFolder

    archive = cifar_like_folder(tmp_path / "cifar")
    preset, _ = make_hub_preset(tmp_path / "preset")
    setup = TransferSetup(
        backbone=preset, per_class=4, epochs=5
    )  # an automatic warm-up reads 4 epochs of signals
    root = str(tmp_path / "runs")
    overrides = {"warmup_epochs": "auto"}
    row = transfer_run("scratch", "m-dyr-h", "symmetric", 0.5, archive, root, setup, 0, overrides)
    assert os.path.basename(row["run_dir"]) == "scratch-m-dyr-h-sym0.5-warmup_epochs=auto"
    assert RunFolder(row["run_dir"]).saved_settings()["warmup_epochs"] == "auto"
    assert row["settings"] == overrides and "start_epoch" in row and "auc_start" in row
    # Without the setting it is another run, in another folder.
    plain = transfer_run("scratch", "ce", "symmetric", 0.5, archive, root, setup, 0)
    assert os.path.basename(plain["run_dir"]) == "scratch-ce-sym0.5" and plain["settings"] == {}


def test_table_order_and_noise_flags(tmp_path):
    for name, init, noise, method in [
        ("a", "scratch", "sym 0.5", "ce"),
        ("b", "pretrained", "asym 0.4", "ce"),
        ("c", "pretrained", "sym 0.5", "m-dyr-h"),
        ("d", "pretrained", "sym 0.5", "ce"),
        ("e", "pretraining", "clean", "ce"),
    ]:
        (tmp_path / name).mkdir()
        row = {"init": init, "noise": noise, "method": method}
        (tmp_path / name / RESULT_FILE).write_text(json.dumps(row))
    rows = [(r["init"], r["noise"], r["method"]) for r in collect(str(tmp_path))]
    assert rows == [
        ("pretraining", "clean", "ce"),
        ("pretrained", "sym 0.5", "ce"),
        ("pretrained", "sym 0.5", "m-dyr-h"),
        ("scratch", "sym 0.5", "ce"),
        ("pretrained", "asym 0.4", "ce"),
    ]
    assert parse_noise("sym:0.8") == ("symmetric", 0.8)
    assert parse_noise("asym:0.4") == ("asymmetric", 0.4)
    with pytest.raises(SystemExit, match="expected sym:RATE or asym:RATE"):
        parse_noise("pairs:0.4")
    assert transfer._milestones(30, (0.6, 0.9)) == (19, 28)
    assert transfer._milestones(1, (0.6, 0.9)) == ()
