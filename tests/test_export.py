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
    assert open(os.path.join(first, "assets.extra", "a.txt")).read() == "x"


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
