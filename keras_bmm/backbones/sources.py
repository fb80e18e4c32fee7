"""Feature extractors from `keras.applications` and keras-hub, with their preprocessing.

Each source returns `(feature_extractor, preprocessing)`: a model mapping
preprocessed images to a feature map, and the layer (or `None`) that turns
raw pixels in `[0, 255]` into its input. Fetching pretrained weights without
network access fails with a `ConnectionError` that names what was fetched.
"""

from __future__ import annotations

import os
import re

import keras

from keras_bmm.backbones.catalog import APPLICATIONS, SELF_NORMALIZING, is_local_preset
from keras_bmm.backbones.preprocessing import ApplicationPreprocessing
from keras_bmm.extras import require


def application_extractor(name: str, input_shape, weights: str | None):
    """A `keras.applications` model without its top, and its preprocessing layer.

    Args:
        name: a class name of `keras.applications`, e.g. `"ResNet50"`.
        input_shape: `(H, W, 3)`.
        weights: `"imagenet"` or `None`.

    Returns:
        `(feature_extractor, preprocessing)`.

    Raises:
        ConnectionError: if the ImageNet weights cannot be fetched; the
            message names the file's URL and where Keras looks for it.
    """
    module = APPLICATIONS[name][0]
    constructor = getattr(keras.applications, name)
    try:
        extractor = constructor(include_top=False, weights=weights, input_shape=tuple(input_shape))
    except Exception as error:
        fetch = re.search(r"URL fetch failure on (\S+?): ", str(error))
        if weights != "imagenet" or not fetch:
            raise
        url = fetch.group(1)
        raise ConnectionError(
            f"Could not fetch the ImageNet weights of {name} from {url} ({error}). Without "
            f"network access, download that file elsewhere and copy it into Keras's cache "
            f"folder as $KERAS_HOME/models/{os.path.basename(url)} (by default "
            "~/.keras/models/), where Keras looks first; or pass weights as the path of a "
            ".weights.h5 or .keras file of this "
            "backbone (e.g. written by keras_bmm.backbones.save_backbone_weights); or "
            "weights='none' to start from random weights."
        ) from error
    preprocessing = None if module in SELF_NORMALIZING else ApplicationPreprocessing(module)
    return extractor, preprocessing


def hub_extractor(preset: str, weights: str | None):
    """A keras-hub backbone from a preset, and a `Rescaling` layer of its image converter.

    The preset's image converter gives the scale and offset of its pixels
    (`x * scale + offset`); its resizing is not used: the model runs at the
    resolution of its input.

    Args:
        preset: a keras-hub preset name, handle or local preset folder.
        weights: `"imagenet"` (the preset's pretrained weights) or `None`.

    Returns:
        `(feature_extractor, preprocessing)`.

    Raises:
        ConnectionError: if the preset cannot be fetched (its configuration
            is fetched even without its weights).
    """
    keras_hub = require("keras_hub", "hub")
    try:
        extractor = keras_hub.models.Backbone.from_preset(
            preset, load_weights=weights == "imagenet"
        )
        converter = keras_hub.layers.ImageConverter.from_preset(preset)
    except Exception as error:
        if is_local_preset(preset) or not _is_network_error(error):
            raise
        handle = keras_hub.models.Backbone.presets.get(preset, {}).get("kaggle_handle", preset)
        raise ConnectionError(
            f"Could not fetch the keras-hub preset {preset!r} ({handle}): {error}. keras-hub "
            "fetches a preset's configuration even with weights='none'. Without network "
            "access, save the preset on a machine that has it "
            f"(keras_hub.models.Backbone.from_preset({preset!r}).save_to_preset(DIR) and "
            f"keras_hub.layers.ImageConverter.from_preset({preset!r}).save_to_preset(DIR)), "
            "copy DIR here and pass it as the backbone; or choose a keras.applications "
            "backbone with weights as the path of a .weights.h5 or .keras file."
        ) from error
    scale, offset = converter.scale, converter.offset
    if scale is None and offset is None:
        return extractor, None
    preprocessing = keras.layers.Rescaling(
        scale=1.0 if scale is None else scale,
        offset=0.0 if offset is None else offset,
        dtype="float32",
        name="rescaling",
    )
    return extractor, preprocessing


def _is_network_error(error: BaseException) -> bool:
    """Whether an error, or one it was raised from, is a failed connection or lookup."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
            return True
        error = error.__cause__ or error.__context__
    return False
