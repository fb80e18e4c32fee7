"""`noise_report`: one row per training sample, most suspicious first on request."""

from __future__ import annotations

import csv

import numpy as np
import tensorflow as tf

from keras_bmm.atomic import atomic_write
from keras_bmm.bootstrapping.methods import BOOTSTRAP_MODES
from keras_bmm.bootstrapping.objectives import bootstrap_targets, per_sample_cross_entropy
from keras_bmm.data.labels import validate_labels

#: The report's columns, in order.
REPORT_COLUMNS = (
    "index",
    "file",
    "given_label",
    "predicted_label",
    "confidence",
    "p_given",
    "p_noisy",
    "normalized_loss",
    "target_label",
    "corrected_label",
    "suggestion_confidence",
    "clean_label",
    "is_noisy",
)

#: Columns holding class indices: written as class names, the index beside.
LABEL_COLUMNS = ("given_label", "predicted_label", "target_label", "corrected_label", "clean_label")

#: Columns only a run whose true labels are known fills.
TRUTH_COLUMNS = ("clean_label", "is_noisy")


def _logits_by_index(model, images, batch_size: int):
    """`(logits, index)` of the backbone in inference mode over arrays or a dataset."""
    from keras_bmm.bootstrapping.passes import split_inputs

    if not isinstance(images, tf.data.Dataset):
        count = len(images)
        images = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
    else:
        count = None
    # A plain call, not predict: under a multi-worker strategy each worker reports alone.
    forward = tf.function(lambda x: model.backbone(x, training=False), reduce_retracing=True)
    logits, indices, seen = [], [], 0
    for batch in images:
        x = batch[0] if isinstance(batch, tuple) else batch
        x, index = split_inputs(x)
        out = tf.cast(forward(tf.cast(x, tf.float32)), tf.float32).numpy()
        logits.append(out)
        indices.append(np.arange(seen, seen + len(out)) if index is None else np.asarray(index))
        seen += len(out)
    if not logits:
        raise ValueError("The report's images are empty.")
    logits, indices = np.concatenate(logits), np.concatenate(indices).astype(np.int64)
    if count is not None and len(indices) != count:
        raise ValueError(f"{count} images but {len(indices)} predictions.")
    return logits, indices


def bootstraps(model) -> bool:
    """Whether a `BootstrappingModel`'s targets, in its current epoch, mix in its predictions.

    Args:
        model: a `keras_bmm.BootstrappingModel`.

    Returns:
        `True` once bootstrapping has started (and the method bootstraps).
    """
    state = model.noise_state
    phase = model.schedule.phase(state.epoch, tf.constant(True), state.start_epoch)
    return bool(model.uses_bmm and bool(phase.bootstrapping))


def class_probabilities(model, images, batch_size: int = 256, sample_ids=None) -> dict:
    """`{sample id: (C,) class probabilities}` of a model's backbone in inference mode.

    Args:
        model: a `keras_bmm.BootstrappingModel`.
        images: as `noise_report` takes them.
        batch_size: inference batch size (arrays).
        sample_ids: the id of each position (default the position).

    Returns:
        The probabilities by sample id (as `noise_report` writes `index`).
    """
    logits, index = _logits_by_index(model, images, batch_size)
    probabilities = tf.nn.softmax(logits).numpy()
    ids = index if sample_ids is None else np.asarray(sample_ids)[index]
    return {int(i): row for i, row in zip(ids, probabilities)}


def noise_report(
    model,
    images,
    labels,
    clean_labels=None,
    files=None,
    batch_size: int = 256,
    sort_by: str | None = None,
    sample_ids=None,
) -> list[dict]:
    """Per-sample noise report of a trained `BootstrappingModel`.

    One inference-mode pass over the (un-augmented) training images gives
    each sample's prediction and its loss against its given label. A beta
    mixture is fitted to these inference-mode losses, as `BMMCallback` fits
    one (5th-95th percentile bounds, EM), and gives p(noisy): bounds,
    mixture and losses all come from the final model in inference mode,
    whichever mode the run fitted its own mixtures in. The corrected label
    is the arg-max of the target the method trains towards,
    `(1 - B) * y + B * z` (`z`: the arg-max prediction for hard
    bootstrapping; the softmax at the run's final temperature for soft,
    which for MD-DYR-SH is the temperature of the last epoch trained), so it
    is the prediction when p(noisy) > 0.5 under hard bootstrapping.
    The target is the given label before bootstrapping starts (or when it
    never started), whatever the method.

    `corrected_label` is the given label until `keras_bmm.suggest_labels`
    fills in the changes worth making (as `keras_bmm.train` does), and
    `suggestion_confidence` is empty.

    Args:
        model: a `keras_bmm.BootstrappingModel` whose mixture has been fitted
            (trained at least one epoch).
        images: training images `(N, ...)` in index order, or a
            `tf.data.Dataset` of batches (`({"image", "index"}, label)` as
            `tracking_batches` gives, or images); with indices, a sample the
            dataset leaves out (a file that did not decode) gets no row.
        labels: the given (possibly noisy) labels `(N,)`.
        clean_labels: the true labels, when known (adds `clean_label` and
            `is_noisy`; empty otherwise).
        files: optional file name of each image.
        batch_size: inference batch size (arrays).
        sort_by: `None` (index order) or `"p_noisy"` (most suspicious first).
        sample_ids: the `index` written for each sample (default its
            position), e.g. its index in the full training set.

    Returns:
        A list of dicts with keys `REPORT_COLUMNS`.

    Example:

    ```python
    rows = keras_bmm.noise_report(model, x_train, noisy_labels, sort_by="p_noisy")
    keras_bmm.report.write_report(rows, "noise_report.csv")
    ```
    """
    from keras_bmm.mixture.beta_mixture import fit_losses
    from keras_bmm.mixture.normalization import normalize_losses

    state = model.noise_state
    if not bool(state.is_fitted()):
        raise ValueError(
            "No beta mixture has been fitted yet (train at least one epoch with "
            "keras_bmm.BMMCallback, or load a checkpoint saved after one)."
        )
    if sort_by not in (None, "p_noisy"):
        raise ValueError(f"sort_by must be None or 'p_noisy', got {sort_by!r}.")
    logits, index = _logits_by_index(model, images, batch_size)
    num_classes = int(logits.shape[-1])
    all_labels = validate_labels(labels, num_classes, "given labels")
    if index.size and (index.min() < 0 or index.max() >= all_labels.size):
        raise ValueError(f"{all_labels.size} labels, but image indices reach {index.max()}.")
    given = all_labels[index]
    losses = per_sample_cross_entropy(given, logits).numpy()
    finite = np.isfinite(losses)
    mixture, bounds = fit_losses(losses[finite])
    normalized = normalize_losses(losses, bounds).numpy()
    p_noisy = mixture.posterior(normalized)
    mode = BOOTSTRAP_MODES.get(model.method, "hard")
    phase = model.schedule.phase(state.epoch, tf.constant(True), state.start_epoch)
    targets = bootstrap_targets(
        tf.one_hot(given, num_classes, dtype=tf.float32), logits, p_noisy, mode, phase.temperature
    )
    bootstrapped = bootstraps(model)
    target = np.argmax(targets.numpy(), axis=1) if bootstrapped else given
    predicted = np.argmax(logits, axis=1)
    probabilities = tf.nn.softmax(logits).numpy()
    if clean_labels is not None:
        clean_labels = validate_labels(clean_labels, num_classes, "clean labels", True)
    ids = index if sample_ids is None else np.asarray(sample_ids)[index]
    rows = []
    for row, i in enumerate(index):
        rows.append(
            {
                "index": int(ids[row]),
                "file": "" if files is None else files[i],
                "given_label": int(given[row]),
                "predicted_label": int(predicted[row]),
                "confidence": float(probabilities[row, predicted[row]]),
                "p_given": float(probabilities[row, given[row]]),
                "p_noisy": float(p_noisy[row]),
                "normalized_loss": float(normalized[row]),
                "target_label": int(target[row]),
                "corrected_label": int(given[row]),
                "suggestion_confidence": "",
                "clean_label": "" if clean_labels is None else int(clean_labels[i]),
                "is_noisy": "" if clean_labels is None else int(clean_labels[i] != given[row]),
            }
        )
    if sort_by == "p_noisy":
        rows.sort(key=lambda row: (-row["p_noisy"], row["index"]))
    return rows


def write_report(rows: list[dict], path: str, class_names=None) -> str:
    """Writes report rows to a CSV file atomically; returns the path.

    With `class_names`, label columns hold class names and an `<name>_index`
    column beside each keeps the index. The truth columns (`clean_label`,
    `is_noisy`) are left out when no row has them (a user's own labels).
    """
    columns = list(REPORT_COLUMNS)
    if rows and all(row["clean_label"] == "" for row in rows):
        columns = [c for c in columns if c not in TRUTH_COLUMNS]
    indices = [c for c in LABEL_COLUMNS if c in columns] if class_names is not None else []
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=columns + [c.replace("_label", "_index") for c in indices]
        )
        writer.writeheader()
        for row in rows:
            out = {c: row[c] for c in columns}
            for column in indices:
                value = row[column]
                out[column.replace("_label", "_index")] = value
                out[column] = _name(class_names, value)
            writer.writerow(out)
    return path


def _name(class_names, value):
    """A class index's name; `(no class)` for `NO_CLASS`, blank for a blank."""
    if value == "":
        return ""
    return "(no class)" if int(value) < 0 else class_names[int(value)]
