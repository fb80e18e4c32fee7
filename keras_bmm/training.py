"""`train`: one noisy-label experiment end to end, as `scripts/train.py` runs it."""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np

from keras_bmm.callback import BMMCallback
from keras_bmm.data import AVAILABLE_DATASETS, DATASETS, eval_pipeline, load_dataset, train_pipeline
from keras_bmm.export import export_classifier
from keras_bmm.model import METHODS, BootstrappingModel
from keras_bmm.models import small_cnn
from keras_bmm.noise import NOISE_TYPES, LabelNoise, symmetric_noise

#: Per-dataset schedule defaults, used for every field left as None.
DEFAULTS = {
    "digits": dict(
        epochs=60,
        warmup_epochs=25,
        batch_size=64,
        learning_rate=0.05,
        lr_milestones=(20, 45),
    ),
}


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; `None` fields take the dataset's default.

    Attributes:
        dataset: dataset name (see `keras_bmm.data.DATASETS`).
        noise: symmetric noise rate in [0, 1].
        noise_type: `"symmetric"` (paper: over all classes) or
            `"symmetric-exclusive"` (over the other classes).
        method: `"ce"`, `"mixup"`, `"m-dyr-h"` or `"m-dyr-s"`.
        epochs: number of epochs.
        warmup_epochs: epochs of plain mixup before bootstrapping.
        batch_size: batch size.
        learning_rate: initial SGD learning rate.
        lr_milestones: epochs at which the learning rate is multiplied by 0.1.
        momentum: SGD momentum.
        weight_decay: decoupled weight decay.
        mixup_alpha: mixup's Beta(alpha, alpha) parameter.
        reg_weight: weight of the class-balance regulariser.
        seed: seed of noise, initialisation, shuffling and mixup.
        output: folder under which the SavedModel is exported.
        name: model name of the export; default `<dataset>-<method>-<noise>`.
        verbose: Keras verbosity (1: progress bar).
    """

    dataset: str = "digits"
    noise: float = 0.0
    noise_type: str = "symmetric"
    method: str = "m-dyr-h"
    epochs: int | None = None
    warmup_epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    lr_milestones: tuple | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    mixup_alpha: float = 32.0
    reg_weight: float = 1.0
    seed: int = 0
    output: str = "exported_models"
    name: str | None = None
    verbose: int = 1

    def resolved(self) -> TrainConfig:
        """Validates the configuration and fills in the dataset's defaults.

        Raises:
            ValueError: naming the first invalid setting.
        """
        if self.dataset not in DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; expected one of {DATASETS}.")
        if self.dataset not in AVAILABLE_DATASETS:
            raise ValueError(
                f"Dataset {self.dataset!r} (tensorflow-datasets) has no loader yet; "
                f"available: {AVAILABLE_DATASETS}."
            )
        if self.method not in METHODS:
            raise ValueError(f"Unknown method {self.method!r}; expected one of {METHODS}.")
        if self.noise_type not in NOISE_TYPES:
            raise ValueError(
                f"Unknown noise type {self.noise_type!r}; expected one of {NOISE_TYPES}."
            )
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"--noise must be in [0, 1], got {self.noise}.")
        defaults = DEFAULTS.get(self.dataset, DEFAULTS["digits"])
        config = dataclasses.replace(
            self, **{k: v for k, v in defaults.items() if getattr(self, k) is None}
        )
        config.lr_milestones = tuple(int(m) for m in config.lr_milestones)
        for field in ("epochs", "batch_size"):
            if getattr(config, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(config, field)}.")
        if config.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {config.warmup_epochs}.")
        if not config.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {config.learning_rate}.")
        if config.method in ("m-dyr-h", "m-dyr-s") and config.epochs <= config.warmup_epochs:
            raise ValueError(
                f"epochs ({config.epochs}) must exceed warmup_epochs ({config.warmup_epochs}) "
                f"for {config.method}: bootstrapping starts after the warm-up."
            )
        if config.name is None:
            config.name = f"{config.dataset}-{config.method}-{config.noise:g}"
        return config


@dataclasses.dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        config: the resolved configuration.
        noise: the `LabelNoise` trained on.
        history: the Keras History dict (per-epoch logs).
        best_test_accuracy: best test accuracy over epochs.
        last_test_accuracy: test accuracy after the last epoch.
        auc_after_warmup: ROC AUC of the BMM's p(noisy) against the true
            noise mask, from the fit at the end of the warm-up (NaN if undefined).
        auc_last: the same from the last epoch's fit.
        export_path: folder of the exported SavedModel (or None).
    """

    config: TrainConfig
    noise: LabelNoise
    history: dict
    best_test_accuracy: float
    last_test_accuracy: float
    auc_after_warmup: float
    auc_last: float
    export_path: str | None

    def summary(self) -> str:
        c = self.config
        return "\n".join(
            [
                f"dataset={c.dataset} method={c.method} epochs={c.epochs} warmup={c.warmup_epochs}",
                f"label noise: {self.noise.summary()}",
                f"test accuracy: best {100 * self.best_test_accuracy:.2f}%  "
                f"last {100 * self.last_test_accuracy:.2f}%",
                f"BMM noise detection ROC AUC: after warm-up {self.auc_after_warmup:.4f}  "
                f"last epoch {self.auc_last:.4f}",
                f"exported SavedModel: {self.export_path}",
            ]
        )


def build_model(config: TrainConfig, num_classes: int, image_shape, num_samples: int):
    """The backbone wrapped in a compiled `BootstrappingModel`."""
    backbone = small_cnn(num_classes, input_shape=image_shape)
    model = BootstrappingModel(
        backbone,
        method=config.method,
        num_samples=num_samples,
        mixup_alpha=config.mixup_alpha,
        reg_weight=config.reg_weight,
        warmup_epochs=config.warmup_epochs,
        seed=config.seed,
    )
    steps = -(-num_samples // config.batch_size)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[m * steps for m in config.lr_milestones],
        values=[config.learning_rate * 0.1**i for i in range(len(config.lr_milestones) + 1)],
    )
    model.compile(
        optimizer=keras.optimizers.SGD(
            schedule, momentum=config.momentum, weight_decay=config.weight_decay
        )
    )
    return model


def train(config: TrainConfig, export: bool = True) -> TrainResult:
    """Runs one experiment: noise, training, evaluation, export.

    Args:
        config: the run's settings (validated before any data is loaded).
        export: whether to export the SavedModel.

    Returns:
        A `TrainResult`.
    """
    config = config.resolved()
    keras.utils.set_random_seed(config.seed)
    data = load_dataset(config.dataset)
    noise = symmetric_noise(
        data.train_labels,
        config.noise,
        data.num_classes,
        seed=config.seed,
        noise_type=config.noise_type,
    )
    if config.verbose:
        print(noise.summary())
    model = build_model(config, data.num_classes, data.image_shape, data.num_train)
    train_ds = train_pipeline(data.train_images, noise.labels, config.batch_size, seed=config.seed)
    test_ds = eval_pipeline(data.test_images, data.test_labels, 256)
    callback = BMMCallback(noise_mask=noise.noise_mask)
    history = model.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=test_ds,
        callbacks=[callback],
        shuffle=False,  # the pipeline shuffles
        verbose=config.verbose,
    ).history
    aucs = history.get("bmm_auc", [])
    auc_after_warmup = (
        aucs[config.warmup_epochs - 1] if 0 < config.warmup_epochs <= len(aucs) else float("nan")
    )
    export_path = None
    if export:
        export_path = export_classifier(
            model,
            os.path.join(config.output, config.name),
            data.image_shape,
            extra_files={
                "config.json": json.dumps(dataclasses.asdict(config), indent=2),
                "class_names.txt": "\n".join(data.class_names) + "\n",
            },
        )
    return TrainResult(
        config=config,
        noise=noise,
        history=history,
        best_test_accuracy=float(np.max(history["val_accuracy"])),
        last_test_accuracy=float(history["val_accuracy"][-1]),
        auc_after_warmup=float(auc_after_warmup),
        auc_last=float(aucs[-1]) if aucs else float("nan"),
        export_path=export_path,
    )
