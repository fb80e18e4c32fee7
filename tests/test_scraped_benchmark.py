"""The scraped-folder case on a tiny generated CIFAR-10-like folder: its plumbing, not figures."""

import json
import os

import numpy as np
import tensorflow as tf

from keras_bmm.benchmarks import scraped
from keras_bmm.benchmarks.scraped import (
    CASE_FILE,
    COLUMNS,
    ScrapedSetup,
    make_scraped_folder,
    scraped_case,
    wrong_labels,
)

CLASSES = ("ant", "bee", "cat")


def cifar_like_folder(root, train=6, test=3):
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        for name in CLASSES:
            os.makedirs(root / split / name)
            for i in range(count):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                tf.io.write_file(str(root / split / name / f"{i}.png"), tf.io.encode_png(image))
    return str(root)


def tiny_setup(**kwargs):
    return ScrapedSetup(
        classes=CLASSES,
        per_class=6,
        test_per_class=3,
        noise=0.5,
        image_size=16,
        width=4,
        batch_size=6,
        epochs=4,
        lr_milestones=(2,),
        **kwargs,
    )


def test_the_folder_keeps_the_truth_and_mislabels_by_moving_files(tmp_path):
    archive = cifar_like_folder(tmp_path / "cifar")
    truth = make_scraped_folder(archive, str(tmp_path / "case"), tiny_setup())
    assert len(truth["files"]) == 18 and truth["classes"] == list(CLASSES)
    for path, given, clean in zip(truth["files"], truth["given"], truth["clean"]):
        # The file sits in the folder of its given class; its name keeps its source class.
        assert os.path.basename(os.path.dirname(path)) == CLASSES[given]
        assert os.path.basename(path).startswith(CLASSES[clean] + "-")
        assert os.path.isfile(path)
    flipped = int(np.sum(np.array(truth["given"]) != np.array(truth["clean"])))
    assert 0 < flipped < 18
    assert wrong_labels(truth) == flipped
    clean_test = tmp_path / "case" / "clean-test" / "train"
    assert sorted(os.listdir(clean_test)) == list(CLASSES)
    assert sum(len(os.listdir(clean_test / c)) for c in CLASSES) == 9


def test_wrong_labels_counts_a_corrected_manifest_against_the_truth(tmp_path):
    truth = {
        "files": [str(tmp_path / f"{i}.png") for i in range(4)],
        "given": [0, 1, 2, 0],
        "clean": [0, 2, 2, 1],
        "classes": ["ant", "bee", "cat"],
    }
    for f in truth["files"]:
        open(f, "w").close()
    assert wrong_labels(truth) == 2  # files 1 and 3
    manifest = tmp_path / "corrected.csv"
    # Fixes file 1 (bee -> cat), breaks file 0 (ant -> bee), leaves file 3 wrong.
    manifest.write_text(f"path,label\n{truth['files'][1]},cat\n{truth['files'][0]},bee\n")
    assert wrong_labels(truth, str(manifest)) == 2
    manifest.write_text(f"path,label\n{truth['files'][1]},cat\n{truth['files'][3]},bee\n")
    assert wrong_labels(truth, str(manifest)) == 0


def test_the_case_trains_relabels_and_is_read_back_once_finished(tmp_path, monkeypatch):
    archive = cifar_like_folder(tmp_path / "cifar")
    root = str(tmp_path / "case")
    row = scraped_case(archive, root, tiny_setup())
    assert set(COLUMNS) <= set(row)
    assert row["init"] == "scratch" and row["wrong_given"] == wrong_labels(
        json.load(open(os.path.join(root, "truth.json")))
    )
    assert 0.0 <= row["true_accuracy_first"] <= 1.0
    assert 0.0 <= row["true_accuracy_relabelled"] <= 1.0
    assert os.path.isdir(os.path.join(root, "runs", "relabelled"))
    assert json.load(open(os.path.join(root, CASE_FILE))) == row

    def no_training(*args, **kwargs):
        raise AssertionError("a finished case was trained again")

    monkeypatch.setattr(scraped, "train_scraped", no_training)
    assert scraped_case(archive, root, tiny_setup()) == row
