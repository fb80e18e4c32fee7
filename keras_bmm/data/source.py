"""`SampleSource`: how a pipeline gets sample `index`'s image, from memory or from its file."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from keras_bmm.data.augment import augment_image, random_resized_crop, uses_resized_crop
from keras_bmm.data.bad_files import BadFiles
from keras_bmm.data.decoding import decode_resized, read_image

#: Images an in-memory source reads at once (one `tf.numpy_function` call).
ROWS_PER_READ = 64


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
        read_rows: for images in memory, `indices -> images`, the images of
            a chunk of indices at once; the pipelines read them so (and
            augment them with `augment`) instead of with `load`. `None`: files.
        augment: `(image, seed) -> image`, the training augmentation of an
            image that `read_rows` gave.
        held: what `read_rows` reads (the array), which the pipelines hold.
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
    read_rows: Callable | None = None
    augment: Callable | None = None
    held: object = None

    @property
    def skips(self) -> bool:
        """Whether loads may fail and are then left out (files, with `skip_bad_files`)."""
        return self.files is not None and self.bad_files is not None


def array_source(images, valid=None) -> SampleSource:
    """A source over images held in memory, `(N, H, W, C)` (an array or `ImageRows`).

    The images are read a chunk of indices at a time by numpy
    (`tf.numpy_function`): TensorFlow makes no copy of the whole array (as it
    would of a constant). The pipelines hold the array; the reading function
    holds it weakly, so that it is freed with them.

    Training augmentation: the paper's padded crop and flip, or for images
    of at least `LARGE_IMAGE_SIDE` pixels a random-resized crop and flip.
    """
    if not hasattr(images, "shape") or not hasattr(images, "dtype"):
        images = np.asarray(images)
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    shape = tuple(int(s) for s in images.shape[1:])
    dtype = tf.as_dtype(images.dtype)
    read = _row_reader(images)

    def read_rows(indices):
        rows = tf.numpy_function(read, [indices], dtype, stateful=False)
        return tf.ensure_shape(rows, (None, *shape))

    def load(index):
        return read_rows(tf.reshape(index, [1]))[0]

    if uses_resized_crop(shape[:2]):

        def augment(image, seed):
            return random_resized_crop(image, shape[:2], seed)
    else:
        augment = augment_image

    def load_augmented(index, seed):
        return augment(load(index), seed)

    return SampleSource(
        load,
        load_augmented,
        shape,
        dtype,
        valid=valid,
        read_rows=read_rows,
        augment=augment,
        held=images,
    )


def _row_reader(images):
    """`indices -> images[indices]` (a numpy array), holding `images` weakly."""
    held = weakref.ref(images)

    def read(indices):
        found = held()
        if found is None:
            raise RuntimeError(
                "The images of this pipeline were freed: keep the pipeline (or the dataset "
                "it was made of) while reading it."
            )
        return np.ascontiguousarray(found[indices])

    return read


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
