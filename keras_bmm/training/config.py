"""`TrainConfig`: every setting of a run, its defaults and its validation.

This module imports no TensorFlow: the command line resolves and checks its
flags with it before anything heavy is loaded. Each field's metadata holds
its help text and parsing rule, from which `keras_bmm.training.cli` makes
the flags.
"""

from __future__ import annotations

import dataclasses
import os

from keras_bmm.backbones.catalog import BACKBONE_HELP, WEIGHTS_HELP, BackboneSettingError
from keras_bmm.bootstrapping.auto_warmup import WARMUP_SETTINGS
from keras_bmm.bootstrapping.methods import (
    DYNAMIC_TARGETS,
    IF_UNSETTLED,
    METHODS,
    WARMUP_RULES,
)
from keras_bmm.data.registry import data_dir_help, dataset_help, dataset_names
from keras_bmm.data.splits import held_out_seed
from keras_bmm.distribute import STRATEGIES
from keras_bmm.networks import MODELS
from keras_bmm.noise import NOISE_TYPES
from keras_bmm.training.backbone_settings import backbone_settings
from keras_bmm.training.fields import ConfigError, int_or_auto, setting
from keras_bmm.training.run_name import run_name
from keras_bmm.training.train_presets import (
    BASE_DEFAULTS,
    PRESETS,
    preset_defaults,
)


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; `None` fields take the preset's, then the dataset's value.

    Fields are listed with their help text below (`scripts/train.py -h`
    shows the same). `resolved()` fills and validates them.

    Example:

    ```python
    config = keras_bmm.TrainConfig(dataset="digits", noise=0.8, method="m-dyr-h").resolved()
    ```
    """

    preset: str | None = setting(
        "a named setup: paper (the paper's CIFAR-10), cpu (2-core CPU), finetune (a "
        "pretrained backbone)",
        choices=tuple(PRESETS),
    )
    dataset: str | None = setting(dataset_help, choices=dataset_names)
    data_dir: str | None = setting(data_dir_help, path=True)
    per_class: int | None = setting(
        "first K training images per class (folder, manifest, clothing1m)", type=int
    )
    image_size: tuple | None = setting(
        "resize images to H W (folder, manifest, clothing1m; default: a pretrained "
        "backbone's ImageNet resolution, else the first image's size)",
        type=int,
        nargs=2,
        metavar=("H", "W"),
    )
    stream: bool | None = setting(
        "read images from their files during training instead of decoding them all into "
        "memory (folder, manifest, clothing1m; default: streamed when the decoded images, "
        "times 1.5 for the copies made while loading, would take over half the memory "
        "available at the run's start; --resume keeps the first choice; see docs/data.md)",
        type=bool,
    )
    skip_bad_files: bool | None = setting(
        "leave out image files that do not decode, naming them in <run_dir>/bad_files.csv "
        "(default: stop with the file's path)",
        type=bool,
    )
    labels: str | None = setting(
        "a manifest (path,label rows) whose labels replace those of the training files it "
        "names: train again on reviewed labels",
        path=True,
    )
    val_split: float | None = setting(
        "hold out this fraction of the training set (seeded); its accuracy against the "
        "noisy labels is reported at every evaluation",
        type=float,
    )
    val_seed: int | None = setting(
        "seed of the val_split's draw (default: derived from seed, apart from the noise's draw)",
        type=int,
    )
    label_set: str | None = setting("CIFAR-N labels: aggre, random1-3, worst (10N); noisy (100N)")
    noise: float | None = setting("synthetic noise rate in [0, 1] (default 0)", type=float)
    noise_type: str | None = setting(
        "symmetric: new label over all classes (paper, default); symmetric-exclusive: over "
        "the other classes; asymmetric: class pairs; instance: the most ambiguous images, "
        "towards the class they resemble; confusion: each class towards the classes it is "
        "confused with; open-set: images of left-out classes mixed in, mislabelled",
        choices=NOISE_TYPES,
    )
    confusion_matrix: str | None = setting(
        "confusion noise: a C x C matrix (CSV or .npy; rows the true class, columns the label "
        "given) of where labels flip (default: estimated by a classifier of the images)",
        path=True,
    )
    noise_seed: int | None = setting("seed of the noise (default: seed)", type=int)
    noisy_labels: str | None = setting(
        "train on labels saved by a run (noisy_labels.npz)", path=True
    )
    method: str | None = setting("the objective (default m-dyr-h)", choices=METHODS)
    model: str | None = setting(
        "network trained from scratch (default: by dataset)", choices=MODELS
    )
    width: int | None = setting("channels of the network's first stage", type=int)
    backbone: str | None = setting(BACKBONE_HELP, metavar="NAME")
    weights: str | None = setting(WEIGHTS_HELP, metavar="imagenet|none|PATH")
    freeze_epochs: int | None = setting("first epochs training the new head alone", type=int)
    epochs: int | None = setting("number of epochs", type=int)
    warmup_epochs: int | str | None = setting(
        "epochs of plain mixup before bootstrapping, or auto: start once the network's "
        "predictions have settled and learned the labels they can (default for image "
        "folders and --preset finetune), or label-wave: at Label Wave's first minimum of "
        "prediction changes",
        type=int_or_auto,
        metavar="N|auto|label-wave",
    )
    warmup_min_epochs: int | None = setting(
        "with --warmup-epochs auto: the earliest start (default 1)", type=int
    )
    warmup_max_epochs: int | None = setting(
        "with --warmup-epochs auto: the latest start (default 60%% of the epochs)", type=int
    )
    warmup_changes: float | None = setting(
        "with --warmup-epochs auto: the share of training predictions changing per epoch that "
        "counts as settled (default 0.15)",
        type=float,
    )
    warmup_kappa: float | None = setting(
        "with --warmup-epochs auto: the kappa of predictions against the given labels, per "
        "label the mixture finds clean, that counts as learned (default 0.35)",
        type=float,
    )
    warmup_patience: int | None = setting(
        "with --warmup-epochs auto: consecutive epochs the conditions must hold (default 2)",
        type=int,
    )
    warmup_if_unsettled: str | None = setting(
        "with --warmup-epochs auto, if the network is not ready by the latest start: warmup "
        "(keep the warm-up to the end, no bootstrapping; default) or start (start there)",
        choices=IF_UNSETTLED,
    )
    dynamic_epochs: int | None = setting(
        "md-dyr-sh: epochs of dynamic mixup before bootstrapping", type=int
    )
    temperature_epochs: int | None = setting(
        "md-dyr-sh: epochs of the temperature's fall from 1 to 0.001", type=int
    )
    dynamic_targets: str | None = setting(
        "md-dyr-sh: weight the two targets of a dynamically mixed input by the inputs' "
        "weights (input) or as the reference code (reference)",
        choices=DYNAMIC_TARGETS,
    )
    batch_size: int | None = setting("batch size (global, over all replicas)", type=int)
    learning_rate: float | None = setting("initial SGD learning rate", type=float, flag="--lr")
    lr_milestones: tuple | None = setting(
        "1-based epochs from which the learning rate is 10x lower", type=int, nargs="*"
    )
    momentum: float | None = setting("SGD momentum", type=float)
    weight_decay: float | None = setting(
        "coupled L2 weight decay, as PyTorch's SGD (the paper's 1e-4)", type=float
    )
    mixup_alpha: float | None = setting("alpha of mixup's Beta(alpha, alpha)", type=float)
    reg_weight: float | None = setting("weight of the class-balance regulariser", type=float)
    seed: int | None = setting(
        "seed of initialisation, shuffling, augmentation and mixup", type=int
    )
    output: str | None = setting(
        "folder of the SavedModel (<output>/<name>/<version>)", resumable=True
    )
    name: str | None = setting(
        "name of the run and of the export (default: from the settings)", resumable=True
    )
    run_dir: str | None = setting(
        "folder of checkpoints, history and labels (default runs/<name>)", resumable=True
    )
    verbose: int | None = setting(
        "Keras verbosity: 0, 1 (progress bar) or 2 (a line per epoch)", type=int, resumable=True
    )
    strategy: str | None = setting(
        "tf.distribute: default, mirrored (local devices), multiworker (TF_CONFIG)",
        choices=STRATEGIES,
        resumable=True,
    )
    mixed_precision: bool | None = setting(
        "train under mixed_float16 (GPUs; finetune: when present); the mixture stays float32",
        type=bool,
    )
    fast: bool | None = setting(
        "one training-mode pass per batch gives targets, posterior and recorded losses "
        "(default); off: the reference code's passes (the paper preset)",
        type=bool,
    )
    target_refresh: int | None = setting(
        "m-dyr-h (fast): bootstrapping epochs between fresh targets; above 1 the epochs "
        "between reuse the last refresh's targets and p(noisy) and skip the un-mixed pass "
        "(default 1, the paper's)",
        type=int,
    )
    eval_every: int | None = setting(
        "test-set evaluation every N epochs, and after the last (default 1)",
        type=int,
        resumable=True,
    )
    augment: bool | None = setting(
        "random crop (4 px padding) and flip of training images (default: by dataset)", type=bool
    )
    epoch_loss_pass: bool | None = setting(
        "fit the mixture on a pass over the training set after each epoch (default: "
        "without fast only; with fast a diagnostic)",
        type=bool,
    )

    def resolved(self) -> TrainConfig:
        """Fills every unset field from the preset and the dataset, and validates.

        Returns:
            A new, complete `TrainConfig`.

        Raises:
            ConfigError: naming the first invalid setting.
        """
        if self.preset is not None and self.preset not in PRESETS:
            raise ConfigError(
                "preset", f"Unknown preset {self.preset!r}; expected one of {tuple(PRESETS)}."
            )
        dataset = self.dataset or PRESETS.get(self.preset, {}).get("dataset")
        dataset = dataset or BASE_DEFAULTS["dataset"]
        if dataset not in dataset_names():
            raise ConfigError(
                "dataset", f"Unknown dataset {dataset!r}; expected one of {dataset_names()}."
            )
        defaults = preset_defaults(self.preset, dataset)
        values = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            values[field.name] = defaults.get(field.name) if value is None else value
        values["dataset"] = dataset
        config = TrainConfig(**values)
        config.validate()
        try:
            backbone = backbone_settings(
                config.backbone, config.weights, config.freeze_epochs, config.image_size, config
            )
        except BackboneSettingError as error:
            raise ConfigError(error.field, str(error)) from None
        config.backbone, config.weights, config.freeze_epochs, config.image_size = backbone
        if config.epoch_loss_pass is None:
            config.epoch_loss_pass = not config.fast
        if config.noise_seed is None:
            config.noise_seed = config.seed
        if config.val_split and config.val_seed is None:
            config.val_seed = held_out_seed(config.seed)
        if config.name is None:
            config.name = config.default_name()
        if config.run_dir is None:
            config.run_dir = os.path.join("runs", config.name)
        return config

    def default_name(self, ignore=()) -> str:
        """The run's name from its settings (see `run_name`); `ignore`: fields left out."""
        return run_name(self, preset_defaults(self.preset, self.dataset), ignore)

    def validate(self) -> None:
        """Checks a filled configuration (see `keras_bmm.training.validation`).

        Raises:
            ConfigError: naming the first invalid setting.
        """
        from keras_bmm.training.validation import validate

        validate(self)

    def auto_warmup(self) -> dict | None:
        """The `AutoWarmup` settings of a start rule (`warmup_epochs` auto...), else `None`."""
        if self.warmup_epochs not in WARMUP_RULES:
            return None
        settings = {arg: getattr(self, field) for field, arg in WARMUP_SETTINGS.items()}
        settings = {k: v for k, v in settings.items() if v is not None}
        return {
            "rule": self.warmup_epochs,
            "frozen_epochs": int(self.freeze_epochs or 0),
            # From 1-based milestones to the 0-based epochs at the lower rate.
            "lr_drops": tuple(int(m) - 1 for m in self.lr_milestones or ()),
            **settings,
        }

    def earliest_start(self) -> int:
        """The fixed warm-up, or with a start rule the earliest epoch it may choose."""
        if self.warmup_epochs in WARMUP_RULES:
            from keras_bmm.bootstrapping.auto_warmup import AutoWarmup

            return AutoWarmup(**self.auto_warmup()).earliest(self.epochs)
        return int(self.warmup_epochs)

    def as_dict(self) -> dict:
        """The settings as a JSON-ready dict."""
        import json

        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def resumable_fields(cls) -> tuple:
        """Settings that may differ when a run is resumed (how, not what, is trained)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("resumable"))

    @classmethod
    def path_fields(cls) -> tuple:
        """Settings that are file paths: the same file however its path is written."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("path"))
