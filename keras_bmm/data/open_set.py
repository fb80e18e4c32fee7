"""`with_open_set`: a dataset in memory with images of no class mixed into its label set."""

from __future__ import annotations

import dataclasses

from keras_bmm.noise import NO_CLASS, open_set_noise


def with_open_set(data, rate: float, seed: int = 0, outside=None):
    """The dataset with open-set noise (`keras_bmm.noise.open_set_noise`).

    The `outside` classes leave the label set; enough of their training
    images to make a fraction `rate` of the training set stay, each labelled
    as a class of the label set at random. The test split keeps the label
    set's classes only. The result carries the given labels as
    `train_labels` and the truth as `train_clean_labels` (`NO_CLASS` for the
    images of no class), as a dataset with real noise does.

    Args:
        data: an `ImageDataset` (images in memory) with clean labels.
        rate: the fraction of the training set of no class, in `[0, 1)`.
        seed: seed of the images kept and of their labels.
        outside: the classes left out (default: `open_set_noise`'s).

    Returns:
        An `ImageDataset`.

    Raises:
        ValueError: for streamed images, or labels that are noisy already.

    Example:

    ```python
    data = with_open_set(keras_bmm.data.load_digits(), rate=0.2, seed=0)
    ```
    """
    if data.streams:
        raise ValueError(
            "Open-set noise is drawn for images in memory; for a folder of files, mix a "
            "folder of images of other classes into the class folders instead (docs/data.md)."
        )
    if data.train_clean_labels is not None:
        raise ValueError(f"{data.name!r} carries noisy labels already: no open-set noise on top.")
    found = open_set_noise(data.train_labels, rate, data.num_classes, seed, outside)
    part = data.subset(found.kept)
    test_images, test_labels = data.test_images, data.test_labels
    if test_images is not None:
        mapped = found.relabel(test_labels)
        keep = mapped != NO_CLASS
        test_images, test_labels = test_images[keep], mapped[keep]
    return dataclasses.replace(
        part,
        train_labels=found.noise.labels,
        train_clean_labels=found.noise.clean_labels,
        test_images=test_images,
        test_labels=test_labels,
        class_names=tuple(data.class_names[c] for c in found.inside),
        pool_index=None,
    )
