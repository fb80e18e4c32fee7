"""`backbone_settings`: a run's pretrained-backbone settings, checked and completed."""

from __future__ import annotations

from keras_bmm.backbones.catalog import (
    BackboneSettingError,
    canonical_name,
    check_image_size,
    check_weights,
    default_image_size,
    hub_installed,
    source_of,
)
from keras_bmm.data.registry import source_of as data_source


def backbone_settings(name, weights, freeze_epochs, image_size, run) -> tuple:
    """Checks and completes a run's backbone settings, without TensorFlow.

    Args:
        name: the backbone's name (any case), a keras-hub handle or preset
            folder, or `None` (the run trains `run.model` from scratch).
        weights: `"imagenet"` (default when `None`), `"none"`, or a weights file.
        freeze_epochs: epochs of the head-only phase (default 0).
        image_size: `(H, W)` or `None`; datasets of image files (folders,
            manifests, Clothing1M) default to the backbone's ImageNet
            resolution.
        run: the rest of the run's settings (`dataset`, `epochs`, `model`).

    Returns:
        `(name, weights, freeze_epochs, image_size)`, completed.

    Raises:
        BackboneSettingError: naming the field at fault.
    """
    if name is None:
        for field, value in (("weights", weights), ("freeze_epochs", freeze_epochs)):
            if value not in (None, 0):
                raise BackboneSettingError(
                    field,
                    f"{field} applies to a pretrained backbone: set backbone too (model "
                    f"{run.model} trains from scratch).",
                )
        return None, None, None, image_size
    name = canonical_name(name)
    if source_of(name) == "hub" and not hub_installed():
        raise BackboneSettingError(
            "backbone",
            f"backbone {name!r} is a keras-hub preset, and keras-hub is not installed. "
            "Install it with: pip install 'keras-bmm[hub]'",
        )
    weights = check_weights(weights)
    freeze_epochs = 0 if freeze_epochs is None else int(freeze_epochs)
    if not 0 <= freeze_epochs <= int(run.epochs):
        raise BackboneSettingError(
            "freeze_epochs",
            f"freeze_epochs must be in [0, epochs] = [0, {run.epochs}], got {freeze_epochs}.",
        )
    if image_size is None and data_source(run.dataset).files:
        image_size = default_image_size(name)
    if image_size is not None:
        image_size = tuple(int(s) for s in image_size)
    check_image_size(name, image_size)
    return name, weights, freeze_epochs, image_size
