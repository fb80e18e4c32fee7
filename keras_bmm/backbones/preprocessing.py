"""`ApplicationPreprocessing`: a `keras.applications` model's input preprocessing, as a layer."""

from __future__ import annotations

import importlib

import keras


@keras.saving.register_keras_serializable(package="keras_bmm")
class ApplicationPreprocessing(keras.layers.Layer):
    """Runs `keras.applications.<application>.preprocess_input` inside a model.

    Raw pixels in `[0, 255]` go in; the input the application's ImageNet
    weights expect comes out (e.g. for `resnet`, channels reversed to BGR and
    the ImageNet mean subtracted; for `mobilenet_v2`, scaled to `[-1, 1]`).
    Unlike a `Lambda` layer, it saves and loads with the `.keras` format and
    exports with the model. It computes in float32 under any dtype policy.

    Args:
        application: the module under `keras.applications`, e.g. `"resnet"`.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    ```python
    layer = ApplicationPreprocessing("resnet")
    x = layer(np.full((1, 2, 2, 3), 255.0))  # BGR minus the ImageNet mean
    ```
    """

    def __init__(self, application: str, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.application = application
        self._preprocess_input = importlib.import_module(
            f"keras.applications.{application}"
        ).preprocess_input

    def call(self, images):
        return self._preprocess_input(keras.ops.cast(images, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "application": self.application}
