"""Export a trained classifier as a SavedModel that TF Serving can load."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import keras
import tensorflow as tf


def next_version(model_dir: str) -> int:
    """The next free integer version under `model_dir` (1 when there is none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(d) for d in os.listdir(model_dir) if re.fullmatch(r"\d+", d)]
    return max(versions, default=0) + 1


def export_classifier(
    model: keras.Model,
    model_dir: str,
    input_shape,
    version: int | None = None,
    overwrite: bool = False,
    extra_files: dict | None = None,
) -> str:
    """Writes `model_dir/<version>/` as a SavedModel, atomically.

    The `serving_default` signature takes a float32 batch of images (the
    model's input, any batch size) named `image` and returns
    `probabilities` (softmax of the logits, rows summing to 1) and `classes`
    (the arg-max). It is built with `keras.export.ExportArchive`, the
    mechanism behind `model.export`. The SavedModel is written to a temporary
    folder beside the target and renamed into place only when complete, so a
    failed export leaves no partial version folder.

    Args:
        model: a Keras model whose call maps images to logits.
        model_dir: the model's folder, e.g. `exported_models/digits-m-dyr-h`.
        input_shape: the image shape `(H, W, C)`.
        version: integer version; default the next free one.
        overwrite: replace an existing version folder instead of refusing.
        extra_files: optional `{file name: text}` written to `assets.extra/`
            inside the version folder (e.g. the training configuration).

    Returns:
        The path of the version folder.

    Example:

    >>> keras_bmm.export_classifier(model, "exported_models/digits", (8, 8, 1))
    'exported_models/digits/1'
    """
    version = next_version(model_dir) if version is None else int(version)
    if version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}.")
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it.")
    os.makedirs(model_dir, exist_ok=True)

    archive = keras.export.ExportArchive()
    archive.track(model)

    @tf.function(input_signature=[tf.TensorSpec((None, *input_shape), tf.float32, name="image")])
    def serve(image):
        logits = tf.cast(model(image, training=False), tf.float32)
        return {
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "classes": tf.argmax(logits, axis=-1, output_type=tf.int32),
        }

    archive.add_endpoint("serving_default", serve)
    staging = tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=model_dir)
    try:
        archive.write_out(staging, verbose=False)
        if extra_files:
            extra_dir = os.path.join(staging, "assets.extra")
            os.makedirs(extra_dir, exist_ok=True)
            for filename, text in extra_files.items():
                with open(os.path.join(extra_dir, filename), "w") as f:
                    f.write(text)
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
