"""Networks trained from scratch (the paper's PreAct ResNet-18, a small CNN), outputting logits.

Pretrained image models are in `keras_bmm.backbones`; the model that trains either
on noisy labels is `keras_bmm.bootstrapping.BootstrappingModel`.
"""

from keras_bmm.lazy import lazy_exports

#: The networks `keras_bmm.training` builds by name (`--model`).
MODELS = ("small_cnn", "preact_resnet18")

__all__ = ["MODELS", "preact_resnet18", "small_cnn"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "preact_resnet18": "keras_bmm.networks.preact_resnet",
        "small_cnn": "keras_bmm.networks.small_cnn",
    },
)
