"""`build`: a pretrained backbone with a new head, as a logits model on raw pixels."""

from __future__ import annotations

import re

import keras

from keras_bmm.backbones.catalog import (
    canonical_name,
    check_image_size,
    check_weights,
    default_image_size,
    source_of,
)
from keras_bmm.backbones.parts import HEAD
from keras_bmm.backbones.sources import application_extractor, hub_extractor
from keras_bmm.backbones.weights import load_backbone_weights


def build(
    backbone,
    num_classes: int,
    weights: str | None = "imagenet",
    image_size=None,
    channels: int = 3,
    preprocessing: keras.layers.Layer | None = None,
) -> keras.Model:
    """A classifier on raw pixels: preprocessing, a backbone and a new head.

    The model maps images of raw pixel values in `[0, 255]` (uint8 values
    as floats, as `keras_bmm` datasets hold them) to logits. The backbone's
    own preprocessing runs inside it, so the model (and the SavedModel that
    `keras_bmm.export_classifier` writes) takes raw pixels. The head is
    global average pooling and a new `Dense` layer named `"logits"` (float32
    under mixed precision). `keras_bmm.BootstrappingModel` wraps the result
    as it is, and `FreezeBackbone` trains its head alone for a first phase.

    Args:
        backbone: a `keras.applications` class name (`"ResNet50"`,
            `"EfficientNetV2B0"`, `"MobileNetV3Small"`, `"ConvNeXtTiny"`, ...),
            a keras-hub preset (`"resnet_50_imagenet"`, ...), handle or local
            preset folder (the `hub` extra), or a `keras.Model` feature
            extractor that maps preprocessed images to one feature map.
        num_classes: classes of the new head.
        weights: `"imagenet"` (ImageNet weights for `keras.applications`, the
            preset's weights for keras-hub; downloaded on first use),
            `"none"`/`None` (random), or the path of a `.weights.h5` or
            `.keras` file: a feature extractor of this architecture (the head
            stays new), or a whole classifier of this architecture and class
            count (see `load_backbone_weights`). For a `keras.Model`
            backbone only a file applies (its own weights are kept otherwise).
        image_size: `(H, W)`; default the backbone's ImageNet resolution (224
            for keras-hub presets), or a `keras.Model`'s own input size.
        channels: image channels (3: the pretrained backbones take RGB).
        preprocessing: for a `keras.Model` backbone, the layer from raw pixels
            to its input (default none).

    Returns:
        A functional `keras.Model` `(batch, H, W, channels) -> (batch, num_classes)`.

    Raises:
        ValueError: an unknown backbone (listing the known ones), an image
            size it does not accept, or a weights file that does not fit.
        ConnectionError: pretrained weights that cannot be fetched.

    Example:

    ```python
    classifier = keras_bmm.backbones.build("EfficientNetV2B0", num_classes=10,
                                           weights="imagenet", image_size=(224, 224))
    model = keras_bmm.BootstrappingModel(classifier, method="m-dyr-h",
                                         num_samples=len(y_train), warmup_epochs=1)
    ```
    """
    if isinstance(backbone, keras.Model):
        extractor = backbone
        name = backbone.name
        if image_size is None:
            image_size = tuple(backbone.input_shape[1:3])
        weights_file = None if weights in (None, "none", "imagenet") else weights
    else:
        name = canonical_name(backbone)
        weights = check_weights("none" if weights is None else weights)
        image_size = default_image_size(name) if image_size is None else image_size
        check_image_size(name, image_size)
        if channels != 3:
            raise ValueError(
                f"backbone {name} takes RGB images (3 channels); the images have {channels} "
                "channel(s). Load them as RGB (image folders are read as RGB)."
            )
        input_shape = (*(int(s) for s in image_size), channels)
        pretrained = "imagenet" if weights == "imagenet" else None
        if source_of(name) == "applications":
            extractor, preprocessing = application_extractor(name, input_shape, pretrained)
        else:
            extractor, preprocessing = hub_extractor(name, pretrained)
        weights_file = None if weights in ("imagenet", "none") else weights
    inputs = keras.Input((*(int(s) for s in image_size), channels), name="image")
    x = inputs if preprocessing is None else preprocessing(inputs)
    features = extractor(x)
    if not isinstance(features, keras.KerasTensor) or len(features.shape) != 4:
        raise ValueError(
            f"backbone {name}: keras_bmm.backbones.build needs a feature extractor with one "
            f"feature map (batch, H, W, C) out; got {features!r}."
        )
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    logits = keras.layers.Dense(int(num_classes), name=HEAD, dtype="float32")(pooled)
    classifier = keras.Model(inputs, logits, name=f"{_model_name(name)}_classifier")
    if weights_file:
        load_backbone_weights(classifier, weights_file)
    return classifier


def _model_name(name: str) -> str:
    """A Keras-safe model name from a backbone name, handle or folder."""
    return re.sub(r"\W+", "_", name.rstrip("/").rsplit("/", 1)[-1]).strip("_") or "backbone"
