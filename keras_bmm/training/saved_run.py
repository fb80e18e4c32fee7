"""A run on disk, read back: its labels, its model, its noise report."""

from __future__ import annotations

import os

from keras_bmm.data.manifest import write_manifest
from keras_bmm.noise import LabelNoise
from keras_bmm.noise_estimate import estimate_noise
from keras_bmm.report import bootstraps, class_probabilities, noise_report, write_report
from keras_bmm.suggestions import suggest_labels
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


def write_run_report(
    model,
    data,
    noise,
    path: str,
    class_names=None,
    held_out_kappa: float | None = None,
    sort_by: str | None = "p_noisy",
    history: dict | None = None,
):
    """Writes the noise report of a run's training set to `path`, with its suggestions.

    `data` is the dataset trained on (with `val_split`, the training part);
    `noise` covers the full training set, indexed by `data.sample_ids`. Rows
    are indexed in the full training set; a file left out (`skip_bad_files`)
    has no row. The label changes worth making are chosen by
    `keras_bmm.suggestions.suggest_labels` (which reads `held_out_kappa`, and
    the class probabilities when the network never trained on its own
    predictions).

    Returns:
        `(rows, verdict)`: the report's rows and the suggestions' `Verdict`.
    """
    ids = data.sample_ids
    clean = noise.clean_labels if noise.truth_known else None
    rows = noise_report(
        model,
        data.tracking_batches(noise.labels[ids], 256),
        noise.labels[ids],
        clean_labels=None if clean is None else clean[ids],
        files=data.train_files,
        sort_by=sort_by,
        sample_ids=ids,
    )
    estimate = estimate_noise(rows, data.num_classes, history)["estimate"]
    probabilities = None
    if not bootstraps(model):  # an independent witness: see `suggest_labels`
        by_id = class_probabilities(
            model, data.tracking_batches(noise.labels[ids], 256), sample_ids=ids
        )
        probabilities = [by_id.get(row["index"]) for row in rows]
        if any(
            p is None or abs(p[row["given_label"]] - row["p_given"]) > 1e-4
            for p, row in zip(probabilities, rows)
        ):  # the same model on the same images: the passes must agree row by row
            raise RuntimeError(
                "The noise report's two passes over the training images disagree (did the "
                "images change on disk?); the run's checkpoint is kept: write the report "
                "again with scripts/report.py --run-dir <run folder>."
            )
    verdict = suggest_labels(
        rows, data.num_classes, held_out_kappa, estimate, probabilities=probabilities
    )
    write_report(rows, path, class_names)
    return rows, verdict


def write_corrected_labels(rows: list, class_names, path: str) -> str | None:
    """Writes the report's corrected labels as a manifest (`path,label`), for files; returns it.

    Train again on them with `labels` (or as a `manifest` dataset). Rows
    without a file (datasets held in memory from arrays) write nothing.
    """
    rows = sorted((r for r in rows if r["file"]), key=lambda r: r["index"])
    if not rows:
        return None
    return write_manifest(
        path, [r["file"] for r in rows], [r["corrected_label"] for r in rows], class_names
    )


def training_split(config, data):
    """`(train_part, held_out)`: the dataset trained on and the `val_split` part (or `None`)."""
    if not config.val_split:
        return data, None
    return data.holdout(config.val_split, config.val_seed)


def load_run(run_dir: str):
    """Rebuilds a saved run: `(config, data, noise, model)` with its last checkpoint.

    Args:
        run_dir: a run folder written by `train`.

    Returns:
        The resolved `TrainConfig`, the dataset trained on (with `val_split`,
        its training part), the `LabelNoise` of the full training set, and
        the `BootstrappingModel` with the checkpoint's weights (and its
        fitted mixture).

    Raises:
        FileNotFoundError: if the folder holds no run or no checkpoint yet.
    """
    folder = RunFolder(run_dir)
    weights = folder.require_checkpoint()
    config = folder.choices_of(TrainConfig(**folder.saved_settings()).resolved())
    config.run_dir = run_dir
    data = dataset_of(config)
    noise = labels_of_run(config, data, folder, resume=True)
    data, _ = training_split(config, data)
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
