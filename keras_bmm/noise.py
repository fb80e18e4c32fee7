"""Synthetic label noise: corrupt a fraction of labels, deterministically."""

from __future__ import annotations

import dataclasses

import numpy as np

NOISE_TYPES = ("symmetric", "symmetric-exclusive")


@dataclasses.dataclass(frozen=True)
class LabelNoise:
    """Noisy labels together with what is known about how they were made.

    Attributes:
        labels: int64 array of noisy labels, one per sample.
        clean_labels: int64 array of the labels before corruption.
        noise_mask: bool array, `True` where `labels != clean_labels`: the
            samples whose label is truly wrong.
        resampled_mask: bool array, `True` where a new label was drawn. Under
            the paper's definition some draws land on the true class again, so
            this is a superset of `noise_mask`.
        rate: the requested noise rate `r` (the fraction of labels resampled).
        noise_type: `"symmetric"` or `"symmetric-exclusive"`.
    """

    labels: np.ndarray
    clean_labels: np.ndarray
    noise_mask: np.ndarray
    resampled_mask: np.ndarray
    rate: float
    noise_type: str

    @property
    def achieved_rate(self) -> float:
        """The fraction of labels that are actually wrong."""
        if self.noise_mask.size == 0:
            return 0.0
        return float(self.noise_mask.mean())

    def summary(self) -> str:
        """One line saying which definition was used and what it achieved."""
        return (
            f"{self.noise_type} noise r={self.rate:g}: "
            f"{self.resampled_mask.sum()} of {self.labels.size} labels resampled, "
            f"{self.noise_mask.sum()} wrong ({100 * self.achieved_rate:.2f}%)"
        )


def validate_labels(labels, num_classes: int, name: str = "labels") -> np.ndarray:
    """Returns `labels` as a flat int64 array, or raises a clear `ValueError`.

    Args:
        labels: array-like of integer class indices.
        num_classes: number of classes; valid labels are `0..num_classes-1`.
        name: what to call the array in error messages.

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
    bad = (array < 0) | (array >= num_classes)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} out of range: {int(bad.sum())} value(s) outside [0, {num_classes - 1}], "
            f"first at position {first} (value {int(array[first])})."
        )
    return array


def symmetric_noise(
    labels,
    rate: float,
    num_classes: int,
    seed: int = 0,
    noise_type: str = "symmetric",
) -> LabelNoise:
    """Corrupts labels with symmetric (uniform) noise.

    Exactly `round(rate * N)` samples, chosen uniformly at random, receive a
    new label drawn uniformly:

    - `"symmetric"` (the paper's and the reference code's definition, as in
      "Rethinking generalization"): over all `C` classes, the true one
      included, so the expected fraction of wrong labels is `rate * (C-1)/C`
      (80% noise on 10 classes leaves about 72% of labels wrong).
    - `"symmetric-exclusive"`: over the `C-1` other classes, so exactly
      `round(rate * N)` labels are wrong.

    Args:
        labels: clean integer labels, shape `(N,)` or `(N, 1)`.
        rate: the noise rate `r` in `[0, 1]`.
        num_classes: the number of classes `C` (any `C >= 2`; all classes can
            be drawn).
        seed: seed of the random generator; the same seed gives the same labels.
        noise_type: `"symmetric"` or `"symmetric-exclusive"`.

    Returns:
        A `LabelNoise` with the noisy labels, the true noise mask and the
        achieved noise rate.

    Example:

    >>> noise = keras_bmm.symmetric_noise(y_train, rate=0.8, num_classes=10, seed=1)
    >>> print(noise.summary())
    """
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"Unknown noise type {noise_type!r}; expected one of {NOISE_TYPES}.")
    if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"Noise rate must be a number in [0, 1], got {rate!r}.")
    clean = validate_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    n = clean.size
    resampled = np.zeros(n, dtype=bool)
    resampled[rng.permutation(n)[: int(round(float(rate) * n))]] = True
    noisy = clean.copy()
    count = int(resampled.sum())
    if noise_type == "symmetric":
        noisy[resampled] = rng.integers(0, num_classes, size=count)
    else:
        # A draw from the C-1 other classes: shift past the true class.
        offset = rng.integers(1, num_classes, size=count)
        noisy[resampled] = (clean[resampled] + offset) % num_classes
    return LabelNoise(
        labels=noisy,
        clean_labels=clean,
        noise_mask=noisy != clean,
        resampled_mask=resampled,
        rate=float(rate),
        noise_type=noise_type,
    )
