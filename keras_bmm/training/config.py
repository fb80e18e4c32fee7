"""`TrainConfig`: every setting of a run, its defaults and its validation.

This module imports no TensorFlow: the command line resolves and checks its
flags with it before anything heavy is loaded. Each field's metadata holds
its help text and parsing rule, from which `keras_bmm.training.cli` makes
the flags.
"""

from __future__ import annotations

import dataclasses
import os

from keras_bmm.backbones.catalog import (
    BACKBONE_HELP,
    WEIGHTS_HELP,
    BackboneSettingError,
    backbone_settings,
)
from keras_bmm.bootstrapping.methods import (
    DYNAMIC_TARGETS,
    METHODS,
    check_method,
    check_method_settings,
)
from keras_bmm.data import DATASETS
from keras_bmm.distribute import STRATEGIES
from keras_bmm.models import MODELS
from keras_bmm.noise import NOISE_TYPES
from keras_bmm.training.data_settings import check_data_settings
from keras_bmm.training.fields import ConfigError, setting
from keras_bmm.training.run_name import run_name
from keras_bmm.training.train_presets import (
    BASE_DEFAULTS,
    DATA_DIR_ENVIRONMENT,
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
    dataset: str | None = setting("dataset (default: digits, embedded)", choices=DATASETS)
    data_dir: str | None = setting(
        "TFDS data directory; the image folder ROOT (ROOT/train/<class>/*, optionally "
        "ROOT/test/<class>/*) or a .tar.gz of it; the manifest file (path,label rows); or "
        "the Clothing1M folder",
        path=True,
    )
    per_class: int | None = setting(
        "first K training images per class (folder, manifest, clothing1m)", type=int
    )
    image_size: tuple | None = setting(
        "resize images to H W (folder, manifest, clothing1m; default: the first image's size)",
        type=int,
        nargs=2,
        metavar=("H", "W"),
    )
    stream: bool | None = setting(
        "read images from their files during training instead of decoding them all into "
        "memory (folder, manifest, clothing1m; default: when they would take over 2 GiB)",
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
    label_set: str | None = setting("CIFAR-N labels: aggre, random1-3, worst (10N); noisy (100N)")
    noise: float | None = setting("synthetic noise rate in [0, 1] (default 0)", type=float)
    noise_type: str | None = setting(
        "symmetric: new label over all classes (paper, default); symmetric-exclusive: over "
        "the other classes; asymmetric: class pairs",
        choices=NOISE_TYPES,
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
    warmup_epochs: int | None = setting("epochs of plain mixup before bootstrapping", type=int)
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
        if dataset not in DATASETS:
            raise ConfigError(
                "dataset", f"Unknown dataset {dataset!r}; expected one of {DATASETS}."
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
        if config.name is None:
            config.name = config.default_name()
        if config.run_dir is None:
            config.run_dir = os.path.join("runs", config.name)
        return config

    def default_name(self, ignore=()) -> str:
        """The run's name from its settings (see `run_name`); `ignore`: fields left out."""
        return run_name(self, preset_defaults(self.preset, self.dataset), ignore)

    def validate(self) -> None:
        """Checks a filled configuration.

        Raises:
            ConfigError: naming the first invalid setting.
        """
        for field, choices in (
            ("strategy", STRATEGIES),
            ("model", MODELS),
            ("noise_type", NOISE_TYPES),
            ("dynamic_targets", DYNAMIC_TARGETS),
        ):
            if getattr(self, field) not in choices:
                raise ConfigError(
                    field,
                    f"Unknown {field.replace('_', ' ')} {getattr(self, field)!r}; "
                    f"expected one of {choices}.",
                )
        try:
            check_method(self.method)
        except ValueError as error:
            raise ConfigError("method", str(error)) from None
        try:
            check_method_settings(
                self.mixup_alpha,
                self.reg_weight,
                self.warmup_epochs,
                self.weight_decay,
                self.dynamic_epochs,
                self.temperature_epochs,
                1e-3,
            )
        except ValueError as error:
            raise ConfigError(str(error).split(" ", 1)[0], str(error)) from None
        if self.mixed_precision not in (True, False, "auto"):
            raise ConfigError(
                "mixed_precision",
                f"mixed_precision must be true, false or 'auto', got {self.mixed_precision!r}.",
            )
        if not isinstance(self.noise, (int, float)) or not 0.0 <= self.noise <= 1.0:
            raise ConfigError("noise", f"noise must be a rate in [0, 1], got {self.noise}.")
        if self.dataset.endswith("_n") and self.noise > 0:
            raise ConfigError(
                "noise",
                f"noise must be 0 for {self.dataset}, which carries real human label noise "
                f"(got {self.noise}).",
            )
        check_data_settings(self)
        if self.dataset == "folder" and not self.data_dir:
            env = DATA_DIR_ENVIRONMENT.get(self.preset)
            hint = f", or set the environment variable {env}" if env else ""
            raise ConfigError(
                "data_dir",
                "data_dir is required for the folder dataset: the folder ROOT with "
                f"ROOT/train/<class>/* (or a .tar.gz of it){hint}.",
            )
        self.lr_milestones = tuple(int(m) for m in self.lr_milestones or ())
        if list(self.lr_milestones) != sorted(set(self.lr_milestones)) or any(
            m < 1 for m in self.lr_milestones
        ):
            raise ConfigError(
                "lr_milestones",
                "lr_milestones must be strictly increasing epochs >= 1 (1-based), got "
                f"{list(self.lr_milestones)}.",
            )
        for field in ("epochs", "batch_size", "width", "eval_every"):
            if int(getattr(self, field)) < 1:
                raise ConfigError(field, f"{field} must be >= 1, got {getattr(self, field)}.")
        if int(self.temperature_epochs) < 2:
            raise ConfigError(
                "temperature_epochs",
                "temperature_epochs must be >= 2 (the fall from 1 to 0.001), got "
                f"{self.temperature_epochs}.",
            )
        if self.method == "md-dyr-sh" and self.epochs <= self.warmup_epochs + self.dynamic_epochs:
            raise ConfigError(
                "epochs",
                f"epochs ({self.epochs}) must exceed warmup_epochs + dynamic_epochs "
                f"({self.warmup_epochs} + {self.dynamic_epochs}) for md-dyr-sh: soft-to-hard "
                "bootstrapping starts after the dynamic mixup.",
            )
        if int(self.epochs) % int(self.eval_every):
            raise ConfigError(
                "epochs",
                f"epochs ({self.epochs}) must be a multiple of eval_every ({self.eval_every}), "
                "so that the last epoch is evaluated.",
            )
        if self.image_size is not None:
            self.image_size = tuple(int(s) for s in self.image_size)
        if self.per_class is not None and int(self.per_class) < 1:
            raise ConfigError("per_class", f"per_class must be >= 1, got {self.per_class}.")
        if not self.learning_rate > 0:
            raise ConfigError(
                "learning_rate", f"learning_rate must be > 0, got {self.learning_rate}."
            )
        if self.method in ("m-dyr-h", "m-dyr-s", "md-dyr-sh") and self.epochs <= self.warmup_epochs:
            raise ConfigError(
                "epochs",
                f"epochs ({self.epochs}) must exceed warmup_epochs ({self.warmup_epochs}) for "
                f"{self.method}: bootstrapping starts after the warm-up.",
            )

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
