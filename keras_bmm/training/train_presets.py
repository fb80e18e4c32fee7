"""Named training setups as plain dicts: per-dataset defaults and the presets.

Precedence when a run is configured: explicit settings (flags) > preset >
the dataset's defaults > `BASE_DEFAULTS`. Keys are `TrainConfig` fields.
"""

from __future__ import annotations

from keras_bmm.data.registry import dataset_defaults
from keras_bmm.schedules import PAPER_SCHEDULE

#: What neither a setting, a preset nor the dataset sets.
BASE_DEFAULTS = {
    "dataset": "digits",
    "noise": 0.0,
    "noise_type": "symmetric",
    "method": "m-dyr-h",
    "momentum": 0.9,
    "mixup_alpha": 32.0,
    "reg_weight": 1.0,
    "seed": 0,
    "output": "exported_models",
    "verbose": 1,
    "strategy": "default",
    "mixed_precision": False,
    "fast": True,
    "target_refresh": 1,
    "eval_every": 1,
    "dynamic_targets": "input",
    "skip_bad_files": False,
}

#: Defaults by dataset (each dataset's entry in `keras_bmm.data.registry.SOURCES`).
DATASET_DEFAULTS = dataset_defaults()

PRESETS = {
    # The paper's setup: CIFAR-10 (TFDS), 300 epochs, the reference's passes.
    "paper": {**PAPER_SCHEDULE, "dataset": "cifar10", "fast": False},
    # A 2-core CPU: 375 real CIFAR-10 JPEGs per class, no augmentation, a
    # width-16 network, 60 epochs; chosen by measurement (docs/lab/cpu-preset.md).
    "cpu": {
        **PAPER_SCHEDULE,
        "dataset": "folder",
        "fast": True,
        "per_class": 375,
        "augment": False,
        "width": 16,
        "batch_size": 32,
        "epochs": 60,
        "lr_milestones": (21, 41),
        "warmup_epochs": 26,
        "dynamic_epochs": 5,
        "temperature_epochs": 12,
        "eval_every": 5,
    },
    # Fine-tuning a pretrained backbone on an image folder (or any dataset
    # given; docs/backbones.md): a few epochs at a fine-tuning rate, the new
    # head alone in the first epoch, bootstrapping from the epoch the
    # network is ready ("auto"; measured in docs/backbones.md), mixed
    # precision when a GPU is present.
    "finetune": {
        "dataset": "folder",
        "backbone": "ResNet50",
        "weights": "imagenet",
        "freeze_epochs": 1,
        "epochs": 10,
        "batch_size": 64,
        "learning_rate": 0.005,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "lr_milestones": (7,),
        "mixup_alpha": 0.2,
        "warmup_epochs": "auto",
        "dynamic_epochs": 1,
        "temperature_epochs": 3,
        "mixed_precision": "auto",
        "eval_every": 1,
    },
}

#: Presets whose data folder may come from an environment variable.
DATA_DIR_ENVIRONMENT = {"cpu": "KERAS_BMM_CIFAR10_ARCHIVE"}

#: Preset settings that describe the preset's dataset, dropped for another dataset.
PRESET_DATA_FIELDS = ("data_dir", "per_class", "image_size", "label_set", "labels", "stream")


def preset_defaults(preset: str | None, dataset: str) -> dict:
    """The value of every setting left unset, for a preset and a dataset.

    The preset's, then the dataset's, then `BASE_DEFAULTS`; a preset's data
    settings (folder, subset) only for the preset's own dataset, whose
    folder may come from the environment (`DATA_DIR_ENVIRONMENT`).

    Args:
        preset: a name of `PRESETS`, or `None`.
        dataset: a name of `DATASET_DEFAULTS`.

    Returns:
        `{setting: value}`.
    """
    import os

    preset_values = dict(PRESETS.get(preset, {}))
    if preset_values and dataset != preset_values.get("dataset"):
        preset_values = {k: v for k, v in preset_values.items() if k not in PRESET_DATA_FIELDS}
    elif preset in DATA_DIR_ENVIRONMENT:
        preset_values.setdefault("data_dir", os.environ.get(DATA_DIR_ENVIRONMENT[preset]))
    values = {}
    # A dataset's entry may set only some of the schedule: the paper's fills the rest.
    layers = (BASE_DEFAULTS, PAPER_SCHEDULE, dataset_defaults().get(dataset, {}), preset_values)
    for layer in layers:
        values.update({k: v for k, v in layer.items() if v is not None})
    return values
