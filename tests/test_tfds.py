"""The tensorflow-datasets loaders on `tfds.testing.mock_data` (no network)."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_bmm.data import load_dataset, train_pipeline
from keras_bmm.data.tfds import CIFAR_N_MANUAL_FILES
from keras_bmm.noise import real_noise

N = 24


def check_dataset(data, num_classes):
    assert data.num_classes == num_classes
    for images in (data.train_images, data.test_images):
        assert images.shape == (N, 32, 32, 3) and images.dtype == np.uint8
    for labels in (data.train_labels, data.test_labels):
        assert labels.dtype == np.int64 and labels.min() >= 0 and labels.max() < num_classes
    assert len(data.mean) == 3 and data.augment
    x, y = next(iter(train_pipeline(data.train_images, data.train_labels, N, augment=True)))
    assert x["image"].shape == (N, 32, 32, 3) and sorted(x["index"].numpy()) == list(range(N))


@pytest.mark.parametrize("name,num_classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar(tmp_path, name, num_classes):
    with tfds.testing.mock_data(num_examples=N):
        data = load_dataset(name, data_dir=str(tmp_path))
    check_dataset(data, num_classes)
    assert data.train_clean_labels is None
    if name == "cifar10":
        assert data.class_names[:3] == ("airplane", "automobile", "bird")


def with_manual_files(tmp_path, name):
    folder = os.path.join(str(tmp_path), "downloads", "manual")
    os.makedirs(folder, exist_ok=True)
    for f in CIFAR_N_MANUAL_FILES[name]:
        open(os.path.join(folder, f), "w").close()


@pytest.mark.parametrize(
    "name,label_set,feature,num_classes",
    [
        ("cifar10_n", "aggre", "aggre_label", 10),
        ("cifar10_n", None, "worse_label", 10),
        ("cifar100_n", "noisy", "noise_label", 100),
    ],
)
def test_cifar_n_trains_on_human_labels(tmp_path, name, label_set, feature, num_classes):
    with_manual_files(tmp_path, name)
    with tfds.testing.mock_data(num_examples=N):
        data = load_dataset(name, data_dir=str(tmp_path), label_set=label_set)
        raw = next(
            iter(
                tfds.as_numpy(
                    tfds.builder(name, data_dir=str(tmp_path)).as_dataset(split="train").batch(N)
                )
            )
        )
    check_dataset(data, num_classes)
    np.testing.assert_array_equal(data.train_labels, raw[feature])
    np.testing.assert_array_equal(data.train_clean_labels, raw["label"])
    noise = real_noise(data.train_labels, data.train_clean_labels, num_classes)
    np.testing.assert_array_equal(noise.noise_mask, raw[feature] != raw["label"])


def test_cifar_n_missing_files_give_instructions(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_dataset("cifar10_n", data_dir=str(tmp_path))
    message = str(error.value)
    assert "side_info_cifar10N.csv" in message and "downloads/manual" in message
    assert "github.com/UCSC-REAL/cifar-10-100n" in message


def test_cifar_n_unknown_label_set():
    with pytest.raises(ValueError, match="Unknown label set 'best' for cifar10_n"):
        load_dataset("cifar10_n", label_set="best")
