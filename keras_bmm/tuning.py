"""Hyperparameter search with keras-tuner (the `tune` extra), on held-out *noisy* labels.

A user with noisy labels has no clean validation set. Two objectives are
offered, both computed on a held-out split of the noisy training data:

- `"noisy"`: accuracy against the held-out noisy labels (`val_accuracy`).
  Under symmetric noise with rate `r` over `C` classes (the paper's
  definition), a prediction matches the noisy label with probability
  `(1 - r) * a + r / C`, where `a` is its clean accuracy: an increasing affine
  function of `a`, so ranking configurations by noisy accuracy ranks them by
  clean accuracy.
- `"clean"`: accuracy on the held-out samples that the model's own beta
  mixture judges clean (p(noisy) < 0.5), `val_clean_accuracy`. It does not
  rest on the noise being symmetric, but trusts the mixture.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np

from keras_bmm.atomic import atomic_write
from keras_bmm.bootstrapping.objectives import per_sample_cross_entropy
from keras_bmm.callbacks.bmm_callback import BMMCallback
from keras_bmm.data.splits import held_out_seed
from keras_bmm.extras import require
from keras_bmm.search_space import (  # noqa: F401 (re-exported)
    OBJECTIVES,
    SEARCH_SPACE,
    check_search,
    holdout_split,
    validate_space,
)
from keras_bmm.training.builders import build_model, dataset_of, noise_of
from keras_bmm.training.config import ConfigError, TrainConfig

keras_tuner = require("keras_tuner", "tune")


class CleanAccuracy(keras.callbacks.Callback):
    """Adds `val_clean_accuracy`: accuracy on held-out samples the BMM judges clean.

    Args:
        data: `(image, label)` batches of the held-out samples, in order.
        labels: their (noisy) labels.
    """

    def __init__(self, data, labels):
        super().__init__()
        self.data = data
        self.labels = np.asarray(labels)

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.backbone.predict(self.data.map(lambda x, y: x), verbose=0)
        losses = per_sample_cross_entropy(self.labels, logits)
        clean = self.model.noise_state.posterior(losses).numpy() < 0.5
        correct = np.argmax(logits, axis=1) == self.labels
        value = float(correct[clean].mean()) if clean.any() else 0.0
        if logs is not None:
            logs["val_clean_accuracy"] = value


class BMMHyperModel(keras_tuner.HyperModel):
    """Builds and trains one configuration of the search.

    Args:
        config: the base `TrainConfig` (resolved); searched settings replace
            its values.
        space: validated ranges, from `validate_space`.
        data: `(train_part, y_train, held_out, y_val)`: the two parts of the
            dataset (`DatasetPipelines.holdout`) and their noisy labels.
        num_classes, image_shape, mean, std: as the dataset's.
        augment: whether training images are augmented.
    """

    def __init__(self, config, space, data, num_classes, image_shape, mean, std, augment, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.space = space
        self.data = data
        self.num_classes = num_classes
        self.image_shape = image_shape
        self.mean = mean
        self.std = std
        self.augment = augment

    def trial_config(self, hp) -> TrainConfig:
        """The trial's configuration: the base one with the sampled settings.

        Raises:
            keras_tuner.errors.FatalValueError: if the trial's settings are
                invalid (`TrainConfig.validate`); the search stops.
        """
        values = {}
        for name, (low, high) in self.space.items():
            kind = SEARCH_SPACE[name][1]
            if kind == "int":
                values[name] = hp.Int(name, low, high)
            else:
                values[name] = hp.Float(name, low, high, sampling=kind)
        config = dataclasses.replace(self.config, **values)
        try:
            config.validate()
        except ConfigError as error:
            raise keras_tuner.errors.FatalValueError(
                f"Trial settings {values} are invalid: {error}"
            ) from None
        return config

    def build(self, hp):
        keras.utils.set_random_seed(self.config.seed)
        y_train = self.data[1]
        return build_model(
            self.trial_config(hp),
            self.num_classes,
            self.image_shape,
            len(y_train),
            self.mean,
            self.std,
        )

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        config = self.trial_config(hp)
        train_part, y_train, held_out, y_val = self.data
        validation = held_out.tracking_batches(y_val, 500, indexed=False)
        return model.fit(
            # One epoch per iteration, keyed by Keras's epoch (BootstrappingModel
            # adds the PipelineEpoch callback).
            train_part.train_batches(
                y_train, config.batch_size, seed=config.seed, augment=self.augment
            ),
            epochs=config.epochs,
            validation_data=validation,
            callbacks=[BMMCallback(), CleanAccuracy(validation, y_val), *(callbacks or [])],
            shuffle=False,
            verbose=config.verbose,
        )


def search_split(config, data, holdout: float):
    """`(train_part, train_labels, held_out, held_out_labels)` of a search, noisy labels.

    The held-out part is drawn with `held_out_seed(config.seed)`, a stream
    apart from the noise's (symmetric noise seeded alike resamples the first
    samples of `config.seed`'s permutation).

    Args:
        config: the search's resolved `TrainConfig`.
        data: its dataset (`dataset_of`).
        holdout: the share held out.

    Returns:
        The parts and their noisy labels.

    Example:

    ```python
    train_part, labels, held_out, held_out_labels = search_split(config, data, 0.1)
    ```
    """
    noise = noise_of(config, data)
    train_part, held_out = data.holdout(holdout, held_out_seed(config.seed))
    return (
        train_part,
        noise.labels[train_part.sample_ids],
        held_out,
        noise.labels[held_out.sample_ids],
    )


def tune(
    config: TrainConfig,
    space: dict | None = None,
    max_trials: int = 10,
    objective: str = "noisy",
    holdout: float = 0.1,
    directory: str | None = None,
    overwrite: bool = False,
) -> tuple[TrainConfig, str]:
    """Searches mixup alpha, regulariser weight, warm-up and learning rate.

    Trials are stored in `directory` (keras-tuner's project folder); running
    again with the same directory continues the search where it stopped
    (finished trials are not re-run). The best configuration is written to
    `<directory>/best_config.json`, which `scripts/train.py --config` reads.

    Args:
        config: the base settings (dataset, noise, method, epochs, ...).
        space: ranges to override, e.g. `{"learning_rate": (0.01, 0.1)}`.
        max_trials: number of configurations to try in total.
        objective: `"noisy"` or `"clean"` (see the module docstring).
        holdout: fraction of the (noisy) training set held out for validation
            (`search_split`).
        directory: the search folder; default `runs/tune-<name>`, the name
            without the searched settings (e.g. `tune-digits-m-dyr-h-0.6-epochs20`).
        overwrite: start the search afresh.

    Returns:
        `(best_config, path_of_best_config_json)`.

    Example:

    ```python
    best, path = keras_bmm.tuning.tune(
        keras_bmm.TrainConfig(dataset="digits", noise=0.6, epochs=20), max_trials=8
    )
    ```
    """
    if config.warmup_epochs is None:
        # The warm-up is searched; any valid base value will do.
        config = dataclasses.replace(config, warmup_epochs=0)
    named = config.name is not None
    config = config.resolved()
    ranges = check_search(config, space, max_trials, objective, holdout)
    # Named by the settings the search keeps, not by the searched ones' base values.
    name = config.name if named else config.default_name(ignore=tuple(SEARCH_SPACE))
    directory = directory or os.path.join("runs", f"tune-{name}")
    data = dataset_of(config)
    split = search_split(config, data, holdout)
    augment = data.augment if config.augment is None else config.augment
    hypermodel = BMMHyperModel(
        config, ranges, split, data.num_classes, data.image_shape, data.mean, data.std, augment
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective=keras_tuner.Objective(OBJECTIVES[objective], direction="max"),
        max_trials=int(max_trials),
        seed=config.seed,
        directory=os.path.dirname(os.path.abspath(directory)),
        project_name=os.path.basename(os.path.abspath(directory)),
        overwrite=overwrite,
    )
    tuner.search()
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = hypermodel.trial_config(best_hp)
    values = dataclasses.asdict(best)
    for field in ("name", "run_dir", "output", "verbose"):
        values.pop(field)
    path = os.path.join(directory, "best_config.json")
    with atomic_write(path) as f:
        json.dump(values, f, indent=2)
    return best, path
