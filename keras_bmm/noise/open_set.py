"""Open-set noise: images of classes outside the label set, each given one of its labels.

`open_set_noise` draws it over labels; `with_open_set` applies it to a dataset in memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.noise.class_conditional import check_rate
from keras_bmm.noise.label_noise import NO_CLASS, LabelNoise, validate_labels


@dataclasses.dataclass(frozen=True)
class OpenSetNoise:
    """A training set with images of no class mixed in, and how it was made.

    Attributes:
        noise: the `LabelNoise` of the kept samples, in the label set's own
            indices (`0..len(inside)-1`); the clean label of an image of no
            class is `NO_CLASS`.
        kept: indices of the kept samples in the original set, sorted.
        inside: the original classes that form the label set, in order.
    """

    noise: LabelNoise
    kept: np.ndarray
    inside: tuple

    def relabel(self, labels) -> np.ndarray:
        """Original labels as label-set indices; `NO_CLASS` for the outside classes."""
        mapping = np.full(int(max(self.inside)) + 1, NO_CLASS, dtype=np.int64)
        mapping[list(self.inside)] = np.arange(len(self.inside))
        labels = np.asarray(labels, dtype=np.int64)
        inside = labels < mapping.size
        return np.where(inside, mapping[np.minimum(labels, mapping.size - 1)], NO_CLASS)


def default_outside(labels, rate: float, num_classes: int) -> tuple:
    """The classes left out by default: the fewest last classes with images enough for `rate`."""
    labels = np.asarray(labels)
    for count in range(1, num_classes - 1):
        outside = np.isin(labels, np.arange(num_classes - count, num_classes))
        if rate / (1.0 - rate) * np.sum(~outside) <= np.sum(outside) + 0.5:
            break
    return tuple(range(num_classes - count, num_classes))


def open_set_noise(
    labels, rate: float, num_classes: int, seed: int = 0, outside=None
) -> OpenSetNoise:
    """Keeps the classes of a label set and mixes in images of the others, mislabelled.

    Web collections hold images of no class of their label set (a logo in
    "cat", a dog in a set of cats and trucks). To reproduce that, the
    `outside` classes are taken out of the label set; of their images, just
    enough are kept, chosen at random, to make a fraction `rate` of the new
    training set, and each gets a label of the label set drawn uniformly.
    No relabelling can make these right: the remedy is to drop them.

    Args:
        labels: clean integer labels `(N,)` over all `num_classes` classes.
        rate: the fraction of the new training set that is of no class, in
            `[0, 1)`.
        num_classes: number of classes of `labels`.
        seed: seed of the choice of images and of their labels.
        outside: the classes whose images are of no class (default: the
            fewest last classes whose images make up `rate`,
            `default_outside`); at least two classes must remain.

    Returns:
        An `OpenSetNoise`; its `noise` has `noise_type="open-set"`.

    Raises:
        ValueError: for a rate that needs more outside images than there are.

    Example:

    >>> open_set = keras_bmm.noise.open_set_noise(y_train, 0.2, 10, seed=0)
    >>> x_kept = x_train[open_set.kept]

    Reference:
        Wang, Liu, Ma, Bailey, Zha, Song, Xia. "Iterative Learning with
        Open-set Noisy Labels", CVPR 2018.
    """
    rate = check_rate(rate, closed=False)
    clean = validate_labels(labels, num_classes)
    if outside is None:
        outside = default_outside(clean, rate, num_classes)
    outside = tuple(sorted(set(int(c) for c in outside)))
    if not outside or not all(0 <= c < num_classes for c in outside):
        raise ValueError(f"outside must name classes in [0, {num_classes - 1}], got {outside}.")
    inside = tuple(c for c in range(num_classes) if c not in outside)
    if len(inside) < 2:
        raise ValueError(f"At least two classes must stay in the label set, got {inside}.")
    in_set = np.flatnonzero(np.isin(clean, inside))
    pool = np.flatnonzero(~np.isin(clean, inside))
    wanted = int(round(rate / (1.0 - rate) * in_set.size))
    if wanted > pool.size:
        raise ValueError(
            f"Open-set noise at rate {rate:g} needs {wanted} images of the outside classes "
            f"{outside}, but there are {pool.size}: lower the rate or leave more classes out."
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(pool)[:wanted])
    kept = np.sort(np.concatenate([in_set, chosen]))
    result = OpenSetNoise(noise=None, kept=kept, inside=inside)
    true = result.relabel(clean[kept])
    foreign = true == NO_CLASS
    given = true.copy()
    given[foreign] = rng.integers(0, len(inside), size=int(foreign.sum()))
    noise = LabelNoise(
        labels=given,
        clean_labels=true,
        noise_mask=foreign,
        resampled_mask=foreign,
        rate=rate,
        noise_type="open-set",
    )
    return dataclasses.replace(result, noise=noise)


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
