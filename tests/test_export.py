import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bmm import BootstrappingModel, export_classifier
from keras_bmm.export import next_version


def tiny_model():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    model = BootstrappingModel(keras.Model(inputs, keras.layers.Dense(3)(x)), method="ce")
    model.build((None, 4, 4, 1))
    return model


def test_versions_and_probabilities(tmp_path):
    model = tiny_model()
    first = export_classifier(model, str(tmp_path / "m"), (4, 4, 1), extra_files={"a.txt": "x"})
    second = export_classifier(model, str(tmp_path / "m"), (4, 4, 1))
    assert first.endswith(os.sep + "1") and second.endswith(os.sep + "2")
    assert next_version(str(tmp_path / "m")) == 3
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]  # no staging folder left
    serve = tf.saved_model.load(first).signatures["serving_default"]
    images = np.random.default_rng(0).random((5, 4, 4, 1)).astype(np.float32)
    out = serve(image=tf.constant(images))
    expected = tf.nn.softmax(model.predict(images, verbose=0)).numpy()
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert open(os.path.join(first, "assets", "a.txt")).read() == "x"


def test_existing_version_is_refused_unless_overwrite(tmp_path):
    model = tiny_model()
    export_classifier(model, str(tmp_path), (4, 4, 1), version=3)
    with pytest.raises(FileExistsError, match="already exists"):
        export_classifier(model, str(tmp_path), (4, 4, 1), version=3)
    assert export_classifier(model, str(tmp_path), (4, 4, 1), version=3, overwrite=True)


def test_failed_export_leaves_no_version_folder(tmp_path, monkeypatch):
    def broken_save(obj, export_dir, *args, **kwargs):
        os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
        open(os.path.join(export_dir, "saved_model.pb"), "w").write("half")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_classifier(tiny_model(), str(tmp_path), (4, 4, 1))
    assert os.listdir(tmp_path) == []


CLASSES = ("cat", "dog", "eel")


def uint8_model(shape=(4, 4, 3), **kwargs):
    """A classifier on raw uint8-range pixels with its normalisation inside.

    Flattened pixels into a dense layer: every output depends on where each pixel is.
    """
    inputs = keras.Input(shape, name="image")
    x = keras.layers.Normalization(mean=[120.0, 110.0, 100.0], variance=[3600.0] * 3)(inputs)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(seed=1))(x)
    model = BootstrappingModel(keras.Model(inputs, logits), **{"method": "ce", **kwargs})
    model.build((None, *shape))
    return model


def raw_images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 4, 3), dtype=np.uint8)


def test_uint8_signatures_and_top_k(tmp_path):
    model = uint8_model()
    path = export_classifier(
        model,
        str(tmp_path),
        (4, 4, 3),
        input_dtype="uint8",
        class_names=CLASSES,
        top_k=2,
        extra_files={"config.json": "{}"},
    )
    loaded = tf.saved_model.load(path)
    images = raw_images(6)
    expected = tf.nn.softmax(model.predict(images.astype(np.float32), verbose=0)).numpy()
    out = loaded.signatures["serving_default"](image=tf.constant(images))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["classes"].numpy(), expected.argmax(1))
    top = loaded.signatures["top_k"](image=tf.constant(images))
    order = np.argsort(-expected, axis=1)[:, :2]
    np.testing.assert_array_equal(top["top_k_classes"].numpy(), order)
    np.testing.assert_allclose(
        top["top_k_probabilities"].numpy(), np.take_along_axis(expected, order, 1), rtol=1e-5
    )
    names = top["top_k_class_names"].numpy().astype(str)
    np.testing.assert_array_equal(names, np.array(CLASSES)[order])
    with open(os.path.join(path, "assets", "class_names.txt")) as f:
        assert f.read().split() == list(CLASSES)
    assert os.path.exists(os.path.join(path, "assets", "config.json"))


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 4, 4, 3), np.float32),  # wrong dtype
        np.zeros((2, 4, 4, 1), np.uint8),  # wrong number of channels
        np.zeros((2, 4, 4), np.uint8),  # no channel axis
    ],
)
def test_signature_rejects_wrong_channels_or_dtype(tmp_path, images):
    path = export_classifier(uint8_model(), str(tmp_path), (4, 4, 3), input_dtype="uint8")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        serve(image=tf.constant(images))


def softmax_of(model, images):
    """The model's probabilities for images already at its input size (uint8 or float)."""
    return tf.nn.softmax(model.predict(np.asarray(images, np.float32), verbose=0)).numpy()


def test_images_of_any_size_are_resized_as_training_decodes_files(tmp_path):
    """A 100x140 image is served as the training pipelines resize its file: the same
    probabilities as the image resized first (bilinear, rounded to uint8) and fed at
    the trained size. The trained size is not square, so height and width differ."""
    from keras_bmm.data.decoding import decode_resized
    from keras_bmm.data.folder import decode_images

    size = (6, 5)
    model = uint8_model((*size, 3))
    path = export_classifier(
        model, str(tmp_path / "m"), (*size, 3), input_dtype="uint8", class_names=CLASSES, top_k=2
    )
    loaded = tf.saved_model.load(path)
    images = np.random.default_rng(4).integers(0, 256, (3, 100, 140, 3), dtype=np.uint8)
    files = []
    for i, image in enumerate(images):  # PNG: lossless, decodes to these pixels
        (tmp_path / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
        files.append(str(tmp_path / f"{i}.png"))
    streamed = np.stack([decode_resized(f, size).numpy() for f in files])  # file_source
    in_memory = decode_images(files, image_size=size)  # load_image_folder, load_file_table
    np.testing.assert_array_equal(streamed, in_memory)
    expected = softmax_of(model, in_memory)

    served = loaded.signatures["serving_default"](image=tf.constant(images))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(served["classes"].numpy(), expected.argmax(1))
    resized_first = loaded.signatures["serving_default"](image=tf.constant(in_memory))
    np.testing.assert_allclose(
        served["probabilities"].numpy(), resized_first["probabilities"].numpy(), rtol=1e-6, atol=0
    )
    top = loaded.signatures["top_k"](image=tf.constant(images))
    order = np.argsort(-expected, axis=1)[:, :2]
    np.testing.assert_array_equal(top["top_k_classes"].numpy(), order)
    np.testing.assert_allclose(
        top["top_k_probabilities"].numpy(), np.take_along_axis(expected, order, 1), rtol=1e-6
    )


def test_float_images_of_any_size_are_resized(tmp_path):
    """A float32 export (the digits) resizes too, bilinear, without rounding."""
    from keras_bmm.data.augment import resize_image

    model = tiny_model()
    serve = tf.saved_model.load(export_classifier(model, str(tmp_path), (4, 4, 1))).signatures[
        "serving_default"
    ]
    images = np.random.default_rng(5).random((2, 9, 7, 1)).astype(np.float32)
    resized = np.stack([resize_image(tf.constant(image), (4, 4)).numpy() for image in images])
    out = serve(image=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(out, softmax_of(model, resized), rtol=1e-6, atol=1e-7)


def test_serving_default_returns_class_names(tmp_path):
    model = uint8_model()
    named = export_classifier(
        model, str(tmp_path / "named"), (4, 4, 3), input_dtype="uint8", class_names=CLASSES
    )
    images = raw_images(8, seed=6)
    expected = softmax_of(model, images)
    assert len(set(expected.argmax(1))) > 1  # the names are not all one class
    out = tf.saved_model.load(named).signatures["serving_default"](image=tf.constant(images))
    assert set(out) == {"probabilities", "classes", "class_names"}
    assert out["class_names"].dtype == tf.string
    names = out["class_names"].numpy().astype(str)
    np.testing.assert_array_equal(names, np.array(CLASSES)[expected.argmax(1)])
    # Without class names, the outputs are the ones clients had before.
    plain = export_classifier(model, str(tmp_path / "plain"), (4, 4, 3), input_dtype="uint8")
    out = tf.saved_model.load(plain).signatures["serving_default"](image=tf.constant(images))
    assert set(out) == {"probabilities", "classes"}


#: Names of the training state a served model must not carry.
TRAINING_STATE = (
    "loss_record",
    "previous_losses",
    "posterior_table",
    "noise_state",
    "seed_generator",
)


def test_export_holds_the_classifier_alone(tmp_path):
    """No per-sample training state (N x 3 loss record, N previous losses) nor the
    mixture goes into the served artifact: only the backbone's variables."""
    num_samples = 37  # a size no classifier variable has
    model = uint8_model(method="m-dyr-h", num_samples=num_samples, warmup_epochs=1)
    names = {v.path for v in model.variables}
    assert {"loss_record", "noise_state/previous_losses"} <= names
    path = export_classifier(
        model, str(tmp_path), (4, 4, 3), input_dtype="uint8", class_names=CLASSES
    )
    loaded = tf.saved_model.load(path)
    found = {
        id(t): t for t in tf.train.TrackableView(loaded).descendants() if isinstance(t, tf.Variable)
    }.values()
    loaded_names = {v.name.split(":")[0] for v in found}
    assert not [n for n in loaded_names if any(s in n for s in TRAINING_STATE)], loaded_names
    backbone = model.backbone.variables
    assert loaded_names == {v.path for v in backbone}
    assert len(loaded.variables) == len(backbone)
    for variable in found:  # the trained values
        (original,) = [v for v in backbone if v.path == variable.name.split(":")[0]]
        np.testing.assert_array_equal(variable.numpy(), original.numpy())
    # On disk: nothing of the per-sample size.
    saved = tf.train.list_variables(os.path.join(path, "variables", "variables"))
    assert not [(k, s) for k, s in saved if num_samples in s], saved


def test_rest_request_in_a_fresh_process(tmp_path):
    """The JSON body of TF Serving's REST predict API, decoded into tensors as
    the server does, gives the same outputs as `model.predict`."""
    import json
    import subprocess
    import sys

    model = uint8_model()
    path = export_classifier(
        model, str(tmp_path / "m"), (4, 4, 3), input_dtype="uint8", class_names=CLASSES
    )
    images = raw_images(5, seed=3)
    body = json.dumps({"signature_name": "serving_default", "instances": images.tolist()})
    (tmp_path / "request.json").write_text(body)
    code = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "request = json.load(open(sys.argv[2]))\n"
        "fn = tf.saved_model.load(sys.argv[1]).signatures[request['signature_name']]\n"
        "spec = fn.structured_input_signature[1]['image']\n"
        "batch = tf.constant(np.array(request['instances']), dtype=spec.dtype)\n"
        "out = fn(image=batch)\n"
        "print(json.dumps({'predictions': [{'probabilities': p, 'classes': c} for p, c in zip("
        "out['probabilities'].numpy().tolist(), out['classes'].numpy().tolist())]}))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", code, path, str(tmp_path / "request.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    predictions = json.loads(proc.stdout.strip().splitlines()[-1])["predictions"]
    expected = tf.nn.softmax(model.predict(images.astype(np.float32), verbose=0)).numpy()
    got = np.array([p["probabilities"] for p in predictions])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert [p["classes"] for p in predictions] == expected.argmax(1).tolist()


def modes(root):
    """`{path relative to root: permission bits}` of every folder and file under root."""
    found = {".": os.stat(root).st_mode & 0o777}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.stat(path).st_mode & 0o777
    return found


def test_export_is_readable_by_other_users(tmp_path):
    """Under the usual umask 022, every folder is 0755 and every file 0644, so that a
    TF Serving container running as another user can read the model."""
    previous = os.umask(0o022)
    try:
        path = export_classifier(
            uint8_model(), str(tmp_path / "m"), (4, 4, 3), input_dtype="uint8", class_names=CLASSES
        )
    finally:
        os.umask(previous)
    found = modes(path)
    assert "variables" in found and os.path.join("assets", "class_names.txt") in found
    expected = {name: 0o755 if os.path.isdir(os.path.join(path, name)) else 0o644 for name in found}
    assert {k: oct(v) for k, v in found.items()} == {k: oct(v) for k, v in expected.items()}


STAGING_OWNER = """
import sys, time
from keras_bmm.atomic import atomic_directory
with atomic_directory(sys.argv[1]) as staging:
    print(staging, flush=True)
    time.sleep(600)
"""


def test_staging_folders_of_killed_exports_are_removed_by_the_next(tmp_path):
    """A killed export leaves its staging folder; the next export removes it, but not
    the staging folder of an export still running (a live process owns it)."""
    import signal
    import subprocess
    import sys

    model_dir = tmp_path / "m"

    def start_export(version):
        proc = subprocess.Popen(
            [sys.executable, "-c", STAGING_OWNER, str(model_dir / str(version))],
            stdout=subprocess.PIPE,
            text=True,
        )
        return proc, proc.stdout.readline().strip()

    killed, stale = start_export(7)
    running, live = start_export(8)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        assert os.path.isdir(stale) and os.path.basename(stale).startswith(".7.tmp-")
        export_classifier(tiny_model(), str(model_dir), (4, 4, 1), version=1)
        assert not os.path.exists(stale)
        assert os.path.isdir(live)  # its owner is still running
    finally:
        running.kill()
        running.wait(timeout=60)
    export_classifier(tiny_model(), str(model_dir), (4, 4, 1), version=2)
    assert sorted(os.listdir(model_dir)) == ["1", "2"]


def test_atomic_directory_gives_every_entry_the_usual_permissions(tmp_path):
    from keras_bmm.atomic import atomic_directory

    previous = os.umask(0o022)
    try:
        with atomic_directory(str(tmp_path / "out")) as staging:
            os.makedirs(os.path.join(staging, "sub"), mode=0o700)
            os.close(
                os.open(os.path.join(staging, "sub", "secret"), os.O_CREAT | os.O_WRONLY, 0o600)
            )
            os.close(os.open(os.path.join(staging, "tool"), os.O_CREAT | os.O_WRONLY, 0o700))
    finally:
        os.umask(previous)
    found = {k: oct(v) for k, v in modes(str(tmp_path / "out")).items()}
    assert found == {
        ".": "0o755",
        "sub": "0o755",
        os.path.join("sub", "secret"): "0o644",
        "tool": "0o755",
    }


def test_a_model_of_other_classes_is_not_a_new_version(tmp_path):
    """Two datasets' runs of one name would share a model folder: TF Serving would
    serve the second in place of the first."""
    model = uint8_model()
    for _ in range(2):
        export_classifier(model, str(tmp_path), (4, 4, 3), input_dtype="uint8", class_names=CLASSES)
    with pytest.raises(ValueError, match=r"serves a model of other classes \(version 2"):
        export_classifier(model, str(tmp_path), (4, 4, 3), class_names=("x", "y", "z"))
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]
