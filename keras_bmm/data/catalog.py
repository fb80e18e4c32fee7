"""`load_dataset`: every dataset by name (loaders are imported on use)."""

from __future__ import annotations


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
    """Loads a dataset of the table (`keras_bmm.data.registry.SOURCES`) by name.

    A source of image files (folders, manifests, Clothing1M) is decoded into
    memory or streamed from its files; another is loaded whole by its
    loader.

    Args:
        name: a name of the table, e.g. `"digits"` (embedded, offline),
            `"cifar10"`/`"cifar100"` (tensorflow-datasets), `"cifar10_n"`/
            `"cifar100_n"` (CIFAR-N human labels), `"folder"`, `"manifest"`
            or `"clothing1m"` (image files; see each entry's `data_dir`).
        data_dir: what the entry's `data_dir` says (a folder, a file, ...).
        per_class: keep only the first `per_class` training images of each
            class (image files).
        image_size: `(H, W)` to resize images to (image files; default: the
            first training image's size).
        label_set: CIFAR-N label set (see `CIFAR_N_LABEL_SETS`).
        stream: for image files, read the images from their files during
            training (`StreamedDataset`) instead of decoding them all into
            memory (`ImageDataset`); `None` streams when the in-memory path's
            estimated peak would not fit in the memory available
            (`keras_bmm.data.memory.fits_in_memory`).
        skip_bad_files: leave out image files that do not decode (named in
            `dataset.bad_files`) instead of stopping with their path.
        labels: a manifest whose labels replace those of the training files
            it names (the relabelling loop; image files).

    Returns:
        An `ImageDataset` or a `StreamedDataset`: both offer the pipelines of
        `keras_bmm.data.interface.DatasetPipelines`.
    """
    from keras_bmm.data.registry import source_of

    source = source_of(name)
    if not source.files and labels:
        raise ValueError(f"labels (a manifest of files) needs a dataset of files, not {name!r}.")
    if source.data_dir_required and not data_dir:
        raise ValueError(f"The {name} dataset needs data_dir: {source.data_dir}.")
    found = _call(
        source.loader,
        dict(data_dir=data_dir, per_class=per_class, label_set=label_set, **source.options),
    )
    if not source.files:
        return found
    train, test, title = found
    return _file_dataset(train, test, title, image_size, stream, skip_bad_files, labels)


def _call(loader: str, arguments: dict):
    """Calls `"module:function"` with the arguments it accepts (set ones, for unknown)."""
    import importlib
    import inspect

    module, _, function = loader.partition(":")
    target = getattr(importlib.import_module(module), function)
    accepted = inspect.signature(target).parameters
    return target(**{k: v for k, v in arguments.items() if k in accepted})


def _file_dataset(train, test, title, image_size, stream, skip_bad_files, labels):
    from keras_bmm.data.file_table import FileTable

    if labels:
        from keras_bmm.data.manifest import relabel

        new, changed = relabel(train.files, train.labels, train.class_names, labels)
        print(f"Labels from {labels}: {changed} of {len(new)} training labels replaced.")
        train = FileTable(train.files, new, train.class_names, train.source)
    if stream is None:
        stream = _too_big_for_memory(train, test, image_size)
    if stream:
        from keras_bmm.data.streamed import streamed_dataset

        return streamed_dataset(title, train, test, image_size, skip_bad_files)
    from keras_bmm.data.folder import in_memory_dataset

    return in_memory_dataset(title, train, test, image_size, skip_bad_files=skip_bad_files)


def _too_big_for_memory(train, test, image_size) -> bool:
    """Whether the decoded images of both splits would not fit in memory (see `memory`)."""
    from keras_bmm.data.memory import decoded_bytes, fits_in_memory

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
    count = len(train) + (0 if test is None else len(test))
    return not fits_in_memory(decoded_bytes(count, image_size))
