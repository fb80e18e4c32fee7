"""Class-conditional noise: symmetric (the paper's) and asymmetric (class pairs)."""

from __future__ import annotations

import numpy as np

from keras_bmm.data.labels import validate_labels
from keras_bmm.noise.label_noise import LabelNoise

#: The standard CIFAR-10 asymmetric flips (Patrini et al., 2017), by class index:
#: truck->automobile, bird->airplane, deer->horse, cat<->dog.
CIFAR10_ASYMMETRIC = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def check_rate(rate, upper: float = 1.0, closed: bool = True) -> float:
    """`rate` as a float in `[0, upper]` (`[0, upper)` with `closed=False`), or a clear error."""
    ok = isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(rate, bool)
    ok = ok and 0.0 <= float(rate) <= upper and (closed or float(rate) < upper)
    if not ok:
        interval = f"[0, {upper:g}]" if closed else f"[0, {upper:g})"
        raise ValueError(f"Noise rate must be a number in {interval}, got {rate!r}.")
    return float(rate)


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
    rate = check_rate(rate)
    clean = validate_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    n = clean.size
    resampled = np.zeros(n, dtype=bool)
    resampled[rng.permutation(n)[: int(round(rate * n))]] = True
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
        rate=rate,
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
    rate = check_rate(rate)
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
        chosen = rng.permutation(members)[: int(round(rate * members.size))]
        noisy[chosen] = mapping[source]
        flipped[chosen] = True
    return LabelNoise(
        labels=noisy,
        clean_labels=clean,
        noise_mask=noisy != clean,
        resampled_mask=flipped,
        rate=rate,
        noise_type="asymmetric",
    )
