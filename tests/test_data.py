"""Loaders and pipelines: documented structure, determinism, augmentation, bad input."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_bmm.data import (
    augment_image,
    eval_pipeline,
    extracted_folder,
    load_dataset,
    load_image_folder,
    steps_per_epoch,
    train_pipeline,
)

SHARED_CIFAR10 = os.environ.get("KERAS_BMM_CIFAR10_ARCHIVE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10-jpeg.tar.gz"
)


def check_train_batches(ds, num_samples, num_classes, image_shape, dtype=tf.float32):
    indices = []
    for x, y in ds:
        assert set(x) == {"image", "index"}
        assert x["image"].dtype == dtype and tuple(x["image"].shape[1:]) == image_shape
        assert x["index"].dtype == tf.int32 and y.dtype == tf.int32
        assert len(x["index"]) == len(y)
        indices.append(x["index"].numpy())
        assert np.all((y.numpy() >= 0) & (y.numpy() < num_classes))
    indices = np.concatenate(indices)
    np.testing.assert_array_equal(np.sort(indices), np.arange(num_samples))
    return indices


def test_digits_pipeline_structure():
    data = load_dataset("digits")
    assert data.train_images.shape == (1347, 8, 8, 1) and data.test_images.shape[0] == 450
    ds = train_pipeline(data.train_images, data.train_labels, 100)
    check_train_batches(ds, 1347, 10, (8, 8, 1))
    x, y = next(iter(eval_pipeline(data.test_images, data.test_labels, 64)))
    assert x.shape == (64, 8, 8, 1) and x.dtype == tf.float32 and y.dtype == tf.int32


def test_epoch_stream_is_deterministic_and_resumable():
    """Each epoch is a function of (seed, epoch): a stream started at epoch 2
    equals the tail of one started at 0, and epochs differ from each other."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (50, 6, 6, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 50)

    def batches(initial_epoch):
        ds = train_pipeline(
            images, labels, 16, seed=3, augment=True, epochs=4, initial_epoch=initial_epoch
        )
        return [(x["index"].numpy(), x["image"].numpy()) for x, _ in ds]

    full, tail = batches(0), batches(2)
    per_epoch = steps_per_epoch(50, 16)
    assert len(full) == 4 * per_epoch and len(tail) == 2 * per_epoch
    for (i1, x1), (i2, x2) in zip(full[2 * per_epoch :], tail):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(x1, x2)
    first = np.concatenate([i for i, _ in full[:per_epoch]])
    second = np.concatenate([i for i, _ in full[per_epoch : 2 * per_epoch]])
    assert sorted(first) == list(range(50)) and not np.array_equal(first, second)


def test_single_epoch_dataset_reshuffles_each_iteration():
    labels = np.arange(40) % 4
    ds = train_pipeline(np.zeros((40, 2, 2, 1), np.float32), labels, 40, seed=1)
    first, second = [next(iter(ds))[0]["index"].numpy() for _ in range(2)]
    assert sorted(first) == list(range(40)) and not np.array_equal(first, second)


def test_augmentation_is_a_padded_crop_with_optional_flip():
    image = np.random.default_rng(1).integers(1, 255, (8, 8, 3), dtype=np.uint8)
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    crops = {
        (dy, dx, flip): (
            padded[dy : dy + 8, dx : dx + 8][:, ::-1] if flip else padded[dy : dy + 8, dx : dx + 8]
        )
        for dy in range(9)
        for dx in range(9)
        for flip in (False, True)
    }
    seen = set()
    for s in range(60):
        out = augment_image(tf.constant(image), tf.constant([s, 7])).numpy()
        assert out.shape == image.shape and out.dtype == np.uint8
        matches = [k for k, crop in crops.items() if np.array_equal(crop, out)]
        assert matches, "augmented image is not a crop of the padded image"
        seen.update(matches)
    assert len({k[2] for k in seen}) == 2 and len({k[:2] for k in seen}) > 10


def write_folder(root, classes, per_class=3, size=(6, 6), split_sizes=None):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in classes:
            folder = os.path.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                encode = tf.io.encode_png if i % 2 else tf.io.encode_jpeg
                ext = "png" if i % 2 else "jpg"
                tf.io.write_file(os.path.join(folder, f"{i:03d}.{ext}"), encode(pixels))
    return root


def test_image_folder_structure(tmp_path):
    root = write_folder(str(tmp_path / "ds"), ["zebra", "ant", "moth"], per_class=4)
    data = load_image_folder(root, per_class=3)
    assert data.class_names == ("ant", "moth", "zebra")
    assert data.train_images.shape == (9, 6, 6, 3) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (12, 6, 6, 3)
    np.testing.assert_array_equal(data.train_labels, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert [os.path.basename(f) for f in data.train_files[:3]] == ["000.jpg", "001.png", "002.jpg"]
    decoded = tf.io.decode_png(tf.io.read_file(data.train_files[1])).numpy()
    np.testing.assert_array_equal(data.train_images[1], decoded)
    assert len(data.mean) == 3 and data.augment
    resized = load_image_folder(root, image_size=(10, 12))
    assert resized.train_images.shape == (12, 10, 12, 3)
    ds = train_pipeline(data.train_images, data.train_labels, 4, augment=True)
    check_train_batches(ds, 9, 3, (6, 6, 3))


def test_image_folder_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    (empty / "train").mkdir(parents=True)
    (empty / "test").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        load_image_folder(str(empty))
    root = write_folder(str(tmp_path / "a"), ["cat", "dog"])
    os.makedirs(os.path.join(root, "train", "eel"))
    with pytest.raises(ValueError, match="eel.*holds no images"):
        load_image_folder(root)
    root = write_folder(str(tmp_path / "b"), ["cat", "dog"])
    os.makedirs(os.path.join(root, "test", "eel"))
    tf.io.write_file(
        os.path.join(root, "test", "eel", "x.png"), tf.io.encode_png(np.zeros((6, 6, 3), np.uint8))
    )
    with pytest.raises(ValueError, match=r"differ: only in train \[\], only in test \['eel'\]"):
        load_image_folder(root)
    root = write_folder(str(tmp_path / "c"), ["cat", "dog"])
    bad = os.path.join(root, "train", "dog", "001.png")
    with open(bad, "wb") as f:
        f.write(b"not an image at all")
    with pytest.raises(ValueError, match="Cannot decode image file .*dog/001.png"):
        load_image_folder(root)
    root = write_folder(str(tmp_path / "d"), ["cat", "dog"])
    odd = os.path.join(root, "train", "dog", "002.jpg")
    tf.io.write_file(odd, tf.io.encode_jpeg(np.zeros((7, 5, 3), np.uint8)))
    with pytest.raises(ValueError, match="dog/002.jpg.*has shape.*image_size"):
        load_image_folder(root)


@pytest.mark.skipif(
    not os.path.exists(SHARED_CIFAR10), reason=f"shared CIFAR-10 archive absent: {SHARED_CIFAR10}"
)
def test_image_folder_on_real_cifar10(tmp_path):
    root = extracted_folder(SHARED_CIFAR10, cache=str(tmp_path))
    data = load_image_folder(root)
    assert data.train_images.shape == (50000, 32, 32, 3)
    assert data.test_images.shape == (10000, 32, 32, 3)
    assert data.class_names == (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )
    np.testing.assert_array_equal(np.bincount(data.train_labels), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(data.test_labels), [1000] * 10)
    assert 100 < data.mean[0] < 150 and 40 < data.std[0] < 80
    # The cpu preset's subset: the first K files of each class, by name.
    subset = load_image_folder(root, per_class=20)
    assert subset.train_images.shape[0] == 200
    assert (
        os.path.basename(subset.train_files[0])
        == sorted(os.listdir(os.path.join(root, "train", "airplane")))[0]
    )
    # The extraction is cached: a second call reuses it.
    assert extracted_folder(SHARED_CIFAR10, cache=str(tmp_path)) == root
