"""`noise_report`: one row per training sample, most suspicious first on request."""

from __future__ import annotations

import csv

import numpy as np
import tensorflow as tf

from keras_bmm.atomic import atomic_write
from keras_bmm.bootstrapping.methods import BOOTSTRAP_MODES
from keras_bmm.bootstrapping.objectives import bootstrap_targets, per_sample_cross_entropy
from keras_bmm.noise import validate_labels

#: The report's columns, in order.
REPORT_COLUMNS = (
    "index",
    "file",
    "given_label",
    "predicted_label",
    "p_noisy",
    "normalized_loss",
    "corrected_label",
    "clean_label",
    "is_noisy",
)


def noise_report(
    model,
    images,
    labels,
    clean_labels=None,
    files=None,
    batch_size: int = 256,
    sort_by: str | None = None,
) -> list[dict]:
    """Per-sample noise report of a trained `BootstrappingModel`.

    One inference-mode pass over the (un-augmented) training images gives
    each sample's prediction and loss against its given label; the mixture of
    the last fit (the table and bounds stored in the model) turns the loss into
    p(noisy). The corrected label is the arg-max of the target the method
    trains towards, `(1 - B) * y + B * z` (`z`: the arg-max prediction for
    hard bootstrapping, the softmax for soft), so it is the prediction when
    p(noisy) > 0.5 under hard bootstrapping.

    Args:
        model: a `keras_bmm.BootstrappingModel` whose mixture has been fitted.
        images: training images `(N, ...)` in index order.
        labels: the given (possibly noisy) labels `(N,)`.
        clean_labels: the true labels, when known (adds `clean_label` and
            `is_noisy`; empty otherwise).
        files: optional file name of each image.
        batch_size: inference batch size.
        sort_by: `None` (index order) or `"p_noisy"` (most suspicious first).

    Returns:
        A list of dicts with keys `REPORT_COLUMNS`.

    Example:

    ```python
    rows = keras_bmm.noise_report(model, x_train, noisy_labels, sort_by="p_noisy")
    keras_bmm.report.write_report(rows, "noise_report.csv")
    ```
    """
    state = model.noise_state
    if not bool(state.is_fitted()):
        raise ValueError(
            "No beta mixture has been fitted yet (train at least one epoch with "
            "keras_bmm.BMMCallback, or load a checkpoint saved after one)."
        )
    if sort_by not in (None, "p_noisy"):
        raise ValueError(f"sort_by must be None or 'p_noisy', got {sort_by!r}.")
    num_classes = int(model.backbone.output.shape[-1])
    labels = validate_labels(labels, num_classes, "given labels")
    if len(images) != labels.size:
        raise ValueError(f"{len(images)} images but {labels.size} labels.")
    logits = model.backbone.predict(
        tf.data.Dataset.from_tensor_slices(images)
        .batch(batch_size)
        .map(lambda x: tf.cast(x, tf.float32)),
        verbose=0,
    )
    losses = per_sample_cross_entropy(labels, logits)
    p_noisy = state.posterior(losses).numpy()
    normalized = state.normalize(losses).numpy()
    mode = BOOTSTRAP_MODES.get(model.method, "hard")
    targets = bootstrap_targets(
        tf.one_hot(labels, num_classes, dtype=tf.float32), logits, p_noisy, mode
    )
    corrected = np.argmax(targets.numpy(), axis=1)
    predicted = np.argmax(logits, axis=1)
    if clean_labels is not None:
        clean_labels = validate_labels(clean_labels, num_classes, "clean labels")
    rows = []
    for i in range(labels.size):
        rows.append(
            {
                "index": i,
                "file": "" if files is None else files[i],
                "given_label": int(labels[i]),
                "predicted_label": int(predicted[i]),
                "p_noisy": float(p_noisy[i]),
                "normalized_loss": float(normalized[i]),
                "corrected_label": int(corrected[i]),
                "clean_label": "" if clean_labels is None else int(clean_labels[i]),
                "is_noisy": "" if clean_labels is None else int(clean_labels[i] != labels[i]),
            }
        )
    if sort_by == "p_noisy":
        rows.sort(key=lambda row: (-row["p_noisy"], row["index"]))
    return rows


def write_report(rows: list[dict], path: str) -> str:
    """Writes report rows to a CSV file atomically; returns the path."""
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path
