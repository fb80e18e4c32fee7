"""The dataset table: every name `--dataset` takes, what it loads and how (no TensorFlow).

Everything that differs between datasets is one `DataSource` entry: its
loader, whether it is made of image files, what `--data-dir` means and
must be, its training defaults and its help text. The list of datasets, the
command line's choices and help, the settings' checks, the presets' defaults
and the run's name derive from the table. A new source is one module with a
loader and one entry (`register`).
"""

from __future__ import annotations

import dataclasses

from keras_bmm.schedules import PAPER_SCHEDULE

#: The digits' schedule: a small CNN, 60 epochs, bootstrapping from epoch 26.
DIGITS_SCHEDULE = {
    "model": "small_cnn",
    "width": 32,
    "epochs": 60,
    "warmup_epochs": 25,
    "dynamic_epochs": 3,
    "temperature_epochs": 15,
    "batch_size": 64,
    "learning_rate": 0.05,
    "weight_decay": 1e-5,
    "lr_milestones": (21, 46),
}


@dataclasses.dataclass(frozen=True)
class DataSource:
    """One dataset: what `--dataset NAME` loads.

    Attributes:
        name: the name `--dataset` takes.
        loader: `"module:function"`, imported on use. A source of image
            files returns `(train, test, title)` (`FileTable`s, `test` may be
            `None`); another returns an `ImageDataset`. It is called with the
            keyword arguments of `load_dataset` it accepts (`data_dir`,
            `per_class`, `label_set`, ...) and `options`.
        files: made of image files: `--labels`, `--stream`,
            `--skip-bad-files` apply, and with no noise added the truth of
            the labels is unknown.
        data_dir: what `--data-dir` is for this source ("" when unused).
        data_dir_kind: `"file"` or `"folder"` when `--data-dir` must be one
            (checked before anything loads), else `None`.
        data_dir_required: whether `--data-dir` must be given.
        defaults: `TrainConfig` defaults for this dataset.
        help: a few words for `--dataset`'s help.
        named_by_folder: a run's default name includes the data folder's name.
        options: fixed keyword arguments of the loader.
    """

    name: str
    loader: str
    files: bool = False
    data_dir: str = ""
    data_dir_kind: str | None = None
    data_dir_required: bool = False
    defaults: dict = dataclasses.field(default_factory=dict)
    help: str = ""
    named_by_folder: bool = False
    options: dict = dataclasses.field(default_factory=dict)


#: The datasets by name, in the order `--dataset -h` lists them.
SOURCES: dict[str, DataSource] = {}


def register(source: DataSource) -> DataSource:
    """Adds (or replaces) a dataset of the table; returns it.

    Example:

    ```python
    register(DataSource("toy", "my_package.toy:load_toy", help="my toy images"))
    ```
    """
    if source.data_dir_kind not in (None, "file", "folder"):
        raise ValueError(
            f"data_dir_kind must be None, 'file' or 'folder', got {source.data_dir_kind!r}."
        )
    SOURCES[source.name] = source
    return source


def source_of(name: str) -> DataSource:
    """The table's entry of `name`, or a `ValueError` listing the names."""
    if name not in SOURCES:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {dataset_names()}.")
    return SOURCES[name]


def dataset_names() -> tuple:
    """Every dataset's name."""
    return tuple(SOURCES)


def file_dataset_names() -> tuple:
    """The datasets made of image files."""
    return tuple(name for name, source in SOURCES.items() if source.files)


def dataset_help() -> str:
    """`--dataset`'s help: every name and what it is."""
    return "; ".join(f"{n}: {s.help}" for n, s in SOURCES.items() if s.help) + " (default digits)"


def data_dir_help() -> str:
    """`--data-dir`'s help: what it is for each dataset that reads one."""
    return "; ".join(f"{n}: {s.data_dir}" for n, s in SOURCES.items() if s.data_dir)


def dataset_defaults() -> dict:
    """Each dataset's `TrainConfig` defaults, by name."""
    return {name: dict(source.defaults) for name, source in SOURCES.items()}


for _source in (
    DataSource(
        "digits",
        "keras_bmm.data.digits:load_digits",
        defaults=DIGITS_SCHEDULE,
        help="scikit-learn's 8x8 digits, embedded (the default)",
    ),
    DataSource(
        "cifar10",
        "keras_bmm.data.tfds:load_cifar",
        data_dir="the TFDS data directory",
        defaults=PAPER_SCHEDULE,
        help="CIFAR-10 (tensorflow-datasets)",
        options={"name": "cifar10"},
    ),
    DataSource(
        "cifar100",
        "keras_bmm.data.tfds:load_cifar",
        data_dir="the TFDS data directory",
        defaults=PAPER_SCHEDULE,
        help="CIFAR-100 (tensorflow-datasets)",
        options={"name": "cifar100"},
    ),
    DataSource(
        "cifar10_n",
        "keras_bmm.data.tfds:load_cifar_n",
        data_dir="the TFDS data directory",
        defaults=PAPER_SCHEDULE,
        help="CIFAR-10N's human labels (--label-set)",
        options={"name": "cifar10_n"},
    ),
    DataSource(
        "cifar100_n",
        "keras_bmm.data.tfds:load_cifar_n",
        data_dir="the TFDS data directory",
        defaults=PAPER_SCHEDULE,
        help="CIFAR-100N's human labels",
        options={"name": "cifar100_n"},
    ),
    DataSource(
        "folder",
        "keras_bmm.data.folder:folder_files",
        files=True,
        data_dir="the image folder ROOT (ROOT/train/<class>/*, optionally ROOT/test/<class>/*) "
        "or a .tar.gz of it",
        data_dir_required=True,
        # A user's own images: bootstrapping starts when the network is ready
        # (docs/method.md#choosing-the-warm-up-automatically).
        defaults={**PAPER_SCHEDULE, "warmup_epochs": "auto"},
        help="your images in class folders",
        named_by_folder=True,
    ),
    DataSource(
        "manifest",
        "keras_bmm.data.manifest:manifest_files",
        files=True,
        data_dir="the manifest file (path,label rows)",
        data_dir_kind="file",
        data_dir_required=True,
        defaults={**PAPER_SCHEDULE, "warmup_epochs": "auto"},
        help="your images listed in a CSV/TSV file",
    ),
    DataSource(
        "clothing1m",
        "keras_bmm.data.clothing1m:clothing1m_files",
        files=True,
        data_dir="the folder of Clothing1M's key and label lists",
        data_dir_kind="folder",
        data_dir_required=True,
        defaults=PAPER_SCHEDULE,
        help="Clothing1M (key and label lists)",
    ),
):
    register(_source)
