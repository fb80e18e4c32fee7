"""Synthetic label noise, deterministic given its seed, and the `LabelNoise` that records it.

Kinds (`NOISE_TYPES`, `--noise-type`):

- `symmetric`, `symmetric-exclusive` (`symmetric_noise`): uniform, the paper's;
- `asymmetric` (`asymmetric_noise`): fixed class pairs (Patrini et al.);
- `instance` (`instance_noise`): the most ambiguous images, towards the class
  they resemble (Chen et al.);
- `confusion` (`confusion_noise`): each class towards the classes it is
  confused with, from a given or estimated confusion matrix;
- `open-set` (`open_set_noise`): images of classes outside the label set,
  each given one of its labels (Wang et al.).
"""

from __future__ import annotations

from keras_bmm.data.labels import CIFAR10_CLASSES, NO_CLASS, validate_labels
from keras_bmm.noise.class_conditional import (
    CIFAR10_ASYMMETRIC,
    asymmetric_noise,
    check_rate,
    symmetric_noise,
)
from keras_bmm.noise.class_scores import class_scores
from keras_bmm.noise.confusion import confusion_noise, read_confusion
from keras_bmm.noise.instance import instance_noise
from keras_bmm.noise.label_noise import LabelNoise, real_noise
from keras_bmm.noise.open_set import OpenSetNoise, open_set_noise

NOISE_TYPES = (
    "symmetric",
    "symmetric-exclusive",
    "asymmetric",
    "instance",
    "confusion",
    "open-set",
)

#: Kinds that read the images (or a classifier's scores of them).
FEATURE_NOISE_TYPES = ("instance", "confusion")

__all__ = [
    "CIFAR10_ASYMMETRIC",
    "CIFAR10_CLASSES",
    "FEATURE_NOISE_TYPES",
    "NOISE_TYPES",
    "NO_CLASS",
    "LabelNoise",
    "OpenSetNoise",
    "asymmetric_noise",
    "check_rate",
    "class_scores",
    "confusion_noise",
    "instance_noise",
    "make_noise",
    "open_set_noise",
    "read_confusion",
    "real_noise",
    "symmetric_noise",
    "validate_labels",
]


def make_noise(
    labels,
    rate: float,
    num_classes: int,
    seed: int = 0,
    noise_type: str = "symmetric",
    class_names=None,
    features=None,
    confusion=None,
) -> LabelNoise:
    """Noisy labels of a kind of `NOISE_TYPES`, by `noise_type`.

    Asymmetric noise uses the CIFAR-10 pairs only when `class_names` are
    CIFAR-10's (or not given for 10 classes), and next-class otherwise.
    Open-set noise changes the set of images, not only their labels: use
    `open_set_noise` (the training command applies it to datasets in memory).

    Args:
        labels: clean integer labels `(N,)`.
        rate: the noise rate.
        num_classes: number of classes.
        seed: seed of the noise.
        noise_type: one of `NOISE_TYPES` but `"open-set"`.
        class_names: the classes' names (asymmetric noise).
        features: the images, for `"instance"` and `"confusion"` noise.
        confusion: a `(C, C)` confusion matrix for `"confusion"` noise
            (default: estimated from `features`).

    Returns:
        A `LabelNoise`.
    """
    if noise_type == "asymmetric":
        mapping = None
        if class_names is not None and tuple(class_names) != CIFAR10_CLASSES:
            mapping = {c: (c + 1) % num_classes for c in range(num_classes)}
        return asymmetric_noise(labels, rate, num_classes, seed, mapping)
    if noise_type == "instance":
        return instance_noise(labels, rate, num_classes, seed, features=features)
    if noise_type == "confusion":
        return confusion_noise(
            labels, rate, num_classes, seed, confusion=confusion, features=features
        )
    if noise_type == "open-set":
        raise ValueError(
            "Open-set noise changes which images are trained on: call open_set_noise and "
            "keep the images at its `kept` indices."
        )
    return symmetric_noise(labels, rate, num_classes, seed, noise_type)
