"""The checks of the data settings of a `TrainConfig` (no TensorFlow)."""

from __future__ import annotations

import os

from keras_bmm.data.registry import file_dataset_names, source_of
from keras_bmm.training.fields import ConfigError


def check_data_settings(config) -> None:
    """Checks the settings of file datasets, the held-out split and the label manifest.

    Args:
        config: a filled `TrainConfig`.

    Raises:
        ConfigError: naming the first invalid setting.
    """
    if config.val_split is not None and not (
        isinstance(config.val_split, (int, float)) and 0.0 < config.val_split < 1.0
    ):
        raise ConfigError("val_split", f"val_split must be in (0, 1), got {config.val_split}.")
    if config.val_seed is not None and not config.val_split:
        raise ConfigError("val_seed", "val_seed seeds the val_split: give val_split too.")
    for field in ("seed", "noise_seed", "val_seed"):
        value = getattr(config, field)
        if value is not None and not (isinstance(value, int) and value >= 0):
            raise ConfigError(field, f"{field} must be a whole number >= 0, got {value!r}.")
    if config.image_size is not None:
        config.image_size = _image_size(config.image_size)
    source = source_of(config.dataset)
    for field in ("stream", "skip_bad_files", "labels"):
        if getattr(config, field) and not source.files:
            raise ConfigError(
                field,
                f"{field} applies to datasets of image files {file_dataset_names()}, not "
                f"{config.dataset!r}.",
            )
    if config.labels and not os.path.isfile(config.labels):
        raise ConfigError(
            "labels", f"labels must be an existing manifest file, got {config.labels!r}."
        )
    exists = {"file": os.path.isfile, "folder": os.path.isdir}.get(source.data_dir_kind)
    if exists is not None and not (config.data_dir and exists(config.data_dir)):
        raise ConfigError(
            "data_dir",
            f"data_dir must be {source.data_dir} for the {config.dataset} dataset; got "
            f"{config.data_dir!r}.",
        )


def _image_size(value) -> tuple:
    """`(H, W)` of positive integers, or a `ConfigError` naming the value."""
    try:
        size = tuple(int(s) for s in value)
        valid = len(size) == 2 and min(size) >= 1
        valid = valid and all(float(s) == i for s, i in zip(value, size))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        given = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else repr(value)
        raise ConfigError(
            "image_size",
            f"image_size must be two positive sizes in pixels, H W (e.g. 224 224); got {given}.",
        )
    return size
