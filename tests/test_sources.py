"""File-backed sources: folders, manifests and Clothing1M lists yield the documented structure."""

import os

import numpy as np
import pytest
import tensorflow as tf
from helpers.images import write_folder, write_image
from PIL import Image

from keras_bmm.data import load_dataset, read_clothing1m, read_manifest
from keras_bmm.data.manifest import relabel


def decoded_rgb(path, size):
    """An independent decode: PIL's first frame as RGB, resized as TensorFlow's bilinear."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    resized = tf.image.resize(pixels, size).numpy()
    return np.clip(np.round(resized), 0, 255).astype(np.uint8)


def test_folder_without_test_split_streamed_and_in_memory(tmp_path):
    root = write_folder(tmp_path / "web", ["zebra", "ant", "moth"], per_class=6)
    streamed = load_dataset("folder", root, image_size=(12, 10), stream=True)
    memory = load_dataset("folder", root, image_size=(12, 10), stream=False)
    assert type(streamed).__name__ == "StreamedDataset" and streamed.streams
    assert type(memory).__name__ == "ImageDataset" and not memory.streams
    for data in (streamed, memory):
        assert data.name == "web" and data.class_names == ("ant", "moth", "zebra")
        assert data.num_train == 18 and data.image_shape == (12, 10, 3)
        assert data.input_dtype == "uint8" and not data.has_test and data.eval_batches(4) is None
        np.testing.assert_array_equal(data.train_labels, np.repeat([0, 1, 2], 6))
        assert [os.path.basename(f) for f in data.train_files[:6]] == [
            "000.jpg",
            "001.png",
            "002.jpeg",
            "003.gif",
            "004.bmp",
            "005.png",
        ]
        assert all(os.path.isabs(f) for f in data.train_files)
    # Every format and mode (RGB, RGBA, grayscale, palette GIF, BMP) decodes to RGB.
    batches = list(streamed.tracking_batches(streamed.train_labels, 5))
    images = np.concatenate([x["image"].numpy() for x, _ in batches])
    indices = np.concatenate([x["index"].numpy() for x, _ in batches])
    np.testing.assert_array_equal(indices, np.arange(18))
    for i, path in enumerate(streamed.train_files):
        expected = decoded_rgb(path, (12, 10)).astype(np.float32)
        jpeg = path.endswith((".jpg", ".jpeg"))  # JPEG decoders differ slightly
        np.testing.assert_allclose(images[i], expected, atol=6 if jpeg else 0, err_msg=path)
        assert np.abs(images[i] - expected).mean() <= (2.0 if jpeg else 0.0), path
    np.testing.assert_array_equal(images, memory.train_images.astype(np.float32))
    np.testing.assert_allclose(streamed.mean, memory.mean)
    # Same files, same pixels: the augmented batches of both paths are identical.
    for epoch in (0, 2):
        pair = [
            list(d.train_batches(d.train_labels, 4, seed=5, epochs=epoch + 1, initial_epoch=epoch))
            for d in (streamed, memory)
        ]
        assert len(pair[0]) == len(pair[1]) == 5
        for (a, ya), (b, yb) in zip(*pair):
            np.testing.assert_array_equal(a["index"], b["index"])
            np.testing.assert_array_equal(a["image"], b["image"])
            np.testing.assert_array_equal(ya, yb)


def test_folder_with_test_split_and_archive_name(tmp_path):
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=3, splits=("train", "test"))
    data = load_dataset("folder", root, image_size=(8, 8), stream=True, per_class=2)
    assert data.num_train == 4 and data.has_test
    np.testing.assert_array_equal(data.test_labels, [0, 0, 0, 1, 1, 1])
    x, y = next(iter(data.eval_batches(6)))
    assert x.shape == (6, 8, 8, 3) and x.dtype == tf.float32
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])


def write_manifest_rows(path, rows, header="path,label", sep=","):
    with open(path, "w") as f:
        f.write(header.replace(",", sep) + "\n")
        for row in rows:
            f.write(sep.join(row) + "\n")
    return str(path)


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    return [write_image(str(tmp_path / "img" / f"{i}.png"), (9, 11), rng, "PNG") for i in range(6)]


def test_manifest_with_class_names_relative_and_absolute_paths(tmp_path, images):
    path = write_manifest_rows(
        tmp_path / "labels.csv",
        [
            ("img/0.png", "dog"),
            ("img/1.png", "cat"),
            (images[2], "dog"),  # absolute
            ("./img/../img/3.png", "bird"),
        ],
    )
    table = read_manifest(path)
    assert table.class_names == ("bird", "cat", "dog")
    assert table.files == tuple(images[:4])
    np.testing.assert_array_equal(table.labels, [2, 1, 2, 0])
    data = load_dataset("manifest", path, stream=True)
    assert data.name == "labels" and data.num_train == 4 and not data.has_test
    assert data.image_shape == (9, 11, 3)  # the first image's size
    np.testing.assert_array_equal(data.train_labels, [2, 1, 2, 0])


def test_tsv_manifest_with_integer_labels_and_class_list(tmp_path, images):
    (tmp_path / "classes.txt").write_text("cat\ndog\nfox\n")
    path = write_manifest_rows(
        tmp_path / "m.tsv",
        [(f"img/{i}.png", label) for i, label in enumerate(["2", "0", "dog", "1"])],
        header="label,note,path",
        sep="\t",
    )
    # Columns by name, in any order; extra columns ignored.
    with open(path, "w") as f:
        f.write("label\tnote\tpath\n")
        for i, label in enumerate(["2", "0", "dog", "1"]):
            f.write(f"{label}\tx\timg/{i}.png\n")
    table = read_manifest(path)
    assert table.class_names == ("cat", "dog", "fox")
    np.testing.assert_array_equal(table.labels, [2, 0, 1, 1])


@pytest.mark.parametrize(
    "rows,classes,message",
    [
        ([("img/0.png", "a"), ("img/9.png", "b")], None, r"missing files: line 3: img/9.png"),
        ([("img/0.png", "a"), ("img/1.png", "eel")], "a\nb\n", r"unknown class names.*line 3: eel"),
        ([("img/0.png", "0"), ("img/1.png", "2")], "a\nb\n", r"out of range \[0, 1\]: line 3: 2"),
        ([("img/0.png", "-1"), ("img/1.png", "1")], None, r"out of range.*line 2: -1"),
        (
            [("img/0.png", "a"), ("img/1.png", "b"), ("./img/0.png", "b")],
            None,
            r"lists files twice: line 4: \./img/0\.png \(also on line 2\)",
        ),
        ([], None, r"is empty"),
        ([("img/0.png", "a"), ("img/1.png", "1")], None, r"mixes class names and integer"),
        ([("img/0.png", "a"), ("", "b")], None, r"without a path or a label: line 3"),
    ],
)
def test_bad_manifests_name_the_rows(tmp_path, images, rows, classes, message):
    if classes:
        (tmp_path / "classes.txt").write_text(classes)
    path = write_manifest_rows(tmp_path / "bad.csv", rows)
    with pytest.raises(ValueError, match=message) as error:
        read_manifest(path)
    assert "bad.csv" in str(error.value)


def test_manifest_without_the_columns(tmp_path, images):
    path = write_manifest_rows(tmp_path / "h.csv", [("img/0.png", "a")], header="image,class")
    with pytest.raises(ValueError, match=r"header must name a path column"):
        read_manifest(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_manifest(str(tmp_path / "nope.csv"))


def test_bad_manifest_stops_train_before_the_run_starts(tmp_path, images):
    from keras_bmm import TrainConfig, train

    path = write_manifest_rows(tmp_path / "m.csv", [("img/0.png", "a"), ("img/7.png", "b")])
    config = TrainConfig(dataset="manifest", data_dir=path, run_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match="line 3: img/7.png"):
        train(config, export=False)
    assert not os.path.exists(tmp_path / "run")


def write_clothing1m(root, rng, classes=("T-Shirt", "Shirt", "Knitwear")):
    """A small replica: images under images/, Clothing1M's list files beside them."""
    keys = [f"images/{i % 3}/{i:02d}/{i}.jpg" for i in range(12)]
    for key in keys:
        write_image(os.path.join(root, key), (20, 16), rng)
    noisy = {k: (i * 7) % len(classes) for i, k in enumerate(keys)}
    clean = {k: i % len(classes) for i, k in enumerate(keys)}
    files = {
        "noisy_label_kv.txt": "".join(f"{k} {v}\n" for k, v in noisy.items()),
        "noisy_train_key_list.txt": "".join(f"{k}\n" for k in keys[:9]),
        "clean_label_kv.txt": "".join(f"{k} {v}\n" for k, v in clean.items()),
        "clean_test_key_list.txt": "".join(f"{k}\n" for k in keys[9:]),
        "category_names_eng.txt": "".join(f"{c}\n" for c in classes),
    }
    for name, text in files.items():
        with open(os.path.join(root, name), "w") as f:
            f.write(text)
    return keys, noisy, clean


def test_clothing1m_replica(tmp_path):
    root = str(tmp_path / "c1m")
    keys, noisy, clean = write_clothing1m(root, np.random.default_rng(1))
    train, test = read_clothing1m(root)
    assert train.class_names == ("T-Shirt", "Shirt", "Knitwear")
    assert train.files == tuple(os.path.join(root, k) for k in keys[:9])
    np.testing.assert_array_equal(train.labels, [noisy[k] for k in keys[:9]])
    np.testing.assert_array_equal(test.labels, [clean[k] for k in keys[9:]])
    data = load_dataset("clothing1m", root, image_size=(8, 8), stream=True)
    assert data.name == "clothing1m" and data.num_train == 9 and data.has_test
    assert sum(len(y) for _, y in data.eval_batches(2)) == 3


def test_clothing1m_errors(tmp_path):
    root = str(tmp_path / "c1m")
    keys, _, _ = write_clothing1m(root, np.random.default_rng(2))
    os.remove(os.path.join(root, keys[4]))
    with pytest.raises(ValueError, match=r"image file is missing: line 5: " + keys[4]):
        read_clothing1m(root)
    with open(os.path.join(root, "noisy_train_key_list.txt"), "a") as f:
        f.write("images/none.jpg\n")
    with pytest.raises(ValueError, match=r"without a label in noisy_label_kv.txt: line 10"):
        read_clothing1m(root)
    os.remove(os.path.join(root, "noisy_label_kv.txt"))
    with pytest.raises(FileNotFoundError, match=r"missing \['noisy_label_kv.txt'\]"):
        read_clothing1m(root)


def test_label_manifest_relabels_only_the_files_it_names(tmp_path):
    root = write_folder(tmp_path / "ds", ["cat", "dog"], per_class=3)
    data = load_dataset("folder", root, image_size=(8, 8), stream=True)
    files = data.train_files
    path = write_manifest_rows(
        tmp_path / "edited.csv", [(files[0], "dog"), (files[4], "0")], header="file,given_label"
    )
    labels, changed = relabel(files, data.train_labels, data.class_names, path)
    np.testing.assert_array_equal(labels, [1, 0, 0, 1, 0, 1])
    assert changed == 2
    relabelled = load_dataset("folder", root, image_size=(8, 8), stream=True, labels=path)
    np.testing.assert_array_equal(relabelled.train_labels, labels)
    foreign = write_manifest_rows(tmp_path / "f.csv", [(files[0], "cat"), ("elsewhere.png", "cat")])
    with pytest.raises(ValueError, match=r"not training files of the dataset: line 3"):
        relabel(files, data.train_labels, data.class_names, foreign)
    with pytest.raises(ValueError, match=r"unknown class names.*line 2: emu"):
        relabel(
            files,
            data.train_labels,
            data.class_names,
            write_manifest_rows(tmp_path / "u.csv", [(files[0], "emu")]),
        )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--val-split", "1.5"], "--val-split must be in (0, 1), got 1.5"),
        (["--dataset", "manifest", "--data-dir", "nope.csv"], "--data-dir must be the manifest"),
        (["--stream"], "--stream applies to datasets of image files"),
        (["--skip-bad-files"], "--skip-bad-files applies to datasets of image files"),
        (["--dataset", "clothing1m", "--data-dir", "nowhere"], "--data-dir must be the folder"),
    ],
)
def test_data_flags_are_checked_before_tensorflow(capsys, argv, message):
    import importlib.util

    script = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "train.py")
    spec = importlib.util.spec_from_file_location("train_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_label_flag_needs_an_existing_manifest_of_a_file_dataset(tmp_path):
    from keras_bmm import TrainConfig

    with pytest.raises(ValueError, match="labels must be an existing manifest file"):
        TrainConfig(dataset="folder", data_dir="x", labels=str(tmp_path / "no.csv")).resolved()
    (tmp_path / "l.csv").write_text("path,label\n")
    with pytest.raises(ValueError, match="labels applies to datasets of image files"):
        TrainConfig(labels=str(tmp_path / "l.csv")).resolved()


@pytest.mark.parametrize("dataset", ["manifest", "clothing1m"])
def test_finetune_preset_gives_every_file_dataset_the_backbone_resolution(tmp_path, dataset):
    """As for folders, a pretrained backbone's files are resized to its ImageNet
    resolution (ResNet50: 224; EfficientNetB3: 300), not left at their own sizes
    (mixed sizes cannot be held in memory; streamed, all would take the first's)."""
    import dataclasses

    from keras_bmm import TrainConfig
    from keras_bmm.training.builders import dataset_of

    rng = np.random.default_rng(3)
    if dataset == "manifest":
        rows = [
            (write_image(str(tmp_path / "img" / f"{i}.png"), size, rng, "PNG"), "ab"[i % 2])
            for i, size in enumerate([(9, 11), (20, 16), (13, 13), (30, 12)])
        ]
        data_dir = write_manifest_rows(tmp_path / "labels.csv", rows)
    else:
        data_dir = str(tmp_path / "c1m")
        write_clothing1m(data_dir, rng)
    config = TrainConfig(preset="finetune", dataset=dataset, data_dir=data_dir).resolved()
    assert config.image_size == (224, 224)
    other = TrainConfig(
        preset="finetune", dataset=dataset, data_dir=data_dir, backbone="EfficientNetB3"
    ).resolved()
    assert other.image_size == (300, 300)
    for stream in (False, True):
        data = dataset_of(dataclasses.replace(config, stream=stream))
        assert data.image_shape == (224, 224, 3)
        x, _ = next(iter(data.tracking_batches(data.train_labels, 4)))
        assert x["image"].shape[1:] == (224, 224, 3)
    # An explicit size is kept.
    given = TrainConfig(preset="finetune", dataset=dataset, data_dir=data_dir, image_size=(64, 64))
    assert given.resolved().image_size == (64, 64)
