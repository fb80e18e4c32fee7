"""`SampleSource`: how a pipeline gets sample `index`'s image, from memory or from its file."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from keras_bmm.data.augment import augment_image, random_resized_crop, uses_resized_crop
from keras_bmm.data.bad_files import BadFiles
from keras_bmm.data.decoding import decode_resized, read_image


@dataclasses.dataclass
class SampleSource:
    """The images of one split, by sample index, for `keras_bmm.data.pipeline`.

    Attributes:
        load: `index -> image` at the training resolution, raw pixels.
        load_augmented: `(index, seed) -> image`, the training augmentation
            of sample `index` with a stateless `(2,)` seed.
        shape: `(H, W, C)` of the images.
        dtype: their dtype (`tf.uint8`, or `tf.float32` for the digits).
        files: the split's files when the images are read from disk.
        bad_files: with `skip_bad_files`, where the files that fail to decode
            are noted; they are left out. `None`: a bad file stops the
            pipeline with TensorFlow's error.
        split: the split's name, for `bad_files`.
        valid: indices to use, or `None` for all (a split held in memory
            leaves out the files that did not decode when it was loaded; a
            streamed one under several replicas, those found before training).
        sample_ids: the index `bad_files` notes for each sample (its index in
            the full training set), or `None` for its position.
    """

    load: Callable
    load_augmented: Callable
    shape: tuple
    dtype: tf.DType
    files: tuple | None = None
    bad_files: BadFiles | None = None
    split: str = "train"
    valid: object = None
    sample_ids: object = None

    @property
    def skips(self) -> bool:
        """Whether loads may fail and are then left out (files, with `skip_bad_files`)."""
        return self.files is not None and self.bad_files is not None


def array_source(images, valid=None) -> SampleSource:
    """A source over images held in memory, `(N, H, W, C)`.

    Training augmentation: the paper's padded crop and flip, or for images
    of at least `LARGE_IMAGE_SIDE` pixels a random-resized crop and flip.
    """
    images = tf.convert_to_tensor(images)
    shape = tuple(images.shape[1:])

    def load(index):
        return tf.gather(images, index)

    if uses_resized_crop(shape[:2]):

        def load_augmented(index, seed):
            return random_resized_crop(load(index), shape[:2], seed)
    else:

        def load_augmented(index, seed):
            return augment_image(load(index), seed)

    return SampleSource(load, load_augmented, shape, images.dtype, valid=valid)


def file_source(
    files, image_size, bad_files=None, split: str = "train", sample_ids=None, valid=None
) -> SampleSource:
    """A source that decodes each image file when it is needed, resized to `image_size`.

    Training augmentation: for small images the paper's padded crop and flip
    of the resized image; for images of at least `LARGE_IMAGE_SIDE` pixels a
    random-resized crop of the full-resolution image, resized, and a flip.
    See `SampleSource` for `bad_files`, `split`, `sample_ids` and `valid`.
    """
    files = tuple(files)
    paths = tf.constant(list(files))
    size = tuple(int(s) for s in image_size)

    def load(index):
        return decode_resized(tf.gather(paths, index), size)

    if uses_resized_crop(size):

        def load_augmented(index, seed):
            return random_resized_crop(read_image(tf.gather(paths, index)), size, seed)
    else:

        def load_augmented(index, seed):
            return augment_image(load(index), seed)

    return SampleSource(
        load,
        load_augmented,
        (*size, 3),
        tf.uint8,
        files,
        bad_files=bad_files,
        split=split,
        valid=valid,
        sample_ids=sample_ids,
    )
