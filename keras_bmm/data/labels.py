"""Class labels: their validation, the "no class" of open-set images, CIFAR-10's names."""

from __future__ import annotations

import numpy as np

#: The clean label of an image of no class of the label set (open-set noise).
NO_CLASS = -1

#: CIFAR-10's classes in label order.
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def validate_labels(
    labels, num_classes: int, name: str = "labels", allow_no_class: bool = False
) -> np.ndarray:
    """Returns `labels` as a flat int64 array, or raises a clear `ValueError`.

    Args:
        labels: array-like of integer class indices.
        num_classes: number of classes; valid labels are `0..num_classes-1`.
        name: what to call the array in error messages.
        allow_no_class: also accept `NO_CLASS` (-1), the clean label of an
            image of none of the classes (open-set noise).

    Returns:
        The labels as a 1-D `np.int64` array.
    """
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {array.shape}.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"{name} must hold integer class indices, got dtype {array.dtype}.")
    array = array.astype(np.int64)
    lowest = NO_CLASS if allow_no_class else 0
    bad = (array < lowest) | (array >= num_classes)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} out of range: {int(bad.sum())} value(s) outside "
            f"[{lowest}, {num_classes - 1}], "
            f"first at position {first} (value {int(array[first])})."
        )
    return array
