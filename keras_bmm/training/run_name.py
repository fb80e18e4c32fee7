"""`run_name`: a run's default name, from what it trains (no TensorFlow here)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re

from keras_bmm.data.registry import source_of
from keras_bmm.data.splits import held_out_seed

#: Settings named in the leading parts of a name, or that do not change what is trained.
UNNAMED = (
    "preset",
    "dataset",
    "data_dir",
    "backbone",
    "label_set",
    "noise",
    "noise_type",
    "noise_seed",
    "method",
    "seed",
    "noisy_labels",
)

#: Names longer than this list their settings as a short hash instead.
MAX_LENGTH = 120

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def run_name(config, defaults: dict, ignore=()) -> str:
    """The default name of a run: `runs/<name>` and `exported_models/<name>`.

    `[<preset>-]<data>[-<label set>]-<method>-<noise>`, then the noise type,
    seeds and saved labels when given, then every other setting that differs
    from the preset's and the dataset's defaults, as `<flag><value>` (e.g.
    `epochs20`, `lr0.05`, `no-fast`). `<data>` is the dataset, or for image
    folders `folder-<folder name>` (an archive's name without its suffix), so
    that runs on different folders are kept apart. Settings that only change
    how a run is carried out (`TrainConfig.resumable_fields`) are left out.

    Args:
        config: a resolved `TrainConfig`.
        defaults: the value of each setting left unset (`TrainConfig.defaults`).
        ignore: fields to leave out (e.g. the ones a search varies).

    Returns:
        The name, of letters, digits and `._-`.

    Example:

    ```python
    TrainConfig(dataset="digits", noise=0.8, epochs=20).resolved().name
    # 'digits-m-dyr-h-0.8-epochs20'
    ```
    """
    parts = [config.preset] if config.preset else []
    parts.append(config.dataset)
    if source_of(config.dataset).named_by_folder and config.data_dir:
        parts.append(folder_name(config.data_dir))
    if config.backbone:
        parts.append(os.path.basename(os.path.normpath(config.backbone)))
    if config.label_set:
        parts.append(config.label_set)
    parts += [config.method, _value(config.noise)]
    if config.noise_type != defaults.get("noise_type"):
        parts.append(config.noise_type)
    if config.seed != defaults.get("seed"):
        parts.append(f"seed{config.seed}")
    if config.noise_seed is not None and config.noise_seed != config.seed:
        parts.append(f"noise{config.noise_seed}")
    if config.noisy_labels:
        parts.append("labels-" + _labels_name(config.noisy_labels))
    skip = set(UNNAMED) | set(config.resumable_fields()) | set(ignore)
    derived = {
        "epoch_loss_pass": not config.fast,
        "val_seed": held_out_seed(config.seed) if config.val_split else None,
        **_backbone_defaults(config, defaults),
    }
    changed = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        default = derived[field.name] if field.name in derived else defaults.get(field.name)
        if field.name in skip or value is None or _same(value, default):
            continue
        changed.append(_setting(field, value))
    name = "-".join(_clean(p) for p in parts + changed)
    if len(name) > MAX_LENGTH:
        digest = hashlib.sha1(json.dumps(changed).encode()).hexdigest()[:8]
        name = "-".join(_clean(p) for p in parts) + f"-settings{digest}"
    return name


def _backbone_defaults(config, defaults: dict) -> dict:
    """What a backbone's settings default to when left unset (weights, head-only
    epochs, resolution), so that only the ones given away from them are named."""
    if not config.backbone:
        return {}
    from keras_bmm.training.backbone_settings import backbone_settings

    _, weights, freeze_epochs, image_size = backbone_settings(
        config.backbone,
        defaults.get("weights"),
        defaults.get("freeze_epochs"),
        defaults.get("image_size"),
        config,
    )
    return {"weights": weights, "freeze_epochs": freeze_epochs, "image_size": image_size}


def folder_name(data_dir: str) -> str:
    """The name of an image folder or archive, without an archive's suffix."""
    base = os.path.basename(os.path.normpath(os.path.abspath(data_dir)))
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


def _labels_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem == "noisy_labels":  # a run's own file: name it by its run folder
        stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
    return stem


def _same(value, default) -> bool:
    if isinstance(value, (list, tuple)) or isinstance(default, (list, tuple)):
        return default is not None and list(value) == list(default)
    return value == default


def _setting(field, value) -> str:
    flag = (field.metadata.get("flag") or "--" + field.name.replace("_", "-"))[2:]
    if isinstance(value, bool):
        return flag if value else f"no-{flag}"
    if isinstance(value, (list, tuple)):
        return flag + "_".join(_value(v) for v in value) if value else f"no-{flag}"
    return flag + _value(value)


def _value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _clean(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(part))
