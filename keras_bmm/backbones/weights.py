"""Weights files of backbones: `save_backbone_weights` and `load_backbone_weights`."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import keras
import numpy as np

from keras_bmm.backbones.parts import HEAD, feature_extractor

#: Attribute of a `save_backbone_weights` file: the feature extractor's name.
EXTRACTOR_ATTRIBUTE = "keras_bmm_feature_extractor"


def save_backbone_weights(model: keras.Model, path: str) -> str:
    """Writes the feature extractor's weights (not the head) to `path`, atomically.

    The file fine-tunes the same architecture on other classes:
    `build(name, num_classes, weights=path)` loads it and adds a new head.
    (`model.backbone.save_weights(path)` instead saves the whole classifier,
    head included, which loads only for the same number of classes.)

    Args:
        model: a classifier from `keras_bmm.backbones.build`, or a
            `BootstrappingModel` around one.
        path: the file, ending in `.weights.h5`.

    Returns:
        `path`.

    Example:

    ```python
    save_backbone_weights(result.model, "pretrained.weights.h5")
    classifier = keras_bmm.backbones.build("ResNet50", 5, weights="pretrained.weights.h5")
    ```
    """
    if not path.endswith(".weights.h5"):
        raise ValueError(f"save_backbone_weights writes a .weights.h5 file; got {path!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=folder)
    try:
        staged = os.path.join(staging, os.path.basename(path))
        extractor = feature_extractor(model)
        extractor.save_weights(staged)
        import h5py

        with h5py.File(staged, "a") as f:  # Keras reads only its own groups
            f.attrs[EXTRACTOR_ATTRIBUTE] = extractor.name
        os.replace(staged, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_backbone_weights(classifier: keras.Model, path: str) -> str:
    """Loads a weights file into a classifier made by `keras_bmm.backbones.build`.

    The file holds either the feature extractor alone (as
    `save_backbone_weights` writes it: the head keeps its new initial
    weights), or a whole classifier of the same architecture and class count
    (`classifier.save_weights`, or a `.keras` file of the classifier or of a
    `BootstrappingModel` around it: the head is loaded too). Every weight of
    the part loaded comes from the file, or loading fails.

    Args:
        classifier: the model to load into.
        path: a `.weights.h5` or `.keras` file.

    Returns:
        `"classifier"` or `"feature extractor"`: what the file held.

    Raises:
        ValueError: if the file fits neither, naming the mismatch (another
            architecture, or a head for another number of classes).

    Example:

    ```python
    classifier = keras_bmm.backbones.build("ResNet50", 5, weights="none")
    load_backbone_weights(classifier, "pretrained.weights.h5")  # "feature extractor"
    ```
    """
    extractor = feature_extractor(classifier)
    if path.endswith(".keras"):
        return _load_keras_file(classifier, extractor, path)
    summary = _h5_summary(path)
    for target, held in ((classifier, "classifier"), (extractor, "feature extractor")):
        if summary[:2] == (len(target.weights), target.count_params()):
            try:
                with warnings.catch_warnings():
                    # Keras notes weightless containers missing from the file.
                    warnings.filterwarnings("ignore", message="Skipping nested container")
                    target.load_weights(path)
            except (ValueError, KeyError) as error:
                detail = " ".join(str(error).strip().splitlines()[:2])
                raise ValueError(_mismatch(path, classifier, extractor, summary, detail)) from None
            return held
    raise ValueError(_mismatch(path, classifier, extractor, summary))


def _load_keras_file(classifier, extractor, path: str) -> str:
    source = keras.saving.load_model(path, compile=False)
    source = getattr(source, "backbone", source)  # a BootstrappingModel: its classifier
    arrays = source.get_weights()
    if _fits(classifier, arrays):
        classifier.set_weights(arrays)
        return "classifier"
    if _fits(extractor, arrays):
        extractor.set_weights(arrays)
        return "feature extractor"
    layers = getattr(source, "layers", [])
    nested = [layer for layer in layers if isinstance(layer, keras.Model)]
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    head_classes = None
    if len(nested) == 1 and dense and _fits(extractor, nested[0].get_weights()):
        head_classes = int(dense[-1].units)
    summary = (len(arrays), int(sum(a.size for a in arrays)), source.name, head_classes)
    raise ValueError(_mismatch(path, classifier, extractor, summary))


def _fits(model, arrays) -> bool:
    shapes = [tuple(w.shape) for w in model.weights]
    return len(shapes) == len(arrays) and all(s == a.shape for s, a in zip(shapes, arrays))


def _h5_summary(path: str):
    """`(arrays, parameters, extractor name or None, head classes or None)` of a
    `.weights.h5` file."""
    import h5py

    sizes = []
    head_classes = None
    with h5py.File(path, "r") as f:

        def visit(name, item):
            if isinstance(item, h5py.Dataset) and "/vars/" in f"/{name}":
                sizes.append(int(np.prod(item.shape)))

        f.visititems(visit)
        layers = f.get("layers")
        # A classifier from `build`: a handful of top-level layers, one Dense head.
        if layers is not None and len(layers) <= 6 and "dense/vars/1" in layers:
            head_classes = int(layers["dense/vars/1"].shape[0])
        source = f.attrs.get(EXTRACTOR_ATTRIBUTE)
    if isinstance(source, bytes):
        source = source.decode()
    return len(sizes), int(sum(sizes)), source, head_classes


def _mismatch(path, classifier, extractor, summary, detail: str = "") -> str:
    arrays, parameters, source_name, head_classes = summary
    num_classes = int(classifier.get_layer(HEAD).units)
    name = extractor.name
    if head_classes is not None and head_classes != num_classes:
        return (
            f"weights file {path!r} holds a classifier with a {head_classes}-class head, but the "
            f"model has {num_classes} classes. To fine-tune its features on other classes, save "
            "the feature extractor alone (keras_bmm.backbones.save_backbone_weights) and pass "
            "that file."
        )
    held = f"weights of {source_name!r}, " if source_name else ""
    return (
        f"weights file {path!r} does not hold weights of backbone {name!r}: it holds {held}"
        f"{arrays} weight arrays ({parameters:,} parameters), while {name!r} has "
        f"{len(extractor.weights)} ({extractor.count_params():,}) and its {num_classes}-class "
        f"classifier {len(classifier.weights)} ({classifier.count_params():,}). Pass a file "
        f"saved from the same architecture.{' Keras: ' + detail if detail else ''}"
    )
