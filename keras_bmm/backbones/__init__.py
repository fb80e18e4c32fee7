"""Pretrained backbones: any Keras image model as a noisy-label classifier.

- `catalog`: the known names (`keras.applications` classes, keras-hub
  presets), their resolutions and the checks of a run's settings (no TensorFlow);
- `builder`: `build`, a backbone with its preprocessing and a new head;
- `parts`: the head's name and `feature_extractor`, the backbone inside a classifier;
- `sources`: the feature extractors of `keras.applications` and keras-hub;
- `preprocessing`: `ApplicationPreprocessing`, an application's
  `preprocess_input` as a layer;
- `weights`: `save_backbone_weights` and `load_backbone_weights`;
- `freeze`: `FreezeBackbone`, a head-only first phase.
"""

from keras_bmm.lazy import lazy_exports

__all__ = [
    "APPLICATIONS",
    "ApplicationPreprocessing",
    "FreezeBackbone",
    "HUB_PRESETS",
    "build",
    "feature_extractor",
    "load_backbone_weights",
    "save_backbone_weights",
    "set_frozen",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "APPLICATIONS": "keras_bmm.backbones.catalog",
        "ApplicationPreprocessing": "keras_bmm.backbones.preprocessing",
        "FreezeBackbone": "keras_bmm.backbones.freeze",
        "HUB_PRESETS": "keras_bmm.backbones.catalog",
        "build": "keras_bmm.backbones.builder",
        "feature_extractor": "keras_bmm.backbones.parts",
        "load_backbone_weights": "keras_bmm.backbones.weights",
        "save_backbone_weights": "keras_bmm.backbones.weights",
        "set_frozen": "keras_bmm.backbones.freeze",
    },
)
