"""Pretrained backbones: building, training, export, weights files, freezing, bad input.

Everything runs offline with `weights="none"` or weights files the tests
write; keras-hub is exercised through a local preset folder of a small
`ResNetBackbone`, loaded by the same `from_preset` code as a downloaded one.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bmm import BMMCallback, BootstrappingModel, TrainConfig, export_classifier, train
from keras_bmm.backbones import (
    ApplicationPreprocessing,
    FreezeBackbone,
    build,
    feature_extractor,
    load_backbone_weights,
    save_backbone_weights,
)
from keras_bmm.training.config import ConfigError

SIZE = (32, 32)


def make_hub_preset(folder):
    """A small keras-hub ResNet saved as a local preset (config, weights, image converter)."""
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 32],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
    )
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(224, 224), scale=1 / 127.5, offset=-1.0
    )
    backbone.save_to_preset(str(folder))
    converter.save_to_preset(str(folder))
    return str(folder), backbone


def pixels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *SIZE, 3)).astype(np.uint8)


def weights_of(model):
    return [w.numpy().copy() for w in model.weights]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------
# Each family: build offline, one training step, a uint8 SavedModel.


@pytest.mark.parametrize(
    "name",
    [
        "MobileNetV3Small",  # keras.applications, preprocessing inside the application
        "VGG16",  # keras.applications, preprocess_input "caffe" mode (BGR, mean)
        "hub",  # keras-hub preset (local folder), the image converter's scale/offset
    ],
)
def test_family_builds_trains_a_step_and_exports_uint8(name, tmp_path):
    if name == "hub":
        name, _ = make_hub_preset(tmp_path / "preset")
    classifier = build(name, 3, weights="none", image_size=SIZE)
    assert classifier.input_shape == (None, *SIZE, 3) and classifier.output_shape == (None, 3)
    model = BootstrappingModel(classifier, method="ce", num_samples=4)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    images, labels = pixels(4), np.array([0, 1, 2, 0])
    before = weights_of(classifier.get_layer("logits"))
    history = model.fit(
        {"image": images.astype(np.float32), "index": np.arange(4)},
        labels,
        batch_size=4,
        epochs=1,
        verbose=0,
        callbacks=[BMMCallback()],
    )
    assert np.isfinite(history.history["loss"][0])
    assert not np.array_equal(before[0], classifier.get_layer("logits").kernel.numpy())
    path = export_classifier(model, str(tmp_path / "export"), (*SIZE, 3), input_dtype="uint8")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    spec = serve.structured_input_signature[1]["image"]
    assert spec.dtype == tf.uint8 and tuple(spec.shape) == (None, None, None, 3)
    served = serve(image=tf.constant(images))["probabilities"].numpy()
    expected = tf.nn.softmax(model.predict(images.astype(np.float32), verbose=0)).numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)


def test_application_preprocessing_matches_hand_computed_values(tmp_path):
    """Raw red, black and mid-grey pixels through each kind of ImageNet preprocessing."""
    image = np.array([[[255, 0, 0], [0, 0, 0], [127.5, 127.5, 127.5]]], np.float32)[None]
    caffe = ApplicationPreprocessing("resnet")(image).numpy()[0, 0]
    # RGB -> BGR, minus the ImageNet mean in BGR order.
    np.testing.assert_allclose(caffe[0], [-103.939, -116.779, 255 - 123.68], rtol=1e-6)
    np.testing.assert_allclose(caffe[1], [-103.939, -116.779, -123.68], rtol=1e-6)
    tf_mode = ApplicationPreprocessing("mobilenet_v2")(image).numpy()[0, 0]
    np.testing.assert_allclose(tf_mode, [[1, -1, -1], [-1, -1, -1], [0, 0, 0]], atol=1e-6)
    torch_mode = ApplicationPreprocessing("densenet")(image).numpy()[0, 0]
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(torch_mode[0], (np.array([1, 0, 0]) - mean) / std, rtol=1e-5)
    # A real layer: it saves and loads in the .keras format (no Lambda).
    inputs = keras.Input((1, 3, 3))
    model = keras.Model(inputs, ApplicationPreprocessing("resnet")(inputs))
    model.save(tmp_path / "p.keras")
    loaded = keras.saving.load_model(tmp_path / "p.keras")
    np.testing.assert_allclose(loaded.predict(image, verbose=0)[0, 0], caffe, rtol=1e-6)


def test_classifier_saves_and_loads_as_keras_file(tmp_path):
    model = BootstrappingModel(build("VGG16", 2, weights="none", image_size=SIZE), method="ce")
    model.build((None, *SIZE, 3))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    images = pixels(2).astype(np.float32)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5, atol=1e-5
    )


# ----------------------------------------------------------------------------
# Weights files.


def test_feature_extractor_file_round_trips_with_a_new_head(tmp_path):
    trained = build("VGG16", 5, weights="none", image_size=SIZE)
    path = save_backbone_weights(trained, str(tmp_path / "features.weights.h5"))
    keras.utils.set_random_seed(1)
    fresh_head = weights_of(build("VGG16", 3, weights="none", image_size=SIZE).get_layer("logits"))
    keras.utils.set_random_seed(1)
    loaded = build("VGG16", 3, weights=path, image_size=SIZE)
    assert_same(weights_of(feature_extractor(loaded)), weights_of(feature_extractor(trained)))
    # The head is the new one a fresh model gets, for the new class count.
    assert_same(weights_of(loaded.get_layer("logits")), fresh_head)


def test_classifier_files_load_whole_for_the_same_classes(tmp_path):
    model = BootstrappingModel(build("VGG16", 3, weights="none", image_size=SIZE), method="ce")
    model.build((None, *SIZE, 3))
    model.backbone.save_weights(tmp_path / "classifier.weights.h5")
    model.save(tmp_path / "run.keras")  # a whole BootstrappingModel
    for path in ("classifier.weights.h5", "run.keras"):
        other = build("VGG16", 3, weights="none", image_size=SIZE)
        assert load_backbone_weights(other, str(tmp_path / path)) == "classifier"
        assert_same(weights_of(other), weights_of(model.backbone))


def test_weights_path_through_the_config_and_train(tmp_path):
    """`weights=PATH` in a run: the first (frozen) epoch leaves the loaded features as loaded."""
    pretrained = build("VGG16", 3, weights="none", image_size=SIZE)
    path = save_backbone_weights(pretrained, str(tmp_path / "pre.weights.h5"))
    seen = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = weights_of(feature_extractor(self.model))

    result = train(
        run_config(tmp_path, "run", weights=path, freeze_epochs=1, epochs=2),
        export=False,
        callbacks=[Record()],
    )
    assert result.config.weights == path
    assert_same(seen[0], weights_of(feature_extractor(pretrained)))
    assert not np.array_equal(seen[1][0], seen[0][0])


# ----------------------------------------------------------------------------
# The head-only phase.


def small_classifier():
    """A small feature extractor with batch normalisation, wrapped by `build`."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    extractor = keras.Model(inputs, x, name="small")
    return build(extractor, 3, preprocessing=keras.layers.Rescaling(1 / 255))


def test_frozen_phase_trains_the_head_alone():
    keras.utils.set_random_seed(0)
    classifier = small_classifier()
    extractor = feature_extractor(classifier)
    model = BootstrappingModel(classifier, method="mixup", num_samples=16, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    initial, initial_head = weights_of(extractor), weights_of(classifier.get_layer("logits"))
    snapshots = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((weights_of(extractor), weights_of(classifier.get_layer("logits"))))

    images = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3)).astype(np.float32)
    labels = np.arange(16) % 3
    model.fit(
        {"image": images, "index": np.arange(16)},
        labels,
        batch_size=4,
        epochs=3,
        verbose=0,
        callbacks=[FreezeBackbone(2), Record()],
    )
    names = [w.path for w in extractor.weights]
    assert any("moving_mean" in n for n in names)
    for features, head in snapshots[:2]:
        # Every feature-extractor weight, the batch-norm statistics included, as initialised.
        assert_same(features, initial)
        assert not np.array_equal(head[0], initial_head[0])
    changed = [not np.array_equal(a, b) for a, b in zip(snapshots[2][0], initial)]
    assert all(changed), [n for n, c in zip(names, changed) if not c]
    assert extractor.trainable  # left trainable after fit


def run_config(tmp_path, name, **kwargs):
    root = tmp_path / "images"
    if not root.exists():
        rng = np.random.default_rng(0)
        for split, count in (("train", 8), ("test", 2)):
            for label in ("a", "b", "c"):
                os.makedirs(root / split / label)
                for i in range(count):
                    image = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
                    tf.io.write_file(
                        str(root / split / label / f"{i}.png"), tf.io.encode_png(image)
                    )
    values = dict(
        dataset="folder",
        data_dir=str(root),
        backbone="VGG16",
        weights="none",
        image_size=SIZE,
        noise=0.5,
        method="m-dyr-h",
        epochs=3,
        warmup_epochs=1,
        freeze_epochs=2,
        batch_size=6,
        learning_rate=0.01,
        lr_milestones=(),
        augment=False,
        run_dir=str(tmp_path / name),
        output=str(tmp_path / "exported"),
        verbose=0,
    )
    values.update(kwargs)
    return TrainConfig(**values)


class Crash(keras.callbacks.Callback):
    """Simulates a killed process in the middle of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.crash_epoch, self.current = epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.crash_epoch and batch == 2:
            raise KeyboardInterrupt("simulated crash")


def test_run_stopped_during_and_after_the_frozen_phase_resumes_exactly(tmp_path):
    whole = train(run_config(tmp_path, "whole"), export=True)
    with pytest.raises(KeyboardInterrupt):  # in epoch 1: frozen
        train(run_config(tmp_path, "split"), export=False, callbacks=[Crash(1)])
    with pytest.raises(KeyboardInterrupt):  # in epoch 2: the whole network trains
        train(run_config(tmp_path, "split"), export=False, resume=True, callbacks=[Crash(2)])
    resumed = train(run_config(tmp_path, "split"), export=False, resume=True)
    assert len(resumed.history["loss"]) == 3
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    np.testing.assert_allclose(resumed.history["loss"], whole.history["loss"], rtol=1e-4)
    # The exported model takes raw uint8 pixels of any size (resized to the backbone's).
    serve = tf.saved_model.load(whole.export_path).signatures["serving_default"]
    spec = serve.structured_input_signature[1]["image"]
    assert spec.dtype == tf.uint8 and tuple(spec.shape) == (None, None, None, 3)


# ----------------------------------------------------------------------------
# Bad input: a clear error before training.


def test_unknown_backbone_lists_the_known_ones():
    with pytest.raises(ConfigError, match="Unknown backbone 'ResNet5O'") as info:
        TrainConfig(backbone="ResNet5O").resolved()
    assert info.value.field == "backbone"
    message = str(info.value)
    assert "Did you mean 'ResNet50'" in message
    for known in ("EfficientNetV2B0", "MobileNetV3Small", "ConvNeXtTiny", "resnet_50_imagenet"):
        assert known in message
    with pytest.raises(ValueError, match="Unknown backbone 'nope'"):
        build("nope", 3)
    # Names are matched without case and stored in their canonical spelling.
    config = TrainConfig(backbone="mobilenetv3small", weights="None").resolved()
    assert (config.backbone, config.weights, config.freeze_epochs) == (
        "MobileNetV3Small",
        "none",
        0,
    )
    assert config.name == "digits-MobileNetV3Small-m-dyr-h-0-weightsnone"


@pytest.mark.parametrize(
    "typed,first",
    [
        ("EfficientNetV2BO", "EfficientNetV2B0"),  # the letter O for the digit 0
        ("EfficientNetBO", "EfficientNetB0"),
        ("ResNet5O", "ResNet50"),
        ("resnet_5O_imagenet", "resnet_50_imagenet"),
        ("MobileNetV3Smal", "MobileNetV3Small"),
        ("VGGl6", "VGG16"),
    ],
)
def test_a_mistyped_backbone_suggests_the_most_similar_name_first(typed, first):
    with pytest.raises(ConfigError) as info:
        TrainConfig(backbone=typed).resolved()
    hint = str(info.value).split("Did you mean ", 1)[1].split("?", 1)[0]
    assert hint.split(" or ")[0] == repr(first), hint


def test_keras_hub_presets_listed_exist_in_keras_hub():
    keras_hub = pytest.importorskip("keras_hub")
    from keras_bmm.backbones import HUB_PRESETS

    missing = sorted(set(HUB_PRESETS) - set(keras_hub.models.ImageClassifier.presets))
    assert not missing, f"keras-hub no longer has the presets {missing}"


def test_keras_hub_backbone_without_keras_hub_names_the_extra(monkeypatch):
    from keras_bmm.training import backbone_settings

    monkeypatch.setattr(backbone_settings, "hub_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"keras-hub is not installed.*keras-bmm\[hub\]"):
        TrainConfig(backbone="resnet_50_imagenet").resolved()


def test_weights_file_of_another_architecture_or_class_count(tmp_path):
    vgg16 = build("VGG16", 5, weights="none", image_size=SIZE)
    features = save_backbone_weights(vgg16, str(tmp_path / "vgg16.weights.h5"))
    with pytest.raises(ValueError, match="does not hold weights of backbone 'vgg19'") as info:
        build("VGG19", 5, weights=features, image_size=SIZE)
    assert "weights of 'vgg16', 26 weight arrays" in str(info.value)
    vgg16.save_weights(tmp_path / "classifier.weights.h5")
    vgg16.save(tmp_path / "classifier.keras")
    for path in ("classifier.weights.h5", "classifier.keras"):
        with pytest.raises(ValueError, match="5-class head, but the model has 3 classes"):
            build("VGG16", 3, weights=str(tmp_path / path), image_size=SIZE)


FOLDER = dict(preset="finetune", data_dir="images")


@pytest.mark.parametrize(
    "kwargs,field,message",
    [
        (
            dict(**FOLDER, image_size=(16, 16)),
            "image_size",
            r"\(16, 16\) is smaller than backbone "
            "ResNet50",
        ),
        (dict(**FOLDER, backbone="Xception", image_size=(64, 70)), "image_size", "at least 71x71"),
        (dict(**FOLDER, weights="missing.weights.h5"), "weights", "'missing.weights.h5' does not"),
        (dict(**FOLDER, weights="model.h5"), "weights", "a .weights.h5 or .keras file"),
        (dict(**FOLDER, freeze_epochs=11), "freeze_epochs", r"in \[0, epochs\] = \[0, 10\]"),
        (dict(weights="none"), "weights", "weights applies to a pretrained backbone"),
        (dict(freeze_epochs=1), "freeze_epochs", "set backbone too"),
    ],
)
def test_bad_backbone_settings(kwargs, field, message):
    with pytest.raises(ConfigError, match=message) as info:
        TrainConfig(**kwargs).resolved()
    assert info.value.field == field


def test_image_folders_default_to_the_backbone_resolution(tmp_path):
    for name, size in (("ResNet50", 224), ("EfficientNetB3", 300), ("InceptionV3", 299)):
        config = TrainConfig(**FOLDER, backbone=name).resolved()
        assert config.image_size == (size, size) and config.weights == "imagenet"
    run_dir, output = tmp_path / "run", tmp_path / "export"
    config = TrainConfig(
        backbone="VGG16",
        weights="none",
        epochs=2,
        warmup_epochs=1,
        verbose=0,
        run_dir=str(run_dir),
        output=str(output),
    )
    with pytest.raises(ValueError, match="at least 32x32"):  # the 8x8 digits
        train(config)
    # The model is built after the run folder is started: a failure there leaves nothing.
    assert os.listdir(tmp_path) == []


def test_imagenet_weights_offline_name_the_file(monkeypatch, tmp_path):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError) as info:
        build("MobileNetV3Small", 3, weights="imagenet", image_size=SIZE)
    message = str(info.value)
    assert "Could not fetch the ImageNet weights of MobileNetV3Small from https://" in message
    assert "models/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in message
    assert "pass weights as the path of a .weights.h5 or .keras file" in message


def test_train_script_prints_the_offline_imagenet_message_alone(monkeypatch, tmp_path):
    """`train.py --weights imagenet` offline: one line, the message, no traceback, and
    no run folder left behind (the model is built after the folder is started)."""
    import importlib.util
    import urllib.error
    import urllib.request

    from helpers.images import write_folder

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(tmp_path / "keras"))
    root = write_folder(tmp_path / "images", ["a", "b"], per_class=3)
    script_path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "train.py")
    spec = importlib.util.spec_from_file_location("train_script", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--dataset", "folder", "--data-dir", root, "--image-size", "32", "32"]
    argv += ["--backbone", "MobileNetV3Small", "--weights", "imagenet", "--epochs", "5"]
    argv += ["--run-dir", str(tmp_path / "run"), "--output", str(tmp_path / "export")]
    with pytest.raises(SystemExit) as info:
        script.main(argv + ["--verbose", "0"])
    message = info.value.code
    assert isinstance(message, str), message  # sys.exit(text): the text alone, status 1
    assert message.startswith(
        "train.py: error: Could not fetch the ImageNet weights of MobileNetV3Small from https://"
    )
    assert "Traceback" not in message and "weights='none'" in message
    assert not os.path.exists(tmp_path / "run") and not os.path.exists(tmp_path / "export")


def test_keras_hub_preset_offline_names_the_handle(monkeypatch, tmp_path):
    pytest.importorskip("keras_hub")
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("no network in tests")

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    monkeypatch.setattr(requests.Session, "send", offline)
    with pytest.raises(ConnectionError) as info:
        build("resnet_18_imagenet", 3, weights="none", image_size=SIZE)
    message = str(info.value)
    assert "'resnet_18_imagenet' (kaggle://keras/resnetv1/keras/resnet_18_imagenet/" in message
    assert "even with weights='none'" in message and "save_to_preset(DIR)" in message


def test_keras_hub_preset_weights_load_from_a_local_folder(tmp_path):
    folder, backbone = make_hub_preset(tmp_path / "preset")
    pretrained = build(folder, 3, weights="imagenet", image_size=SIZE)
    assert_same(weights_of(feature_extractor(pretrained)), weights_of(backbone))
    random = build(folder, 3, weights="none", image_size=SIZE)
    assert not np.array_equal(
        feature_extractor(random).weights[0].numpy(), backbone.weights[0].numpy()
    )
    # The converter's scale and offset run inside: mid-grey becomes 0.
    rescaling = pretrained.get_layer("rescaling")
    np.testing.assert_allclose(rescaling(np.full((1, 2, 2, 3), 127.5)).numpy(), 0.0, atol=1e-6)


def test_flags_and_errors_on_the_command_line(capsys):
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("train_script", f"{root}/scripts/train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    config, _ = script.parse_args(["--preset", "finetune", "--data-dir", "x", "--weights", "none"])
    assert (config.backbone, config.weights, config.image_size) == ("ResNet50", "none", (224, 224))
    for argv, message in (
        (["--backbone", "nope"], "Unknown backbone 'nope'"),
        (
            ["--preset", "finetune", "--data-dir", "x", "--freeze-epochs", "20"],
            "--freeze-epochs must be in [0, epochs] = [0, 10], got 20",
        ),
        (["--freeze-epochs", "1"], "--freeze-epochs applies to a pretrained backbone"),
    ):
        with pytest.raises(SystemExit):
            script.parse_args(argv)
        assert message in capsys.readouterr().err


def test_backbone_settings_resolve_without_tensorflow(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from keras_bmm.training.cli import config_from_args\n"
        "c = config_from_args({'preset': 'finetune', 'data_dir': 'x'})\n"
        "assert c.backbone == 'ResNet50' and c.image_size == (224, 224)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, timeout=120)


def test_finetune_preset_and_mixed_precision_on_gpus_only(monkeypatch):
    from keras_bmm.training.builders import uses_mixed_precision

    config = TrainConfig(preset="finetune", data_dir="images").resolved()
    assert config.dataset == "folder" and config.image_size == (224, 224)
    assert (config.epochs, config.warmup_epochs, config.freeze_epochs) == (10, "auto", 1)
    assert config.mixed_precision == "auto" and config.weights == "imagenet"
    assert not uses_mixed_precision(config)  # this machine has no GPU
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert uses_mixed_precision(config)
    assert not uses_mixed_precision(
        TrainConfig(preset="finetune", data_dir="images", mixed_precision=False).resolved()
    )
    with pytest.raises(ConfigError, match="data_dir is required for the folder dataset"):
        TrainConfig(preset="finetune").resolved()
    # The other presets keep their own models.
    assert TrainConfig(preset="paper").resolved().backbone is None


def test_frozen_phase_under_mixed_precision():
    """Under mixed_float16 the head computes in float32 and the frozen phase still applies."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        classifier = small_classifier()
        model = BootstrappingModel(classifier, method="ce", num_samples=8)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    finally:
        keras.config.set_dtype_policy(policy)
    assert classifier.get_layer("logits").compute_dtype == "float32"
    assert feature_extractor(classifier).compute_dtype == "float16"
    initial = weights_of(feature_extractor(classifier))
    images = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3)).astype(np.float32)
    model.fit(
        {"image": images, "index": np.arange(8)},
        np.arange(8) % 3,
        batch_size=4,
        epochs=1,
        verbose=0,
        callbacks=[FreezeBackbone(1), BMMCallback()],
    )
    assert_same(weights_of(feature_extractor(classifier)), initial)
    assert classifier(images).dtype == "float32"


# ----------------------------------------------------------------------------
# docs/backbones.md


def test_docs_commands_parse_and_python_example_runs(tmp_path, monkeypatch):
    import importlib.util
    import re
    import shlex

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "docs", "backbones.md")).read()
    scripts = {}
    for name in ("train", "benchmark"):
        spec = importlib.util.spec_from_file_location(f"{name}_doc", f"{root}/scripts/{name}.py")
        scripts[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(scripts[name])
    commands = re.findall(r"^python scripts/(train|benchmark)\.py (.*)$", text, re.M)
    assert len(commands) >= 5
    for script, args in commands:
        argv = shlex.split(args)
        if script == "train":
            config, _ = scripts["train"].parse_args(argv)
            assert config.backbone
        else:
            scripts["benchmark"].build_parser().parse_args(argv)
    # The Python example, offline and small: random weights, 32x32 images, 2 epochs.
    code = re.search(r"## The Python API\n\n```python\n(.*?)```", text, re.S).group(1)
    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in ("a", "b"):
            os.makedirs(images / split / label)
            for i in range(4):
                image = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
                tf.io.write_file(str(images / split / label / f"{i}.jpg"), tf.io.encode_jpeg(image))
    for old, new in (
        ('"ROOT"', repr(str(images))),
        ('"EfficientNetV2B0"', '"VGG16"'),
        ('weights="imagenet"', 'weights="none"'),
        ("(224, 224)", "(32, 32)"),
        ("epochs=10", "epochs=2"),
    ):
        assert old in code, old
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/backbones.md", "exec"), {})
    serve = tf.saved_model.load(str(tmp_path / "exported_models" / "mine" / "1"))
    assert serve.signatures["serving_default"].structured_input_signature[1]["image"].dtype == (
        tf.uint8
    )
