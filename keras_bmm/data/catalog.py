"""`load_dataset`: every dataset by name (loaders are imported on use)."""

from __future__ import annotations

import os

from keras_bmm.data import DATASETS

#: File-backed datasets whose decoded images would take more bytes than this are streamed.
IN_MEMORY_LIMIT = 2 * 1024**3


def load_dataset(
    name: str,
    data_dir: str | None = None,
    per_class: int | None = None,
    image_size=None,
    label_set: str | None = None,
    stream: bool | None = None,
    skip_bad_files: bool = False,
    labels: str | None = None,
):
    """Loads a dataset by name, in memory or streamed from its files.

    Args:
        name: `"digits"` (embedded, offline), `"cifar10"`/`"cifar100"`
            (tensorflow-datasets), `"cifar10_n"`/`"cifar100_n"` (CIFAR-N
            human labels, tensorflow-datasets with a manual download),
            `"folder"` (`data_dir` is `ROOT` with `train/<class>/*` and
            optionally `test/<class>/*`, or a `.tar.gz` of it), `"manifest"`
            (`data_dir` is a CSV/TSV file of `path,label` rows, see
            `keras_bmm.data.manifest`) or `"clothing1m"` (`data_dir` holds
            Clothing1M's key and label lists, see `keras_bmm.data.clothing1m`).
        data_dir: the TFDS data directory, the image folder, the manifest or
            the Clothing1M folder.
        per_class: keep only the first `per_class` training images of each
            class (file-backed datasets).
        image_size: `(H, W)` to resize images to (file-backed datasets;
            default: the first training image's size).
        label_set: CIFAR-N label set (see `CIFAR_N_LABEL_SETS`).
        stream: for file-backed datasets, read the images from their files
            during training (`StreamedDataset`) instead of decoding them all
            into memory (`ImageDataset`); `None` streams when the decoded
            images would exceed `IN_MEMORY_LIMIT` bytes.
        skip_bad_files: leave out image files that do not decode (named in
            `dataset.bad_files`) instead of stopping with their path.
        labels: a manifest whose labels replace those of the training files
            it names (the relabelling loop; file-backed datasets).

    Returns:
        An `ImageDataset` or a `StreamedDataset`: both offer the pipelines of
        `keras_bmm.data.interface.DatasetPipelines`.
    """
    if name in ("folder", "manifest", "clothing1m"):
        return _file_dataset(name, data_dir, per_class, image_size, stream, skip_bad_files, labels)
    if labels:
        raise ValueError(f"labels (a manifest of files) needs a dataset of files, not {name!r}.")
    if name == "digits":
        from keras_bmm.data.digits import load_digits

        return load_digits()
    if name in ("cifar10", "cifar100"):
        from keras_bmm.data.tfds import load_cifar

        return load_cifar(name, data_dir=data_dir)
    if name in ("cifar10_n", "cifar100_n"):
        from keras_bmm.data.tfds import load_cifar_n

        return load_cifar_n(name, label_set=label_set, data_dir=data_dir)
    raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")


def _file_dataset(name, data_dir, per_class, image_size, stream, skip_bad_files, labels):
    from keras_bmm.data.file_table import FileTable

    if not data_dir:
        needs = {
            "folder": "ROOT with ROOT/train/<class>/*",
            "manifest": "a CSV/TSV manifest of path,label rows",
            "clothing1m": "the folder of Clothing1M's key and label lists",
        }
        raise ValueError(f"The {name} dataset needs data_dir: {needs[name]}.")
    if name == "folder":
        from keras_bmm.data.archive import extracted_folder
        from keras_bmm.data.folder import folder_tables

        root = extracted_folder(data_dir)
        train, test = folder_tables(root, per_class)
        title = os.path.basename(os.path.normpath(root))
    elif name == "manifest":
        from keras_bmm.data.manifest import read_manifest

        train, test = read_manifest(data_dir).first_per_class(per_class), None
        title = os.path.splitext(os.path.basename(data_dir))[0]
    else:
        from keras_bmm.data.clothing1m import read_clothing1m

        train, test = read_clothing1m(data_dir)
        train, title = train.first_per_class(per_class), "clothing1m"
    if labels:
        from keras_bmm.data.manifest import relabel

        new, changed = relabel(train.files, train.labels, train.class_names, labels)
        print(f"Labels from {labels}: {changed} of {len(new)} training labels replaced.")
        train = FileTable(train.files, new, train.class_names, train.source)
    if stream is None:
        stream = _too_big_for_memory(train, image_size)
    if stream:
        from keras_bmm.data.streamed import streamed_dataset

        return streamed_dataset(title, train, test, image_size, skip_bad_files)
    from keras_bmm.data.folder import in_memory_dataset

    return in_memory_dataset(title, train, test, image_size, skip_bad_files=skip_bad_files)


def _too_big_for_memory(train, image_size) -> bool:
    """Whether the decoded training images would exceed `IN_MEMORY_LIMIT` bytes."""
    if image_size is None:
        from keras_bmm.data.decoding import DECODE_ERRORS, read_image

        for path in train.files[:10]:
            try:
                image_size = read_image(path).shape[:2]
                break
            except DECODE_ERRORS:
                continue
        else:
            return True
    return len(train) * int(image_size[0]) * int(image_size[1]) * 3 > IN_MEMORY_LIMIT
