"""Export a trained classifier as a SavedModel that TF Serving can load."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_bmm.atomic import atomic_directory, remove_stale_staging
from keras_bmm.bootstrapping.soft_target_model import SoftTargetModel
from keras_bmm.data.augment import resize_image


def next_version(model_dir: str) -> int:
    """The next free integer version under `model_dir` (1 when there is none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(d) for d in os.listdir(model_dir) if re.fullmatch(r"\d+", d)]
    return max(versions, default=0) + 1


def export_classifier(
    model: keras.Model,
    model_dir: str,
    input_shape: tuple,
    version: int | None = None,
    overwrite: bool = False,
    extra_files: dict | None = None,
    input_dtype: str = "float32",
    class_names: Sequence | None = None,
    top_k: int = 5,
) -> str:
    """Writes `model_dir/<version>/` as a SavedModel for TF Serving, atomically.

    The SavedModel holds the classifier alone: for a `BootstrappingModel`
    (any `SoftTargetModel`), its `backbone`, without the per-sample training
    state (loss record, previous losses, the mixture and its table).
    Signatures (built with `keras.export.ExportArchive`, the mechanism behind
    `model.export`):

    - `serving_default`: input `image`, a batch of raw images of
      `input_dtype` (uint8 pixels for image datasets), any batch size, any
      height and width, `(batch, height, width, C)`. Images are resized to
      the training size `input_shape[:2]` as training resizes image files
      (`keras_bmm.data.augment.resize_image`: bilinear, no antialiasing,
      uint8 rounded back to uint8); at the training size they pass
      unchanged. The model's own normalisation runs inside. Returns
      `probabilities` (softmax, rows summing to 1), `classes` (arg-max,
      int32) and, when `class_names` are given, `class_names` (the arg-max
      class's name, string). Other channel counts and dtypes are rejected.
    - `top_k` (when `class_names` are given): the same input; returns
      `top_k_probabilities`, `top_k_classes` and `top_k_class_names`
      (strings), `k = min(top_k, number of classes)`.

    Class names (`class_names.txt`, one per line) and `extra_files` are
    written to the version's `assets/` folder. A new version whose class
    names differ from the latest version's is refused (see
    `check_model_folder`). The SavedModel is written to a temporary folder
    beside the target and renamed into place only when complete, so a failed
    export leaves no partial version folder; temporary folders left by killed
    exports are removed by the next export. Folders and files get the usual
    permissions (0755/0644 under umask 022).

    Args:
        model: a `BootstrappingModel`, or a Keras model whose call maps raw
            images to logits.
        model_dir: the model's folder, e.g. `exported_models/cifar10-m-dyr-h-0.8`.
        input_shape: the image shape `(H, W, C)` of training.
        version: integer version; default the next free one.
        overwrite: replace an existing version folder instead of refusing.
        extra_files: optional `{file name: text}` for `assets/` (e.g. the
            training configuration).
        input_dtype: dtype of the `image` input (`"uint8"` or `"float32"`).
        class_names: names of the classes, in label order.
        top_k: `k` of the `top_k` signature.

    Returns:
        The path of the version folder.

    Example:

    >>> keras_bmm.export_classifier(model, "exported_models/cifar10", (32, 32, 3),
    ...                             input_dtype="uint8", class_names=names)
    'exported_models/cifar10/1'
    """
    version = next_version(model_dir) if version is None else int(version)
    if version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}.")
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it.")
    check_model_folder(model_dir, class_names)
    classifier = model.backbone if isinstance(model, SoftTargetModel) else model
    size = (int(input_shape[0]), int(input_shape[1]))
    channels = int(input_shape[-1])
    spec = tf.TensorSpec((None, None, None, channels), tf.as_dtype(input_dtype), "image")
    names = None if class_names is None else tf.constant([str(n) for n in class_names])

    archive = keras.export.ExportArchive()
    archive.track(classifier)  # not the model: its per-sample training state stays out

    def probabilities(image):
        # Served signatures do not check input shapes (TF Serving feeds the graph).
        image = tf.ensure_shape(image, spec.shape)
        pixels = tf.cast(resize_image(image, size), tf.float32)
        logits = classifier(pixels, training=False)
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)

    @tf.function(input_signature=[spec])
    def serve(image):
        p = probabilities(image)
        out = {"probabilities": p, "classes": tf.argmax(p, axis=-1, output_type=tf.int32)}
        if names is not None:
            out["class_names"] = tf.gather(names, out["classes"])
        return out

    archive.add_endpoint("serving_default", serve)
    if names is not None:
        k = min(int(top_k), len(class_names))

        @tf.function(input_signature=[spec])
        def serve_top_k(image):
            values, indices = tf.math.top_k(probabilities(image), k=k)
            return {
                "top_k_probabilities": values,
                "top_k_classes": indices,
                "top_k_class_names": tf.gather(names, indices),
            }

        archive.add_endpoint("top_k", serve_top_k)
    files = dict(extra_files or {})
    if class_names is not None:
        files["class_names.txt"] = "\n".join(str(n) for n in class_names) + "\n"
    remove_stale_staging(model_dir, r"\d+")  # left by killed exports of any version
    with atomic_directory(target, replace=True) as staging:
        archive.write_out(staging, verbose=False)
        assets = os.path.join(staging, "assets")
        os.makedirs(assets, exist_ok=True)
        for filename, text in files.items():
            with open(os.path.join(assets, filename), "w") as f:
                f.write(text)
    return target


def check_model_folder(model_dir: str, class_names) -> None:
    """Refuses a new version whose classes differ from the latest version's.

    TF Serving serves the latest version of a model folder: a model of other
    classes there (another dataset's run of the same name) would replace it.

    Args:
        model_dir: the model's folder.
        class_names: the new model's class names (`None`: not checked).

    Raises:
        ValueError: naming the folder and the classes it serves.
    """
    if class_names is None or not os.path.isdir(model_dir):
        return
    versions = sorted(int(d) for d in os.listdir(model_dir) if re.fullmatch(r"\d+", d))
    if not versions:
        return
    path = os.path.join(model_dir, str(versions[-1]), "assets", "class_names.txt")
    if not os.path.exists(path):
        return
    with open(path) as f:
        served = f.read().splitlines()
    if served != [str(n) for n in class_names]:
        raise ValueError(
            f"{model_dir} serves a model of other classes (version {versions[-1]}: "
            f"{served[:5]}{' ...' if len(served) > 5 else ''}); export this one under "
            "another name (--name) or folder (--output)."
        )
