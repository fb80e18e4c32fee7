"""The embedded default dataset: scikit-learn's bundled 8x8 handwritten digits."""

from __future__ import annotations

import numpy as np

from keras_bmm.data.dataset import ImageDataset


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> ImageDataset:
    """Loads scikit-learn's 1,797 8x8 digit images, with no network access.

    Pixels (0-16) are scaled to [0, 1]; the split is stratified and fixed by
    `seed`.

    Args:
        test_fraction: fraction of images held out as the test split.
        seed: seed of the split.

    Returns:
        An `ImageDataset` with images of shape `(8, 8, 1)` and 10 classes.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return ImageDataset(
        name="digits",
        train_images=x_train,
        train_labels=y_train,
        test_images=x_test,
        test_labels=y_test,
        class_names=tuple(str(c) for c in range(10)),
    )
