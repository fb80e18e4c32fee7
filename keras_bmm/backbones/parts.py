"""The parts of a classifier made by `keras_bmm.backbones.build`: its head and feature extractor."""

from __future__ import annotations

import keras

#: Name of the classification head (a `Dense` layer) in the models `build` makes.
HEAD = "logits"


def feature_extractor(model: keras.Model) -> keras.Model:
    """The backbone inside a classifier made by `build` (or a model wrapping one).

    Args:
        model: a classifier from `build`, or a `BootstrappingModel` around one.

    Returns:
        The nested feature-extractor model.

    Raises:
        ValueError: if the model does not hold exactly one nested model.
    """
    classifier = getattr(model, "backbone", model)
    nested = [layer for layer in classifier.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(
            f"Model {classifier.name!r} holds {len(nested)} nested models; expected one "
            "feature extractor, as in the models keras_bmm.backbones.build makes."
        )
    return nested[0]
