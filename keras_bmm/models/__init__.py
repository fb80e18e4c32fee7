"""Backbones that output logits."""

from keras_bmm.lazy import lazy_exports

#: The backbones `keras_bmm.training` builds by name.
MODELS = ("small_cnn", "preact_resnet18")

__all__ = ["MODELS", "preact_resnet18", "small_cnn"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "preact_resnet18": "keras_bmm.models.preact_resnet",
        "small_cnn": "keras_bmm.models.small_cnn",
    },
)
