"""Datasets and indexed input pipelines.

- `catalog`: `load_dataset` by name, in memory or streamed (`memory`: which,
  by the in-memory path's measured cost);
- `dataset`: `ImageDataset`, images held in memory (`image_rows`: a subset's
  images, `ImageRows`, without a copy);
- `streamed`: `StreamedDataset`, images read from their files during training;
- `interface`: `DatasetPipelines`, the pipelines and splits both offer;
- `file_table`, `listing`, `manifest`, `clothing1m`: file tables and their
  sources (no TensorFlow); `digits`, `tfds`, `folder`, `archive`: the loaders;
- `pipeline`, `source`, `augment`, `decoding`: indexed `tf.data` pipelines;
  `pipeline_epoch`: `PipelineEpoch`; `bad_files`: `BadFiles`; `undecodable`:
  `UndecodableFilesError`, every file that does not decode, named in plain words.
"""

from keras_bmm.data.registry import dataset_names, file_dataset_names
from keras_bmm.lazy import lazy_exports

#: The built-in datasets' names (`registry.dataset_names()` also has those registered since).
DATASETS = dataset_names()

#: The built-in datasets of image files (which `labels`, `stream` and `skip_bad_files` apply to).
FILE_DATASETS = file_dataset_names()

__all__ = [
    "BadFiles",
    "CIFAR_N_LABEL_SETS",
    "DATASETS",
    "FILE_DATASETS",
    "FileTable",
    "ImageDataset",
    "PipelineEpoch",
    "StreamedDataset",
    "UndecodableFilesError",
    "augment_image",
    "eval_pipeline",
    "extracted_folder",
    "load_cifar",
    "load_cifar_n",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "random_resized_crop",
    "read_clothing1m",
    "read_manifest",
    "steps_per_epoch",
    "train_pipeline",
    "write_manifest",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BadFiles": "keras_bmm.data.bad_files",
        "CIFAR_N_LABEL_SETS": "keras_bmm.data.tfds",
        "FileTable": "keras_bmm.data.file_table",
        "ImageDataset": "keras_bmm.data.dataset",
        "PipelineEpoch": "keras_bmm.data.pipeline_epoch",
        "StreamedDataset": "keras_bmm.data.streamed",
        "UndecodableFilesError": "keras_bmm.data.undecodable",
        "augment_image": "keras_bmm.data.augment",
        "eval_pipeline": "keras_bmm.data.pipeline",
        "extracted_folder": "keras_bmm.data.archive",
        "load_cifar": "keras_bmm.data.tfds",
        "load_cifar_n": "keras_bmm.data.tfds",
        "load_dataset": "keras_bmm.data.catalog",
        "load_digits": "keras_bmm.data.digits",
        "load_image_folder": "keras_bmm.data.folder",
        "random_resized_crop": "keras_bmm.data.augment",
        "read_clothing1m": "keras_bmm.data.clothing1m",
        "read_manifest": "keras_bmm.data.manifest",
        "steps_per_epoch": "keras_bmm.data.pipeline",
        "train_pipeline": "keras_bmm.data.pipeline",
        "write_manifest": "keras_bmm.data.manifest",
    },
)
