"""`pipeline` benchmark: the input pipeline alone against the training step."""

from __future__ import annotations

import os
import tempfile

from keras_bmm.benchmarks.common import median_time
from keras_bmm.benchmarks.step import prepare_variant
from keras_bmm.data import steps_per_epoch, train_pipeline

COLUMNS = ["what", "images_per_s", "vs_train_step"]


def pipeline_rate(images, labels, batch_size: int, repeats: int) -> float:
    """Images/s of one epoch of the augmented training pipeline alone (median of `repeats`)."""
    ds = train_pipeline(images, labels, batch_size, augment=True)
    steps = steps_per_epoch(len(labels), batch_size)

    def iterate():
        for _ in ds.take(steps):
            pass

    return steps * batch_size / median_time(iterate, repeats)


def _tfds_arrays(num_images: int):
    """CIFAR-10 through the TFDS loader, on `tfds.testing.mock_data` (no network)."""
    import tensorflow_datasets as tfds

    from keras_bmm.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp, tfds.testing.mock_data(num_examples=num_images):
        return load_dataset("cifar10", data_dir=os.path.join(tmp, "tfds"))


def pipeline_benchmark(
    data_dir: str,
    per_class: int | None = 500,
    width: int = 16,
    batch_size: int = 128,
    repeats: int = 3,
) -> list[dict]:
    """Augmented training pipeline throughput (images/s) of each data path.

    Args:
        data_dir: an image folder (or `.tar.gz`) for the image-folder path.
        per_class: training images per class taken from the folder.
        width: PreAct ResNet-18 width of the training step compared against.
        batch_size: batch size.
        repeats: timed passes (median), after one untimed pass.

    Returns:
        Rows: the folder and TFDS pipelines (the TFDS one on mock CIFAR-10
        of the same size), and the cross-entropy training step, each with
        its ratio to the training step.
    """
    from keras_bmm.data import extracted_folder, load_image_folder

    folder = load_image_folder(extracted_folder(data_dir), per_class=per_class)
    images, labels = folder.train_images, folder.train_labels
    tfds_data = _tfds_arrays(len(labels))
    epoch = prepare_variant("ce", True, False, images, labels, width, batch_size)
    step_rate = len(labels) / median_time(epoch, repeats)
    rows = [
        {
            "what": "pipeline: image folder (augmented)",
            "images_per_s": pipeline_rate(images, labels, batch_size, repeats),
        },
        {
            "what": "pipeline: tfds cifar10, mock data (augmented)",
            "images_per_s": pipeline_rate(
                tfds_data.train_images, tfds_data.train_labels, batch_size, repeats
            ),
        },
        {"what": f"train step: ce, PreAct ResNet-18 w{width}", "images_per_s": step_rate},
    ]
    for row in rows:
        row["vs_train_step"] = row["images_per_s"] / step_rate
    return rows
