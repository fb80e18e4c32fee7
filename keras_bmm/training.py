"""`train`: one noisy-label experiment end to end, as `scripts/train.py` runs it."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil

import keras
import numpy as np

from keras_bmm.callback import BMMCallback
from keras_bmm.data import DATASETS, eval_pipeline, load_dataset, steps_per_epoch, train_pipeline
from keras_bmm.distribute import STRATEGIES, is_chief, make_strategy
from keras_bmm.epoch_timer import EpochTimer
from keras_bmm.export import export_classifier
from keras_bmm.model import METHODS, BootstrappingModel
from keras_bmm.models import preact_resnet18, small_cnn
from keras_bmm.noise import NOISE_TYPES, LabelNoise, make_noise, real_noise
from keras_bmm.plots import PlotCallback, plot_training_curves
from keras_bmm.presets import DATASET_DEFAULTS, preset_values
from keras_bmm.report import noise_report, write_report

MODELS = ("small_cnn", "preact_resnet18")

#: Settings that may change when a run is resumed (how, not what, is trained).
RUN_SETTINGS = ("verbose", "strategy", "eval_every")

#: Preset settings that describe the preset's dataset, dropped for another dataset.
PRESET_DATA_FIELDS = ("data_dir", "per_class", "image_size", "label_set")

#: `TrainConfig`'s values for what neither a flag, a preset nor the dataset sets.
BASE_DEFAULTS = dict(
    dataset="digits",
    noise=0.0,
    noise_type="symmetric",
    method="m-dyr-h",
    momentum=0.9,
    mixup_alpha=32.0,
    reg_weight=1.0,
    seed=0,
    output="exported_models",
    verbose=1,
    strategy="default",
    mixed_precision=False,
    fast=True,
    eval_every=1,
)


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; `None` fields take the preset's, then the dataset's value.

    Attributes:
        preset: `"paper"`, `"cpu"` or `None` (see `keras_bmm.presets`).
        dataset: dataset name (see `keras_bmm.data.DATASETS`).
        data_dir: TFDS data directory, or the image folder (or `.tar.gz`).
        per_class: first K training images per class (image folders).
        image_size: `(H, W)` to resize folder images to.
        label_set: CIFAR-N label set (`aggre`, `random1`, `worst`, ...).
        noise: synthetic noise rate in [0, 1] (0 for CIFAR-N's real noise).
        noise_type: `"symmetric"` (paper: over all classes),
            `"symmetric-exclusive"` (over the other classes) or `"asymmetric"`.
        noise_seed: seed of the noise (default: `seed`).
        noisy_labels: an `.npz` written by `LabelNoise.save` to train on
            instead of drawing noise, so that methods share identical labels.
        method: one of `keras_bmm.METHODS`.
        model: `"small_cnn"` or `"preact_resnet18"`.
        width: channels of the backbone's first stage.
        epochs: number of epochs.
        warmup_epochs: epochs of plain mixup before bootstrapping.
        dynamic_epochs: MD-DYR-SH: epochs of dynamic mixup after the warm-up.
        temperature_epochs: MD-DYR-SH: epochs of the temperature's fall.
        batch_size: batch size.
        learning_rate: initial SGD learning rate.
        lr_milestones: 1-based epochs from which the learning rate is 10x
            lower, as the reference's `MultiStepLR` stepped at each epoch's
            start (100, 250: epochs 1-99 at 0.1, 100-249 at 0.01, then 0.001).
        momentum: SGD momentum.
        weight_decay: coupled L2 weight decay (PyTorch-style, as the paper).
        mixup_alpha: mixup's Beta(alpha, alpha) parameter.
        reg_weight: weight of the class-balance regulariser.
        seed: seed of initialisation, shuffling, augmentation and mixup.
        output: folder under which the SavedModel is exported.
        name: run and export name; default `<dataset>-<method>-<noise>`.
        run_dir: folder of the run's checkpoint, history and labels;
            default `runs/<name>`.
        verbose: Keras verbosity (1: progress bar).
        strategy: `"default"`, `"mirrored"` (all local GPUs/devices) or
            `"multiworker"` (the cluster in `TF_CONFIG`).
        mixed_precision: train under the `mixed_float16` policy (GPU); the
            BMM fit and the recorded losses stay float32.
        fast: the fast train step (see `BootstrappingModel`): one
            training-mode pass per batch gives the bootstrap targets, the
            posterior and the losses for the next mixture fit. `False`
            arranges the passes as the reference code does (a training-mode
            pass for the targets, an inference-mode pass for the posterior,
            and a pass over the training set after each epoch for the
            mixture); the `paper` preset sets `False`.
        eval_every: evaluate on the test set every this many epochs (the
            last epoch always); best accuracy is over the evaluated epochs.
        augment: random crop and flip of the training images; `None` takes
            the dataset's default (on for CIFAR and image folders).
        epoch_loss_pass: fit the mixture on a pass over the training set
            after each epoch (`BMMCallback(data=...)`) rather than on the
            losses the train steps recorded; `None`: whenever `fast` is off.
            With `fast`, a diagnostic: the mixture is then fitted on
            inference-mode losses while `B` is read from the step's
            training-mode ones.
    """

    preset: str | None = None
    dataset: str | None = None
    data_dir: str | None = None
    per_class: int | None = None
    image_size: tuple | None = None
    label_set: str | None = None
    noise: float | None = None
    noise_type: str | None = None
    noise_seed: int | None = None
    noisy_labels: str | None = None
    method: str | None = None
    model: str | None = None
    width: int | None = None
    epochs: int | None = None
    warmup_epochs: int | None = None
    dynamic_epochs: int | None = None
    temperature_epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    lr_milestones: tuple | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    mixup_alpha: float | None = None
    reg_weight: float | None = None
    seed: int | None = None
    output: str | None = None
    name: str | None = None
    run_dir: str | None = None
    verbose: int | None = None
    strategy: str | None = None
    mixed_precision: bool | None = None
    fast: bool | None = None
    eval_every: int | None = None
    augment: bool | None = None
    epoch_loss_pass: bool | None = None

    def resolved(self) -> TrainConfig:
        """Validates the configuration and fills every unset field.

        Raises:
            ValueError: naming the first invalid setting.
        """
        preset = preset_values(self.preset)
        dataset = self.dataset or preset.get("dataset") or BASE_DEFAULTS["dataset"]
        if dataset not in DATASETS:
            raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
        if preset and dataset != preset.get("dataset"):
            # The preset's data (folder, subset) belong to its own dataset only.
            preset = {k: v for k, v in preset.items() if k not in PRESET_DATA_FIELDS}
        layers = [BASE_DEFAULTS, DATASET_DEFAULTS[dataset], preset]
        values = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                for layer in layers:
                    value = layer.get(field.name, value)
            values[field.name] = value
        values["dataset"] = dataset
        config = TrainConfig(**values)
        config._validate()
        if config.epoch_loss_pass is None:
            config.epoch_loss_pass = not config.fast
        if config.noise_seed is None:
            config.noise_seed = config.seed
        if config.name is None:
            config.name = config.default_name()
        if config.run_dir is None:
            config.run_dir = os.path.join("runs", config.name)
        return config

    def default_name(self) -> str:
        """`<dataset>[-<label set>]-<method>-<noise>`, plus what differs from the defaults."""
        parts = [self.dataset]
        if self.label_set:
            parts.append(self.label_set)
        parts += [self.method, f"{self.noise:g}"]
        if self.noise_type != "symmetric":
            parts.append(self.noise_type)
        if self.seed != 0:
            parts.append(f"seed{self.seed}")
        if self.noise_seed is not None and self.noise_seed != self.seed:
            parts.append(f"noise{self.noise_seed}")
        return "-".join(parts)

    def _validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown method {self.method!r}; expected one of {METHODS}.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy {self.strategy!r}; expected one of {STRATEGIES}.")
        if self.model not in MODELS:
            raise ValueError(f"Unknown model {self.model!r}; expected one of {MODELS}.")
        if self.noise_type not in NOISE_TYPES:
            raise ValueError(
                f"Unknown noise type {self.noise_type!r}; expected one of {NOISE_TYPES}."
            )
        if not isinstance(self.noise, (int, float)) or not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"--noise must be a rate in [0, 1], got {self.noise}.")
        if self.dataset.endswith("_n") and self.noise > 0:
            raise ValueError(
                f"{self.dataset} carries real human label noise; --noise must be 0 "
                f"(got {self.noise})."
            )
        self.lr_milestones = tuple(int(m) for m in self.lr_milestones or ())
        if list(self.lr_milestones) != sorted(set(self.lr_milestones)) or any(
            m < 1 for m in self.lr_milestones
        ):
            raise ValueError(
                f"lr_milestones must be strictly increasing epochs >= 1 (1-based), "
                f"got {list(self.lr_milestones)}."
            )
        if self.method == "md-dyr-sh" and self.epochs <= self.warmup_epochs + self.dynamic_epochs:
            raise ValueError(
                f"epochs ({self.epochs}) must exceed warmup_epochs + dynamic_epochs "
                f"({self.warmup_epochs} + {self.dynamic_epochs}) for md-dyr-sh: soft-to-hard "
                "bootstrapping starts after the dynamic mixup."
            )
        if int(self.temperature_epochs) < 2:
            raise ValueError(
                f"temperature_epochs must be >= 2 (the fall from 1 to 0.001), got "
                f"{self.temperature_epochs}."
            )
        if self.image_size is not None:
            self.image_size = tuple(int(s) for s in self.image_size)
        for field in ("epochs", "batch_size", "width", "eval_every"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}.")
        for field in ("warmup_epochs", "dynamic_epochs"):
            if int(getattr(self, field)) < 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}.")
        if int(self.epochs) % int(self.eval_every):
            raise ValueError(
                f"epochs ({self.epochs}) must be a multiple of eval_every ({self.eval_every}), "
                "so that the last epoch is evaluated."
            )
        if self.per_class is not None and int(self.per_class) < 1:
            raise ValueError(f"per_class must be >= 1, got {self.per_class}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}.")
        if self.method in ("m-dyr-h", "m-dyr-s", "md-dyr-sh") and self.epochs <= self.warmup_epochs:
            raise ValueError(
                f"epochs ({self.epochs}) must exceed warmup_epochs ({self.warmup_epochs}) "
                f"for {self.method}: bootstrapping starts after the warm-up."
            )


@dataclasses.dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        config: the resolved configuration.
        noise: the `LabelNoise` trained on.
        history: per-epoch logs (lists by key), including resumed epochs.
        best_test_accuracy: best test accuracy over epochs.
        last_test_accuracy: test accuracy after the last epoch.
        auc_after_warmup: ROC AUC of the BMM's p(noisy) against the true
            noise mask, from the fit at the end of the warm-up (NaN if undefined).
        auc_last: the same from the last epoch's fit.
        export_path: folder of the exported SavedModel (or None).
        run_dir: the run folder.
        model: the trained `BootstrappingModel`.
        report_path: the per-sample noise report (CSV, most suspicious first).
        plot_paths: the PNG files written with `plots=True`.
    """

    config: TrainConfig
    noise: LabelNoise
    history: dict
    best_test_accuracy: float
    last_test_accuracy: float
    auc_after_warmup: float
    auc_last: float
    export_path: str | None
    run_dir: str | None = None
    model: keras.Model | None = None
    report_path: str | None = None
    plot_paths: list | None = None

    def metrics(self) -> dict:
        """The final figures as a JSON-ready dict."""
        return {
            "best_test_accuracy": self.best_test_accuracy,
            "last_test_accuracy": self.last_test_accuracy,
            "auc_after_warmup": self.auc_after_warmup,
            "auc_last": self.auc_last,
            "epochs_run": len(self.history.get("val_accuracy", [])),
            "noise": self.noise.summary(),
            "export_path": self.export_path,
        }

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
                f"run folder: {self.run_dir}",
                f"exported SavedModel: {self.export_path}",
            ]
        )


def dataset_of(config: TrainConfig):
    """Loads the dataset a (resolved) configuration names."""
    return load_dataset(
        config.dataset,
        data_dir=config.data_dir,
        per_class=config.per_class,
        image_size=config.image_size,
        label_set=config.label_set,
    )


def build_backbone(config: TrainConfig, num_classes: int, image_shape, mean, std) -> keras.Model:
    """The classifier on raw pixels: normalisation (when needed), then the backbone."""
    if config.model == "preact_resnet18":
        backbone = preact_resnet18(num_classes, width=config.width, input_shape=image_shape)
    else:
        backbone = small_cnn(num_classes, input_shape=image_shape, width=config.width)
    if np.allclose(mean, 0.0) and np.allclose(std, 1.0):
        return backbone
    inputs = keras.Input(shape=image_shape, name="image")
    normalized = keras.layers.Normalization(
        mean=list(mean), variance=[s * s for s in std], name="normalization"
    )(inputs)
    return keras.Model(inputs, backbone(normalized), name=f"normalized_{backbone.name}")


def build_model(
    config: TrainConfig, num_classes: int, image_shape, num_samples: int, mean=(0.0,), std=(1.0,)
):
    """The backbone wrapped in a compiled `BootstrappingModel`."""
    model = BootstrappingModel(
        build_backbone(config, num_classes, image_shape, mean, std),
        method=config.method,
        num_samples=num_samples,
        mixup_alpha=config.mixup_alpha,
        reg_weight=config.reg_weight,
        warmup_epochs=config.warmup_epochs,
        weight_decay=config.weight_decay,
        dynamic_epochs=config.dynamic_epochs,
        temperature_epochs=config.temperature_epochs,
        fast=config.fast,
        seed=config.seed,
    )
    steps = steps_per_epoch(num_samples, config.batch_size)
    schedule = config.learning_rate
    if config.lr_milestones:
        # Epoch m (1-based) starts at step (m - 1) * steps, the first at the lower rate.
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries=[(m - 1) * steps - 1 for m in config.lr_milestones],
            values=[config.learning_rate * 0.1**i for i in range(len(config.lr_milestones) + 1)],
        )
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=config.momentum))
    model.build((None, *image_shape))
    return model


def noise_of(config: TrainConfig, data) -> LabelNoise:
    """The labels a configuration trains on: a saved file, real noise, or drawn noise."""
    clean = data.train_clean_labels if data.train_clean_labels is not None else data.train_labels
    if config.noisy_labels:
        return LabelNoise.load(config.noisy_labels, clean_labels=clean)
    if data.train_clean_labels is not None:
        return real_noise(data.train_labels, data.train_clean_labels, data.num_classes)
    return make_noise(
        data.train_labels,
        config.noise,
        data.num_classes,
        seed=config.noise_seed,
        noise_type=config.noise_type,
        class_names=data.class_names,
    )


def _labels(config: TrainConfig, data, run_dir: str, resume: bool) -> LabelNoise:
    saved = os.path.join(run_dir, "noisy_labels.npz")
    if resume and os.path.exists(saved):
        clean = data.train_clean_labels
        return LabelNoise.load(saved, clean_labels=data.train_labels if clean is None else clean)
    return noise_of(config, data)


def _is_run(run_dir: str) -> bool:
    """Whether `run_dir` holds a started keras-bmm run (not just a failed start)."""
    return os.path.exists(os.path.join(run_dir, "config.json")) and any(
        os.path.exists(os.path.join(run_dir, name)) for name in ("backup", "history.csv")
    )


def settings_differ(config: TrainConfig, run_dir: str) -> list[str]:
    """The settings (other than `RUN_SETTINGS`) in which `config` differs from
    the run saved in `run_dir`, sorted by name."""
    with open(os.path.join(run_dir, "config.json")) as f:
        before = json.load(f)
    current = _config_dict(config)
    return sorted(k for k in current if k not in RUN_SETTINGS and before.get(k) != current[k])


def _check_run_dir(config: TrainConfig, resume: bool, overwrite: bool) -> int:
    """Checks the run folder before anything is loaded; returns the epoch to start from."""
    run_dir = config.run_dir
    metadata = os.path.join(run_dir, "backup", "training_metadata.json")
    if resume:
        if not _is_run(run_dir):
            raise FileNotFoundError(f"--resume: no run to resume in {run_dir!r}.")
        differ = settings_differ(config, run_dir)
        if differ:
            raise ValueError(
                f"--resume: the settings differ from the run in {run_dir!r} for {differ}; "
                "resume with the same settings."
            )
        if os.path.exists(metadata):
            with open(metadata) as f:
                return int(json.load(f)["epoch"])
        return 0
    if _is_run(run_dir) and not overwrite:
        raise FileExistsError(
            f"Run folder {run_dir!r} already holds a run; pass --resume to continue it "
            "or --overwrite to start again."
        )
    if os.path.isdir(run_dir) and os.listdir(run_dir) and not _is_run(run_dir):
        if not os.path.exists(os.path.join(run_dir, "config.json")):
            raise FileExistsError(
                f"Run folder {run_dir!r} is not empty and holds no keras-bmm run; choose "
                "another --run-dir."
            )
    return 0


def _start_run_dir(config: TrainConfig, resume: bool) -> None:
    """Creates (or, for a fresh start, clears) the run folder and writes `config.json`."""
    run_dir = config.run_dir
    if not resume and os.path.isdir(run_dir):
        shutil.rmtree(run_dir)  # a previous run (--overwrite) or a failed start
    os.makedirs(run_dir, exist_ok=True)
    if not resume:
        _write_json(os.path.join(run_dir, "config.json"), _config_dict(config))


def _config_dict(config: TrainConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _write_json(path: str, value) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(tmp, path)


def _header(path: str) -> list:
    """The column names of a CSV file (empty if it is missing or empty)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return next(csv.reader(f), [])


class _HistoryLogger(keras.callbacks.CSVLogger):
    """`CSVLogger` whose appended rows keep the existing file's columns.

    `CSVLogger` appends without a header and takes its columns from the
    first epoch it sees; after a resume that epoch can log other keys (a
    validation epoch, a new metric), which would shift the values under the
    old header. Here the old header's columns are kept: keys it lacks are
    dropped, keys missing from an epoch's logs are written as "NA".
    """

    def on_train_begin(self, logs=None):
        header = _header(self.filename) if self.append else []
        super().on_train_begin(logs)
        if header:
            self.keys = [key for key in header if key != "epoch"]


def read_history(path: str) -> dict:
    """The per-epoch logs a `keras.callbacks.CSVLogger` wrote, as lists by key."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    history = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":
                # CSVLogger writes "NA" for epochs without validation.
                number = float(value) if value not in ("", "NA") else float("nan")
                history.setdefault(key, []).append(number)
    return history


def train(
    config: TrainConfig,
    export: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: list | None = None,
    plots: bool = False,
) -> TrainResult:
    """Runs one experiment: noise, training, evaluation, export.

    The run folder (`config.run_dir`) receives `config.json`, the noisy
    labels (`noisy_labels.npz`), a checkpoint after every epoch (`backup/`:
    weights, optimizer, BMM and random-generator state, epoch), TensorBoard
    logs (`tensorboard/`) and the history (`history.csv`, one row per epoch
    with the BMM's parameters and detection metrics), then `history.json`,
    `metrics.json` and `noise_report.csv`. Under `--strategy multiworker`
    only the first worker writes `run_dir` and exports; worker `i` writes
    `run_dir/worker-i/`.

    Args:
        config: the run's settings (validated before any data is loaded).
        export: whether to export the SavedModel.
        resume: continue the run in `config.run_dir` from its last
            completed epoch, with the same labels; the settings must match.
        overwrite: replace an existing run in `config.run_dir`.
        callbacks: extra Keras callbacks.
        plots: write PNG plots to `<run_dir>/plots/`: the loss histogram
            with the fitted mixture after the first epoch, the warm-up and
            the last epoch, and the training curves.

    Returns:
        A `TrainResult`.

    Example:

    ```python
    result = keras_bmm.train(keras_bmm.TrainConfig(dataset="digits", noise=0.8))
    print(result.summary())
    ```
    """
    config = config.resolved()
    # A multi-worker strategy must exist before TensorFlow runs anything else.
    strategy = make_strategy(config.strategy)
    if not is_chief():
        # Other workers keep their own run folder and do not export.
        config = dataclasses.replace(
            config,
            run_dir=os.path.join(config.run_dir, f"worker-{strategy.cluster_resolver.task_id}"),
        )
        export = False
    initial_epoch = _check_run_dir(config, resume, overwrite)
    keras.utils.set_random_seed(config.seed)
    data = dataset_of(config)
    noise = _labels(config, data, config.run_dir, resume)
    _start_run_dir(config, resume)
    noise.save(os.path.join(config.run_dir, "noisy_labels.npz"))
    if config.verbose:
        print(noise.summary())
    policy = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        with strategy.scope():
            model = build_model(
                config, data.num_classes, data.image_shape, data.num_train, data.mean, data.std
            )
    finally:
        keras.config.set_dtype_policy(policy)
    history_path = os.path.join(config.run_dir, "history.csv")
    # The reference step records no losses: a separate pass over the training set does.
    tracking = None
    if config.epoch_loss_pass:
        tracking = eval_pipeline(data.train_images, noise.labels, 500, indexed=True)
    bmm_callback = BMMCallback(data=tracking, noise_mask=noise.noise_mask)
    plot_callback = PlotCallback(
        bmm_callback,
        os.path.join(config.run_dir, "plots"),
        epochs={0, config.warmup_epochs - 1, config.epochs - 1},
        noise_mask=noise.noise_mask,
    )
    run_callbacks = [
        bmm_callback,
        *([plot_callback] if plots else []),
        EpochTimer(),  # after the mixture fit, before the history is written
        keras.callbacks.BackupAndRestore(
            os.path.join(config.run_dir, "backup"), delete_checkpoint=False
        ),
        _HistoryLogger(history_path, append=initial_epoch > 0),
        keras.callbacks.TensorBoard(os.path.join(config.run_dir, "tensorboard")),
        *(callbacks or []),
    ]
    if initial_epoch >= config.epochs:
        # Nothing left to train: restore the last checkpoint (fit would have).
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(config.run_dir, "backup", "latest.weights.h5"))
    else:
        model.fit(
            train_pipeline(
                data.train_images,
                noise.labels,
                config.batch_size,
                seed=config.seed,
                augment=data.augment if config.augment is None else config.augment,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
            ),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch(data.num_train, config.batch_size),
            validation_data=eval_pipeline(data.test_images, data.test_labels, 500),
            validation_freq=config.eval_every,
            callbacks=run_callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=config.verbose,
        )
    history = read_history(history_path)
    _write_json(os.path.join(config.run_dir, "history.json"), history)
    result = _result(config, noise, history)
    result.model = model
    rows = noise_report(
        model,
        data.train_images,
        noise.labels,
        clean_labels=noise.clean_labels,
        files=data.train_files,
        sort_by="p_noisy",
    )
    result.report_path = write_report(rows, os.path.join(config.run_dir, "noise_report.csv"))
    if plots:
        result.plot_paths = _plots(config, history, plot_callback)
    if export:
        result.export_path = export_classifier(
            model,
            os.path.join(config.output, config.name),
            data.image_shape,
            extra_files={"config.json": json.dumps(_config_dict(config), indent=2)},
            input_dtype=data.train_images.dtype.name,
            class_names=data.class_names,
        )
    _write_json(os.path.join(config.run_dir, "metrics.json"), result.metrics())
    return result


def load_run(run_dir: str):
    """Rebuilds a saved run: `(config, data, noise, model)` with its last checkpoint.

    Args:
        run_dir: a run folder written by `train`.

    Returns:
        The resolved `TrainConfig`, the `ImageDataset`, the `LabelNoise` trained
        on, and the `BootstrappingModel` with the checkpoint's weights (and
        its fitted mixture).

    Raises:
        FileNotFoundError: if the folder holds no run or no checkpoint yet.
    """
    config_path = os.path.join(run_dir, "config.json")
    weights = os.path.join(run_dir, "backup", "latest.weights.h5")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{run_dir!r} holds no keras-bmm run (no config.json).")
    if not os.path.exists(weights):
        raise FileNotFoundError(
            f"The run in {run_dir!r} has no checkpoint yet (no completed epoch), so no "
            "beta mixture has been fitted."
        )
    with open(config_path) as f:
        values = json.load(f)
    config = TrainConfig(**values).resolved()
    config.run_dir = run_dir
    data = dataset_of(config)
    clean = data.train_clean_labels if data.train_clean_labels is not None else data.train_labels
    noise = LabelNoise.load(os.path.join(run_dir, "noisy_labels.npz"), clean_labels=clean)
    model = build_model(
        config, data.num_classes, data.image_shape, data.num_train, data.mean, data.std
    )
    model.optimizer.build(model.trainable_variables)
    model.load_weights(weights)
    return config, data, noise, model


def _plots(config: TrainConfig, history: dict, plot_callback) -> list:
    curves = plot_training_curves(history, os.path.join(config.run_dir, "plots", "training.png"))
    return [*plot_callback.paths, curves]


def _result(config: TrainConfig, noise: LabelNoise, history: dict) -> TrainResult:
    accuracy = history.get("val_accuracy", [float("nan")])
    aucs = history.get("bmm_auc", [])
    warmup = config.warmup_epochs
    return TrainResult(
        config=config,
        noise=noise,
        history=history,
        best_test_accuracy=float(np.nanmax(accuracy)),
        last_test_accuracy=float(accuracy[-1]),
        auc_after_warmup=float(aucs[warmup - 1]) if 0 < warmup <= len(aucs) else float("nan"),
        auc_last=float(aucs[-1]) if aucs else float("nan"),
        export_path=None,
        run_dir=config.run_dir,
    )
