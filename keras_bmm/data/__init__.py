"""Datasets and indexed input pipelines."""

from __future__ import annotations

from keras_bmm.data.dataset import ImageDataset
from keras_bmm.data.digits import load_digits
from keras_bmm.data.pipeline import eval_pipeline, train_pipeline

DATASETS = ("digits", "cifar10", "cifar100")
#: The datasets that have a loader in this version.
AVAILABLE_DATASETS = ("digits",)


def load_dataset(name: str, **kwargs) -> ImageDataset:
    """Loads a dataset by name.

    Args:
        name: `"digits"` (embedded, offline); `"cifar10"` and `"cifar100"` are
            reserved for the tensorflow-datasets loaders.
        **kwargs: passed on to the loader.

    Returns:
        An `ImageDataset`.
    """
    if name == "digits":
        return load_digits(**kwargs)
    if name in ("cifar10", "cifar100"):
        raise NotImplementedError(
            f"The {name!r} loader (tensorflow-datasets) is not implemented yet; "
            "use --dataset digits for now."
        )
    raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")


__all__ = [
    "DATASETS",
    "ImageDataset",
    "eval_pipeline",
    "load_dataset",
    "load_digits",
    "train_pipeline",
]
