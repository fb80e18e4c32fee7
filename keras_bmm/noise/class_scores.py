"""`class_scores`: how confusable each image is, from a classifier of the clean labels."""

from __future__ import annotations

import numpy as np

#: Dimensions the features are reduced to before the classifier.
MAX_COMPONENTS = 64


def class_scores(features, labels, num_classes: int, seed: int = 0, folds: int = 5) -> np.ndarray:
    """Out-of-fold class probabilities of a linear classifier trained on the clean labels.

    Each image's probabilities come from a classifier that did not see it:
    the features are flattened, standardised and reduced to at most
    `MAX_COMPONENTS` principal components, and a multinomial logistic
    regression is fitted on the other folds of a stratified split shuffled
    by `seed`. The probabilities say which classes an image resembles, the
    basis of instance-dependent and class-confusion noise.

    Args:
        features: array `(N, ...)` (e.g. the images, or a network's features).
        labels: clean integer labels `(N,)`.
        num_classes: number of classes `C`.
        seed: seed of the folds (the same seed gives the same scores).
        folds: number of folds (at most the smallest class's size).

    Returns:
        float64 array `(N, C)` whose rows sum to 1.

    Raises:
        ValueError: a class has fewer than 2 samples, or features and labels
            differ in length.

    Example:

    >>> scores = keras_bmm.noise.class_scores(x_train, y_train, num_classes=10)
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    y = np.asarray(labels, dtype=np.int64).ravel()
    if len(x) != len(y):
        raise ValueError(f"{len(x)} feature rows but {len(y)} labels.")
    counts = np.bincount(y, minlength=num_classes)
    present = counts[counts > 0]
    if present.size < 2 or present.min() < 2:
        raise ValueError(
            "Estimating how confusable the images are needs at least 2 classes with 2 samples "
            f"each; the class sizes are {counts.tolist()}."
        )
    folds = int(min(folds, present.min()))
    components = int(min(MAX_COMPONENTS, x.shape[1], len(x) - len(x) // folds - 1))
    model = make_pipeline(
        StandardScaler(),
        PCA(n_components=components, random_state=seed),
        LogisticRegression(max_iter=1000),
    )
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(model, x, y, cv=split, method="predict_proba")
    scores = np.zeros((len(y), num_classes))
    scores[:, np.flatnonzero(counts)] = probabilities
    return scores / scores.sum(axis=1, keepdims=True)


def check_scores(scores, size: int, num_classes: int) -> np.ndarray:
    """`scores` as a float64 `(size, num_classes)` array of probabilities, or a clear error."""
    array = np.asarray(scores, dtype=np.float64)
    if array.shape != (size, num_classes):
        raise ValueError(
            f"scores must have shape ({size}, {num_classes}) (one row of class probabilities "
            f"per sample), got {array.shape}."
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError("scores must be finite, non-negative class probabilities.")
    return array
