"""Instance-dependent noise: the most ambiguous images are mislabelled, as their look suggests."""

from __future__ import annotations

import numpy as np

from keras_bmm.noise.class_conditional import check_rate
from keras_bmm.noise.class_scores import check_scores, class_scores
from keras_bmm.noise.label_noise import LabelNoise, validate_labels


def instance_noise(
    labels,
    rate: float,
    num_classes: int,
    seed: int = 0,
    features=None,
    scores=None,
) -> LabelNoise:
    """Mislabels the images that most resemble another class, with that class.

    Chen et al.'s instance-dependent noise: a classifier of the clean labels
    gives each image class probabilities `p`; its mislabelling score is the
    largest probability of a class other than its own. The `round(rate * N)`
    images with the highest scores (ties broken at random by `seed`) take
    the label of that most likely other class. Ambiguous images are thus
    the mislabelled ones, and each towards the class it resembles, as with a
    hurried annotator; clear images keep their labels.

    Args:
        labels: clean integer labels `(N,)`.
        rate: the fraction of labels made wrong, in `[0, 1]`.
        num_classes: number of classes `C`.
        seed: seed of the classifier's folds and of tie-breaks.
        features: array `(N, ...)` the classifier reads (e.g. the images),
            when `scores` is not given (see `class_scores`).
        scores: `(N, C)` class probabilities of a classifier that did not
            train on each image (e.g. out-of-fold), instead of `features`.

    Returns:
        A `LabelNoise` with `noise_type="instance"`: exactly
        `round(rate * N)` labels wrong.

    Example:

    >>> noise = keras_bmm.noise.instance_noise(y_train, 0.4, 10, features=x_train)

    Reference:
        Chen, Ye, Chen, Zhao, Heng. "Beyond Class-Conditional Assumption: A
        Primary Attempt to Combat Instance-Dependent Label Noise", AAAI 2021,
        Section 5 (the noise generation).
    """
    rate = check_rate(rate)
    clean = validate_labels(labels, num_classes)
    if scores is None:
        if features is None:
            raise ValueError("instance_noise needs the images (features=) or their scores=.")
        scores = class_scores(features, clean, num_classes, seed)
    scores = check_scores(scores, clean.size, num_classes).copy()
    scores[np.arange(clean.size), clean] = -np.inf
    other = np.argmax(scores, axis=1)
    ambiguity = scores[np.arange(clean.size), other]
    tie_break = np.random.default_rng(seed).random(clean.size)
    order = np.lexsort((tie_break, -ambiguity))
    flipped = np.zeros(clean.size, dtype=bool)
    flipped[order[: int(round(rate * clean.size))]] = True
    noisy = np.where(flipped, other, clean)
    return LabelNoise(
        labels=noisy,
        clean_labels=clean,
        noise_mask=noisy != clean,
        resampled_mask=flipped,
        rate=rate,
        noise_type="instance",
    )
