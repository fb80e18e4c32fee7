"""A run on disk, read back: its labels, its model, its noise report."""

from __future__ import annotations

import os

from keras_bmm.noise import LabelNoise
from keras_bmm.report import noise_report, write_report
from keras_bmm.training.builders import build_model, dataset_of, noise_of
from keras_bmm.training.config import TrainConfig
from keras_bmm.training.run_folder import RunFolder


def labels_of_run(config, data, folder: RunFolder, resume: bool) -> LabelNoise:
    """The labels to train on: those the run saved when resuming, else `noise_of`."""
    if resume and os.path.exists(folder.labels_path):
        clean = data.train_clean_labels
        return LabelNoise.load(
            folder.labels_path, clean_labels=data.train_labels if clean is None else clean
        )
    return noise_of(config, data)


def write_run_report(model, data, noise, path: str, sort_by: str | None = "p_noisy") -> list:
    """Writes the noise report of a run's training set to `path`; returns its rows."""
    rows = noise_report(
        model,
        data.train_images,
        noise.labels,
        clean_labels=noise.clean_labels,
        files=data.train_files,
        sort_by=sort_by,
    )
    write_report(rows, path)
    return rows


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
    folder = RunFolder(run_dir)
    weights = folder.require_checkpoint()
    config = TrainConfig(**folder.saved_settings()).resolved()
    config.run_dir = run_dir
    data = dataset_of(config)
    noise = labels_of_run(config, data, folder, resume=True)
    model = build_model(
        config,
        data.num_classes,
        data.image_shape,
        data.num_train,
        data.mean,
        data.std,
        pretrained=False,  # the checkpoint holds every weight
    )
    model.optimizer.build(model.trainable_variables)
    model.load_weights(weights)
    return config, data, noise, model
