"""`load_dataset`: every dataset by name (loaders are imported on use)."""

from __future__ import annotations

from keras_bmm.data import DATASETS
from keras_bmm.data.dataset import ImageDataset


def load_dataset(
    name: str,
    data_dir: str | None = None,
    per_class: int | None = None,
    image_size=None,
    label_set: str | None = None,
) -> ImageDataset:
    """Loads a dataset by name.

    Args:
        name: `"digits"` (embedded, offline), `"cifar10"`/`"cifar100"`
            (tensorflow-datasets), `"cifar10_n"`/`"cifar100_n"` (CIFAR-N
            human labels, tensorflow-datasets with a manual download) or
            `"folder"` (`data_dir` is `ROOT` with `train/<class>/*` and
            `test/<class>/*`, or a `.tar.gz` of it).
        data_dir: the TFDS data directory, or the image folder.
        per_class: keep only the first `per_class` training images of each
            class (image folders).
        image_size: `(H, W)` to resize folder images to.
        label_set: CIFAR-N label set (see `CIFAR_N_LABEL_SETS`).

    Returns:
        An `ImageDataset`.
    """
    from keras_bmm.data.archive import extracted_folder
    from keras_bmm.data.digits import load_digits
    from keras_bmm.data.folder import load_image_folder
    from keras_bmm.data.tfds import load_cifar, load_cifar_n

    if name == "digits":
        return load_digits()
    if name in ("cifar10", "cifar100"):
        return load_cifar(name, data_dir=data_dir)
    if name in ("cifar10_n", "cifar100_n"):
        return load_cifar_n(name, label_set=label_set, data_dir=data_dir)
    if name == "folder":
        if not data_dir:
            raise ValueError("The folder dataset needs data_dir: ROOT with ROOT/train/<class>/*.")
        return load_image_folder(
            extracted_folder(data_dir), per_class=per_class, image_size=image_size
        )
    raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")
