"""Class-confusion ("human-like") noise: labels flip towards the classes a classifier confuses."""

from __future__ import annotations

import numpy as np

from keras_bmm.noise.class_conditional import check_rate
from keras_bmm.noise.class_scores import check_scores, class_scores
from keras_bmm.noise.label_noise import LabelNoise, validate_labels


def confusion_noise(
    labels,
    rate: float,
    num_classes: int,
    seed: int = 0,
    confusion=None,
    features=None,
    scores=None,
) -> LabelNoise:
    """Flips labels along a confusion matrix: each class towards the classes it is taken for.

    In each class `c`, exactly `round(rate * n_c)` of its `n_c` samples,
    chosen at random, get a new label drawn from row `c` of the confusion
    matrix without its diagonal: a cat is relabelled a dog more often than a
    truck when annotators (or a classifier) confuse cats with dogs. This is
    the structure of human label noise such as CIFAR-10N's, with the rate
    set by `rate` rather than by the matrix's diagonal. A row with no
    off-diagonal mass (a class never confused) flips uniformly to the other
    classes.

    The matrix is `confusion` when given (e.g. from an audit of a sample of
    the labels); otherwise it is estimated from a classifier of the clean
    labels: row `c` is the mean of the out-of-fold class probabilities
    (`scores`, or `class_scores(features, ...)`) of the samples of class `c`.

    Args:
        labels: clean integer labels `(N,)`.
        rate: the fraction of each class's labels made wrong, in `[0, 1]`.
        num_classes: number of classes `C`.
        seed: seed of the choice of samples, of their new labels and of the
            estimate's folds.
        confusion: optional `(C, C)` non-negative matrix, rows the true
            class, columns the label given (counts or rates).
        features: array `(N, ...)` for the estimate (e.g. the images).
        scores: `(N, C)` out-of-fold class probabilities for the estimate.

    Returns:
        A `LabelNoise` with `noise_type="confusion"`.

    Example:

    >>> noise = keras_bmm.noise.confusion_noise(y_train, 0.3, 10, features=x_train)

    Reference:
        Wei, Zhu, Cheng, Liu, Niu, Liu. "Learning with Noisy Labels
        Revisited: A Study Using Real-World Human Annotations", ICLR 2022
        (CIFAR-N: human noise follows class confusions).
    """
    rate = check_rate(rate)
    clean = validate_labels(labels, num_classes)
    if confusion is None:
        if scores is None:
            if features is None:
                raise ValueError(
                    "confusion_noise needs a confusion matrix, or the images (features=) or "
                    "their scores= to estimate one."
                )
            scores = class_scores(features, clean, num_classes, seed)
        confusion = estimated_confusion(check_scores(scores, clean.size, num_classes), clean)
    transitions = flip_distribution(confusion, num_classes)
    rng = np.random.default_rng(seed)
    noisy = clean.copy()
    flipped = np.zeros(clean.size, dtype=bool)
    for source in range(num_classes):
        members = np.flatnonzero(clean == source)
        chosen = np.sort(rng.permutation(members)[: int(round(rate * members.size))])
        noisy[chosen] = rng.choice(num_classes, size=chosen.size, p=transitions[source])
        flipped[chosen] = True
    return LabelNoise(
        labels=noisy,
        clean_labels=clean,
        noise_mask=noisy != clean,
        resampled_mask=flipped,
        rate=rate,
        noise_type="confusion",
    )


def estimated_confusion(scores, labels) -> np.ndarray:
    """`(C, C)`: row `c` the mean class probabilities of the samples of class `c`."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    matrix = np.zeros((scores.shape[1], scores.shape[1]))
    np.add.at(matrix, labels, scores)
    counts = np.bincount(labels, minlength=scores.shape[1])
    return matrix / np.maximum(counts, 1)[:, None]


def flip_distribution(confusion, num_classes: int) -> np.ndarray:
    """Row-stochastic `(C, C)` with a zero diagonal: where each class's flipped labels go.

    Raises:
        ValueError: for a matrix of another shape, or with negative or
            non-finite entries.
    """
    matrix = np.asarray(confusion, dtype=np.float64)
    if matrix.shape != (num_classes, num_classes):
        raise ValueError(
            f"The confusion matrix must be {num_classes} x {num_classes} (rows: true class, "
            f"columns: label given), got shape {matrix.shape}."
        )
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        bad = np.argwhere(~np.isfinite(matrix) | (matrix < 0))[0]
        raise ValueError(
            "The confusion matrix must hold finite, non-negative numbers; row "
            f"{int(bad[0])}, column {int(bad[1])} is {matrix[tuple(bad)]}."
        )
    matrix = matrix.copy()
    np.fill_diagonal(matrix, 0.0)
    mass = matrix.sum(axis=1, keepdims=True)
    uniform = (1.0 - np.eye(num_classes)) / (num_classes - 1)
    return np.where(mass > 0, matrix / np.where(mass > 0, mass, 1.0), uniform)


def read_confusion(path: str) -> np.ndarray:
    """A confusion matrix from a `.npy` file or a CSV/TSV file of numbers (no header).

    Raises:
        ValueError: naming the file, for one that does not hold a square
            matrix of numbers.
    """
    try:
        if path.endswith(".npy"):
            matrix = np.load(path, allow_pickle=False)
        else:
            with open(path) as f:
                text = f.read()
            delimiter = "\t" if "\t" in text else ","
            matrix = np.loadtxt(path, delimiter=delimiter, ndmin=2)
    except FileNotFoundError:
        raise FileNotFoundError(f"Confusion matrix file {path!r} does not exist.") from None
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Confusion matrix file {path!r} is not a matrix of numbers ({error})."
        ) from None
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"Confusion matrix file {path!r} must hold a square matrix (one row and one "
            f"column per class), got shape {matrix.shape}."
        )
    return matrix
