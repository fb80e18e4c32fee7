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
    with pytest.raises(
        ValueError,
        match="1 of the 12 image files of 'c' do not decode:\n  train '.*dog/001.png': not an im",
    ):
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


def test_random_resized_crop_covers_an_allowed_box():
    """An affine ramp image reveals the crop: the output's first and last rows and
    columns give the box, whose area and aspect ratio must lie in the ranges."""
    from keras_bmm.data.augment import (
        RESIZED_CROP_RATIO,
        RESIZED_CROP_SCALE,
        random_resized_crop,
    )

    h, w = 200, 160
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    image = np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.float32)
    areas, flips = [], set()
    for s in range(40):
        out = random_resized_crop(tf.constant(image), (32, 32), tf.constant([s, 3])).numpy()
        assert out.shape == (32, 32, 3)
        assert np.array_equal(
            out, random_resized_crop(tf.constant(image), (32, 32), tf.constant([s, 3])).numpy()
        )
        row_step = out[1, 0, 0] - out[0, 0, 0]
        col_step = out[0, 1, 1] - out[0, 0, 1]
        flips.add(bool(col_step < 0))
        # Bilinear resizing of a ramp is a ramp: the box spans 32 steps each way.
        box_h, box_w = abs(row_step) * 32, abs(col_step) * 32
        area = box_h * box_w / (h * w)
        areas.append(area)
        whole = abs(area - 1.0) < 0.02
        assert whole or RESIZED_CROP_SCALE[0] - 0.01 <= area <= RESIZED_CROP_SCALE[1] + 0.01
        assert (
            whole or RESIZED_CROP_RATIO[0] - 0.02 <= box_w / box_h <= RESIZED_CROP_RATIO[1] + 0.02
        )
        top, left = out[:, :, 0].min(), out[:, :, 1].min()
        assert top >= -0.5 and left >= -0.5
        assert out[:, :, 0].max() <= h - 0.5 and out[:, :, 1].max() <= w - 0.5
    assert flips == {True, False} and np.ptp(areas) > 0.3


def test_worker_parts_split_every_global_batch():
    from keras_bmm.data.pipeline import worker_parts

    positions, sizes = worker_parts(11, 4, 0, 1, 1)
    np.testing.assert_array_equal(positions, np.arange(11))
    np.testing.assert_array_equal(sizes, [4, 4, 3])
    parts = [worker_parts(12, 4, w, 2, 2) for w in range(2)]
    # Global step k: worker 0's two replicas, then worker 1's, cover batch k.
    for step in range(3):
        covered = []
        for positions, sizes in parts:
            ends = np.cumsum(sizes)
            starts = ends - sizes
            for r in range(2):
                k = 2 * step + r
                covered.extend(positions[starts[k] : ends[k]])
        np.testing.assert_array_equal(covered, np.arange(4 * step, 4 * step + 4))
    np.testing.assert_array_equal(parts[0][1], [1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(parts[1][1], [1, 1, 1, 1, 1, 1])
    # 11 samples: a last batch of 3 for 4 replicas joins the one before (7: 2, 2, 2, 1).
    np.testing.assert_array_equal(worker_parts(11, 4, 0, 2, 2)[1], [1, 1, 2, 2])
    np.testing.assert_array_equal(worker_parts(11, 4, 1, 2, 2)[1], [1, 1, 2, 1])


@pytest.mark.parametrize(
    "n,batch,workers,replicas", [(9, 4, 1, 2), (11, 4, 2, 2), (13, 6, 1, 4), (40, 8, 3, 1)]
)
def test_worker_parts_give_every_replica_a_sample_and_every_sample_once(
    n, batch, workers, replicas
):
    """A last global batch smaller than the number of replicas (9 samples in batches
    of 4 on 2 replicas: a last batch of 1) would leave a replica an empty batch;
    it joins the batch before it instead, so no sample is dropped or repeated."""
    from keras_bmm.data.pipeline import worker_parts

    parts = workers * replicas
    # Independently: batches of `batch`, a too-small remainder merged into the last.
    expected = [batch] * (n // batch)
    if n % batch:
        if n % batch < parts:
            expected[-1] += n % batch
        else:
            expected.append(n % batch)
    results = [worker_parts(n, batch, w, workers, replicas) for w in range(workers)]
    assert all(len(sizes) == len(expected) * replicas for _, sizes in results)
    covered, start = [], 0
    for step, size in enumerate(expected):
        step_positions = []
        for positions, sizes in results:
            ends = np.cumsum(sizes)
            for r in range(replicas):
                k = step * replicas + r
                part = positions[ends[k] - sizes[k] : ends[k]]
                assert len(part) >= 1 and abs(len(part) - size / parts) < 1
                step_positions.extend(part)
        np.testing.assert_array_equal(step_positions, np.arange(start, start + size))
        covered.extend(step_positions)
        start += size
    np.testing.assert_array_equal(covered, np.arange(n))


def test_worker_parts_refuse_more_replicas_than_samples_or_batch():
    from keras_bmm.data.pipeline import worker_parts

    with pytest.raises(ValueError, match=r"batch size \(2\) must be at least the number of"):
        worker_parts(10, 2, 0, 1, 4)
    with pytest.raises(ValueError, match="3 training samples cannot give each of the 4"):
        worker_parts(3, 8, 0, 2, 2)


def test_sharded_streamed_pipelines_read_their_part_of_the_single_device_batches(tmp_path):
    from helpers.images import write_folder

    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6)
    data = load_dataset("folder", root, image_size=(8, 8), stream=True)

    def batches(shard):
        ds = data.train_batches(data.train_labels, 5, seed=2, augment=True, shard=shard)
        return [(x["index"].numpy(), x["image"].numpy()) for x, _ in ds]

    single = batches((0, 1, 1))
    workers = [batches((w, 2, 1)) for w in range(2)]
    assert [len(b) for b in workers] == [3, 3]
    for step, (index, image) in enumerate(single):
        mine = [workers[w][step] for w in range(2)]
        np.testing.assert_array_equal(np.concatenate([m[0] for m in mine]), index)
        np.testing.assert_array_equal(np.concatenate([m[1] for m in mine]), image)
    replicas = batches((0, 1, 2))  # one worker, two replicas: two batches per step
    np.testing.assert_array_equal(
        np.concatenate([i for i, _ in replicas]), np.concatenate([i for i, _ in single])
    )


def test_fit_from_initial_epoch_sees_that_epochs_batches():
    """`train_pipeline(epochs=None)` and `fit(initial_epoch=k)`: epoch k's batches,
    as in an uninterrupted run (the BootstrappingModel adds PipelineEpoch)."""
    import keras

    from keras_bmm import BootstrappingModel

    class Recorder(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seen = []

        def call(self, x, training=None):
            if training and hasattr(x, "numpy"):
                self.seen.append(x.numpy()[:, 0, 0, 0].astype(int).tolist())
            return x

    images = np.broadcast_to(np.arange(20, dtype=np.float32)[:, None, None, None], (20, 2, 2, 1))
    labels = np.arange(20) % 2

    def run(initial_epoch):
        recorder = Recorder()
        backbone = keras.Sequential(
            [keras.Input((2, 2, 1)), recorder, keras.layers.Flatten(), keras.layers.Dense(2)]
        )
        model = BootstrappingModel(backbone, method="ce", num_samples=20)
        model.compile(optimizer="sgd", run_eagerly=True)
        ds = train_pipeline(images, labels, 8, seed=4)
        model.fit(ds, epochs=3, initial_epoch=initial_epoch, verbose=0)
        return recorder.seen

    whole, resumed = run(0), run(2)
    assert len(whole) == 9 and len(resumed) == 3
    assert resumed == whole[6:]
    epochs = [sum(whole[3 * e : 3 * e + 3], []) for e in range(3)]
    assert all(sorted(e) == list(range(20)) for e in epochs) and epochs[0] != epochs[1]


def test_truncated_or_corrupt_archive_names_the_archive(tmp_path):
    import tarfile

    src = tmp_path / "src" / "train" / "a"
    src.mkdir(parents=True)
    for i in range(20):
        (src / f"{i}.bin").write_bytes(np.random.default_rng(i).bytes(20000))
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as archive:
        archive.add(tmp_path / "src", arcname="ds")
    data = good.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive" * 50)
    for archive in (cut, junk):
        with pytest.raises(ValueError, match=rf"{archive.name}' is truncated or corrupt"):
            extracted_folder(str(archive), cache=str(tmp_path / "cache"))
    assert not os.path.exists(tmp_path / "cache") or os.listdir(tmp_path / "cache") == []
    assert os.path.isdir(
        os.path.join(extracted_folder(str(good), cache=str(tmp_path / "c")), "train")
    )


@pytest.mark.parametrize(
    "message,reason",
    [
        ("Input is empty.", "the file is empty"),
        (
            "Unknown image file format. One of JPEG, PNG, GIF, BMP, WebP required.",
            "not an image (not JPEG, PNG, GIF, BMP or WebP data)",
        ),
        ("jpeg::Uncompress failed. Invalid JPEG data or crop window.", "truncated or corrupt JPEG"),
        ("Invalid PNG data, size 644", "truncated or corrupt PNG data"),
        ("Invalid GIF data (size 633), failed to open gif file", "truncated or corrupt GIF data"),
        (
            "Input size should match (header_size + row_size * abs_height) but they differ by -627",
            "truncated or corrupt BMP data",
        ),
        ("/data/x.png; No such file or directory", "the file does not exist"),
        ("/data/x.jpg; Is a directory", "a folder, not a file"),
        ("/data/x.png; Permission denied", "the file cannot be read (permission denied)"),
        ("Channels must be 1 or 3", "Channels must be 1 or 3"),  # unknown: TensorFlow's words
    ],
)
def test_undecodable_files_are_named_in_plain_words(message, reason):
    from keras_bmm.data.undecodable import plain_reason

    node = "__wrapped__DecodeImage_device_/job:localhost/replica:0/task:0/device:CPU:0"
    wrapped = f"{{{{function_node {node}}}}} {message} [Op:DecodeImage] name: "
    assert plain_reason(wrapped).startswith(reason)


def test_ordered_pipelines_know_their_number_of_batches(tmp_path):
    """Evaluation and tracking pipelines, read from memory in chunks or streamed from
    files, tell tf.data (and so Keras) their number of batches: 130 images in batches
    of 32 are 5 batches, 12 in batches of 5 are 3; a pipeline that may leave out bad
    files does not know it."""
    from helpers.images import write_folder

    images = np.zeros((130, 4, 4, 3), np.uint8)
    for indexed in (False, True):
        ds = eval_pipeline(images, np.zeros(130, int), 32, indexed=indexed)
        assert int(ds.cardinality()) == 5 and sum(1 for _ in ds) == 5
    root = write_folder(tmp_path / "ds", ["a", "b"], per_class=6, splits=("train", "test"))
    for stream in (False, True):
        data = load_dataset("folder", root, image_size=(8, 8), stream=stream)
        for ds in (data.tracking_batches(data.train_labels, 5), data.eval_batches(5)):
            assert int(ds.cardinality()) == 3 and sum(1 for _ in ds) == 3
    skipping = load_dataset("folder", root, image_size=(8, 8), stream=True, skip_bad_files=True)
    ds = skipping.tracking_batches(skipping.train_labels, 5)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY and sum(1 for _ in ds) == 3
