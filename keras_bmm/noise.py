"""Synthetic label noise: corrupt a fraction of labels, deterministically."""

from __future__ import annotations

import dataclasses
import zipfile

import numpy as np

NOISE_TYPES = ("symmetric", "symmetric-exclusive", "asymmetric")

#: The standard CIFAR-10 asymmetric flips (Patrini et al., 2017), by class index:
#: truck->automobile, bird->airplane, deer->horse, cat<->dog.
CIFAR10_ASYMMETRIC = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}

#: CIFAR-10's classes in label order (the indices the pairs above refer to).
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
        rate: the requested noise rate `r` (the fraction of labels resampled,
            or of each source class flipped for asymmetric noise).
        noise_type: one of `NOISE_TYPES`, or `"none"`/`"real"`/`"loaded"`.
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

    def save(self, path: str) -> None:
        """Writes the labels and masks to an `.npz` file, atomically."""
        from keras_bmm.atomic import atomic_write

        with atomic_write(path, "wb") as f:
            np.savez(
                f,
                labels=self.labels,
                clean_labels=self.clean_labels,
                noise_mask=self.noise_mask,
                resampled_mask=self.resampled_mask,
                rate=self.rate,
                noise_type=self.noise_type,
            )

    @classmethod
    def load(cls, path: str, clean_labels=None) -> LabelNoise:
        """Reads a `LabelNoise` written by `save`.

        Args:
            path: the `.npz` file.
            clean_labels: if given, the file must have been made from these
                labels (same length and values); a clear error otherwise.

        Raises:
            FileNotFoundError: no such file.
            ValueError: naming the file, for a file that is not an `.npz`
                archive, lacks one of the keys `save` writes, or was made for
                other labels.
        """
        values = _read_npz(path, _SAVED_KEYS)
        noise = cls(
            labels=values["labels"],
            clean_labels=values["clean_labels"],
            noise_mask=values["noise_mask"],
            resampled_mask=values["resampled_mask"],
            rate=float(values["rate"]),
            noise_type=str(values["noise_type"]),
        )
        if clean_labels is not None:
            clean_labels = np.asarray(clean_labels)
            if clean_labels.shape != noise.clean_labels.shape or np.any(
                clean_labels != noise.clean_labels
            ):
                raise ValueError(
                    f"Noisy labels in {path!r} were made for another dataset: "
                    f"{noise.clean_labels.size} clean labels there, {clean_labels.size} here, "
                    "or different values."
                )
        return noise

    def summary(self) -> str:
        """One line saying which definition was used and what it achieved."""
        return (
            f"{self.noise_type} noise r={self.rate:g}: "
            f"{self.resampled_mask.sum()} of {self.labels.size} labels resampled, "
            f"{self.noise_mask.sum()} wrong ({100 * self.achieved_rate:.2f}%)"
        )


#: The arrays `LabelNoise.save` writes.
_SAVED_KEYS = ("labels", "clean_labels", "noise_mask", "resampled_mask", "rate", "noise_type")


def _read_npz(path: str, keys) -> dict:
    """The arrays `keys` of the `.npz` file `path`; a clear error naming the file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise ValueError("a single array, not an .npz archive")
            found = {key: f[key] for key in keys if key in f.files}
            names = sorted(f.files)
    except FileNotFoundError:
        raise FileNotFoundError(f"Noisy labels file {path!r} does not exist.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Noisy labels file {path!r} is not a readable .npz archive ({error})."
        ) from None
    missing = [key for key in keys if key not in found]
    if missing:
        raise ValueError(
            f"Noisy labels file {path!r} lacks the key(s) {missing} (it has {names}); "
            "expected a file written by a run (<run_dir>/noisy_labels.npz)."
        )
    return found


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
    if noise_type not in ("symmetric", "symmetric-exclusive"):
        raise ValueError(
            f"Unknown symmetric noise type {noise_type!r}; expected 'symmetric' or "
            "'symmetric-exclusive' (asymmetric noise: asymmetric_noise)."
        )
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


def asymmetric_noise(
    labels, rate: float, num_classes: int, seed: int = 0, mapping: dict | None = None
) -> LabelNoise:
    """Corrupts labels with class-dependent (asymmetric) noise.

    In each source class of `mapping`, exactly `round(rate * n_c)` of its `n_c`
    samples, chosen at random, get the mapped class; other classes are left
    alone. The default mapping is the standard CIFAR-10 one
    (`CIFAR10_ASYMMETRIC`) for 10 classes, and "next class" (`c -> c+1 mod C`)
    otherwise, as specified for CIFAR-100 here. (Patrini et al.'s CIFAR-100
    protocol instead flips circularly within each of the 20 superclasses; pass
    that as `mapping` to reproduce it.) `make_noise` applies the CIFAR-10
    pairs only to datasets whose classes are CIFAR-10's.

    Args:
        labels: clean integer labels.
        rate: fraction of each source class flipped, in `[0, 1]`.
        num_classes: number of classes.
        seed: seed of the choice of samples.
        mapping: `{source_class: target_class}`.

    Returns:
        A `LabelNoise` with `noise_type="asymmetric"`.

    Example:

    >>> noise = keras_bmm.noise.asymmetric_noise(y_train, rate=0.4, num_classes=10)
    """
    if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"Noise rate must be a number in [0, 1], got {rate!r}.")
    clean = validate_labels(labels, num_classes)
    if mapping is None:
        if num_classes == 10:
            mapping = CIFAR10_ASYMMETRIC
        else:
            mapping = {c: (c + 1) % num_classes for c in range(num_classes)}
    for source, target in mapping.items():
        if not (0 <= source < num_classes and 0 <= target < num_classes) or source == target:
            raise ValueError(f"Invalid asymmetric mapping {source} -> {target}.")
    rng = np.random.default_rng(seed)
    noisy = clean.copy()
    flipped = np.zeros(clean.size, dtype=bool)
    for source in sorted(mapping):
        members = np.flatnonzero(clean == source)
        chosen = rng.permutation(members)[: int(round(float(rate) * members.size))]
        noisy[chosen] = mapping[source]
        flipped[chosen] = True
    return LabelNoise(
        labels=noisy,
        clean_labels=clean,
        noise_mask=noisy != clean,
        resampled_mask=flipped,
        rate=float(rate),
        noise_type="asymmetric",
    )


def make_noise(
    labels,
    rate: float,
    num_classes: int,
    seed: int = 0,
    noise_type: str = "symmetric",
    class_names=None,
) -> LabelNoise:
    """Dispatches to `symmetric_noise` or `asymmetric_noise` by `noise_type`.

    Asymmetric noise uses the CIFAR-10 pairs only when `class_names` are
    CIFAR-10's (or not given for 10 classes), and next-class otherwise.
    """
    if noise_type == "asymmetric":
        mapping = None
        if class_names is not None and tuple(class_names) != CIFAR10_CLASSES:
            mapping = {c: (c + 1) % num_classes for c in range(num_classes)}
        return asymmetric_noise(labels, rate, num_classes, seed, mapping)
    return symmetric_noise(labels, rate, num_classes, seed, noise_type)


def real_noise(given_labels, clean_labels, num_classes: int) -> LabelNoise:
    """A `LabelNoise` for labels that are noisy already (e.g. CIFAR-N's human labels)."""
    given = validate_labels(given_labels, num_classes, "given labels")
    clean = validate_labels(clean_labels, num_classes, "clean labels")
    mask = given != clean
    return LabelNoise(
        labels=given,
        clean_labels=clean,
        noise_mask=mask,
        resampled_mask=mask,
        rate=float(mask.mean()) if mask.size else 0.0,
        noise_type="real",
    )
