"""Named training setups: per-dataset defaults and the `paper` and `cpu` presets.

Precedence when a run is configured: explicit settings (flags) > preset >
the dataset's defaults > `TrainConfig`'s own defaults.
"""

from __future__ import annotations

import os

#: The paper's CIFAR schedule (Arazo et al., 2019, and its reference code).
PAPER_SCHEDULE = dict(
    model="preact_resnet18",
    width=64,
    epochs=300,
    batch_size=128,
    learning_rate=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    lr_milestones=(100, 250),
    mixup_alpha=32.0,
    warmup_epochs=105,
    dynamic_epochs=5,
    temperature_epochs=89,
    reg_weight=1.0,
)

#: Defaults by dataset, for every setting neither given nor set by a preset.
DATASET_DEFAULTS = {
    "digits": dict(
        model="small_cnn",
        width=32,
        epochs=60,
        warmup_epochs=25,
        dynamic_epochs=3,
        temperature_epochs=15,
        batch_size=64,
        learning_rate=0.05,
        weight_decay=1e-5,
        lr_milestones=(21, 46),
    ),
    "cifar10": PAPER_SCHEDULE,
    "cifar100": PAPER_SCHEDULE,
    "cifar10_n": PAPER_SCHEDULE,
    "cifar100_n": PAPER_SCHEDULE,
    "folder": PAPER_SCHEDULE,
}

#: Where the `cpu` preset finds the real CIFAR-10 (relative to the working directory).
SHARED_CIFAR10 = os.path.join("..", "shared", "data", "cifar10-jpeg.tar.gz")

PRESETS = {
    "paper": dict(PAPER_SCHEDULE, dataset="cifar10", fast=False),
    # Chosen by measurement (README, "Choosing the cpu preset"): small enough
    # for a 2-core CPU, and cross-entropy visibly memorises the noise.
    "cpu": dict(
        PAPER_SCHEDULE,
        dataset="folder",
        fast=True,
        data_dir=SHARED_CIFAR10,
        per_class=375,
        augment=False,
        width=16,
        batch_size=32,
        epochs=60,
        lr_milestones=(21, 41),
        warmup_epochs=26,
        dynamic_epochs=5,
        temperature_epochs=12,
        eval_every=5,
    ),
}


def preset_values(name: str | None) -> dict:
    """The settings of a preset (empty for `None`), or a clear error."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; expected one of {tuple(PRESETS)}.")
    return dict(PRESETS[name])
