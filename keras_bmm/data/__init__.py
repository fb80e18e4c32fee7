"""Datasets and indexed input pipelines.

- `catalog`: `load_dataset` by name;
- `dataset`: `ImageDataset`, a train/test split held in memory;
- `digits`, `tfds`, `folder`, `archive`: the loaders;
- `pipeline`: indexed `tf.data` training and evaluation pipelines.
"""

from keras_bmm.lazy import lazy_exports

#: Every dataset name `load_dataset` knows.
DATASETS = ("digits", "cifar10", "cifar100", "cifar10_n", "cifar100_n", "folder")

__all__ = [
    "CIFAR_N_LABEL_SETS",
    "DATASETS",
    "ImageDataset",
    "augment_image",
    "eval_pipeline",
    "extracted_folder",
    "load_cifar",
    "load_cifar_n",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "steps_per_epoch",
    "train_pipeline",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CIFAR_N_LABEL_SETS": "keras_bmm.data.tfds",
        "ImageDataset": "keras_bmm.data.dataset",
        "augment_image": "keras_bmm.data.pipeline",
        "eval_pipeline": "keras_bmm.data.pipeline",
        "extracted_folder": "keras_bmm.data.archive",
        "load_cifar": "keras_bmm.data.tfds",
        "load_cifar_n": "keras_bmm.data.tfds",
        "load_dataset": "keras_bmm.data.catalog",
        "load_digits": "keras_bmm.data.digits",
        "load_image_folder": "keras_bmm.data.folder",
        "steps_per_epoch": "keras_bmm.data.pipeline",
        "train_pipeline": "keras_bmm.data.pipeline",
    },
)
