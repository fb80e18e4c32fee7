"""`load_image_folder`: a user's own images as `ROOT/{train,test}/<class>/*`."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from keras_bmm.data.dataset import ImageDataset, channel_stats

#: File extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_class_files(split_dir: str, per_class: int | None = None) -> dict:
    """Maps each class folder of `split_dir` (sorted) to its sorted image files.

    Args:
        split_dir: a folder holding one sub-folder per class.
        per_class: keep only the first `per_class` files of each class, by
            file name.

    Returns:
        A dict `{class_name: [path, ...]}` in sorted class order.

    Raises:
        FileNotFoundError: if `split_dir` does not exist.
        ValueError: if it has no class folders, or a class folder holds no
            images.
    """
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(f"Image folder {split_dir!r} does not exist.")
    classes = sorted(
        entry.name for entry in os.scandir(split_dir) if entry.is_dir() and entry.name[0] != "."
    )
    if not classes:
        raise ValueError(
            f"{split_dir!r} holds no class folders; expected {split_dir}/<class>/<image>."
        )
    files = {}
    for name in classes:
        folder = os.path.join(split_dir, name)
        images = sorted(
            entry.path
            for entry in os.scandir(folder)
            if entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        if not images:
            raise ValueError(
                f"Class folder {folder!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})."
            )
        files[name] = images[:per_class] if per_class else images
    return files


def _read(path, channels: int):
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def _decode(path, channels: int, size, resize: bool):
    """The decoded image resized to `size`, or, unresized, whether it had that size."""
    image = _read(path, channels)
    if resize:
        image = tf.image.resize(image, size)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return tf.ensure_shape(image, (*size, channels)), tf.constant(True)
    fits = tf.reduce_all(tf.shape(image)[:2] == size)
    image = tf.cond(fits, lambda: image, lambda: tf.zeros((*size, channels), tf.uint8))
    return tf.ensure_shape(image, (*size, channels)), fits


def decode_images(paths, channels: int = 3, image_size=None, desc: str = "decoding") -> np.ndarray:
    """Decodes image files into one uint8 array `(N, H, W, channels)` with tf.data.

    Files are read and decoded in parallel (`AUTOTUNE`), with a progress bar.

    Args:
        paths: image files.
        channels: channels to decode to (3: RGB; grayscale is replicated).
        image_size: `(H, W)` to resize every image to; `None` requires all
            images to have the size of the first.
        desc: label of the progress bar.

    Returns:
        The decoded images.

    Raises:
        ValueError: naming the first file that cannot be decoded, or the first
            whose size differs when `image_size` is `None`.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("No image files to decode.")
    resize = image_size is not None
    if resize:
        size = tuple(int(s) for s in image_size)
    else:
        _raise_first_corrupt(paths[:1], channels)
        size = tuple(_read(paths[0], channels).shape[:2])
    ds = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda p: _decode(p, channels, size, resize), num_parallel_calls=tf.data.AUTOTUNE
    )
    chunks, fits, done = [], [], 0
    try:
        with tqdm(total=len(paths), desc=desc, unit="img", disable=len(paths) < 1000) as bar:
            for images, batch_fits in ds.batch(512):
                chunks.append(images.numpy())
                fits.append(batch_fits.numpy())
                done += len(chunks[-1])
                bar.update(len(chunks[-1]))
    except tf.errors.InvalidArgumentError:
        _raise_first_corrupt(paths[done:], channels)
        raise
    fits = np.concatenate(fits)
    if not fits.all():
        bad = paths[int(np.flatnonzero(~fits)[0])]
        shape = tuple(_read(bad, channels).shape)
        raise ValueError(
            f"Image {bad!r} has shape {shape}, but {paths[0]!r} has {(*size, channels)}; "
            "pass image_size (--image-size H W) to resize all images."
        )
    return np.concatenate(chunks)


def _raise_first_corrupt(paths, channels: int):
    for path in paths:
        try:
            _read(path, channels)
        except tf.errors.InvalidArgumentError as error:
            message = error.message.splitlines()[0]
            raise ValueError(f"Cannot decode image file {path!r}: {message}") from None


def load_image_folder(
    root: str,
    per_class: int | None = None,
    image_size=None,
    channels: int = 3,
    name: str | None = None,
) -> ImageDataset:
    """Loads `ROOT/train/<class>/*` and `ROOT/test/<class>/*` into memory.

    Class names are the folder names in sorted order; the test split must have
    the same class folders. Images are decoded once (JPEG, PNG, BMP, GIF) to
    uint8 and kept in memory, which is the cache every epoch reads from.
    Normalisation statistics are computed on the training images.

    Args:
        root: the dataset folder.
        per_class: keep the first `per_class` training images of each class
            (by file name); the test split is always loaded whole.
        image_size: `(H, W)` to resize to; default: the images' own size,
            which must then be the same for all.
        channels: 3 for RGB, 1 for grayscale.
        name: dataset name; default: the folder's name.

    Returns:
        An `ImageDataset` with uint8 images, augmentation on.

    Example:

    ```python
    data = keras_bmm.data.load_image_folder("web_images/", per_class=500)
    ```
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Dataset folder {root!r} does not exist.")
    train = list_class_files(os.path.join(root, "train"), per_class)
    test = list_class_files(os.path.join(root, "test"))
    if list(train) != list(test):
        only_train = sorted(set(train) - set(test))
        only_test = sorted(set(test) - set(train))
        raise ValueError(
            f"Train and test class folders of {root!r} differ: only in train {only_train}, "
            f"only in test {only_test}."
        )
    splits = {}
    for split, files in (("train", train), ("test", test)):
        paths = [p for class_files in files.values() for p in class_files]
        labels = np.concatenate([np.full(len(f), c) for c, f in enumerate(files.values())])
        images = decode_images(paths, channels, image_size, desc=f"decoding {split}")
        if (
            image_size is None
            and split == "test"
            and images.shape[1:] != splits["train"][0].shape[1:]
        ):
            raise ValueError(
                f"Test images of {root!r} have shape {images.shape[1:]}, train images "
                f"{splits['train'][0].shape[1:]}; pass image_size to resize."
            )
        splits[split] = (images, labels.astype(np.int64), paths)
    train_images = splits["train"][0]
    mean, std = channel_stats(train_images)
    return ImageDataset(
        name=name or os.path.basename(os.path.normpath(root)),
        train_images=train_images,
        train_labels=splits["train"][1],
        test_images=splits["test"][0],
        test_labels=splits["test"][1],
        class_names=tuple(train),
        mean=mean,
        std=std,
        augment=True,
        train_files=tuple(splits["train"][2]),
    )
