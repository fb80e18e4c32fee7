"""Stateless training augmentation: the paper's padded crop, and a random-resized crop."""

from __future__ import annotations

import tensorflow as tf

#: Padding of the paper's random crop, in pixels.
CROP_PADDING = 4

#: Images whose shorter side is at least this many pixels get the random-resized crop.
LARGE_IMAGE_SIDE = 64

#: Area fraction and aspect-ratio range of the random-resized crop (torchvision's defaults).
RESIZED_CROP_SCALE = (0.08, 1.0)
RESIZED_CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)


def augment_image(image, seed):
    """The paper's augmentation: random crop after 4-pixel zero padding, random flip.

    Args:
        image: `(H, W, C)` tensor of raw pixels.
        seed: int32 tensor of shape `(2,)`; the same seed gives the same crop
            and flip (stateless ops).

    Returns:
        The augmented image, same shape and dtype.
    """
    shape = tf.shape(image)
    padded = tf.pad(image, [[CROP_PADDING, CROP_PADDING], [CROP_PADDING, CROP_PADDING], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    image = tf.image.stateless_random_crop(padded, shape, seed=seeds[0])
    return tf.image.stateless_random_flip_left_right(image, seed=seeds[1])


def resize_image(image, size):
    """`image` resized (bilinear) to `size = (H, W)`, in its own dtype (uint8: rounded)."""
    dtype = image.dtype
    resized = tf.image.resize(image, size)
    if dtype == tf.uint8:
        resized = tf.clip_by_value(tf.round(resized), 0, 255)
    return tf.cast(resized, dtype)


def random_resized_crop(image, size, seed):
    """A random crop of random area and aspect ratio, resized to `size`, then a random flip.

    The crop covers `RESIZED_CROP_SCALE` of the image's area with an aspect
    ratio in `RESIZED_CROP_RATIO` (the whole image when no such box is found
    in 10 attempts), as torchvision's `RandomResizedCrop`.

    Args:
        image: `(h, w, C)` tensor of raw pixels, any size.
        size: `(H, W)` of the result.
        seed: int tensor of shape `(2,)` (stateless ops).

    Returns:
        An `(H, W, C)` tensor of `image`'s dtype.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    begin, box, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.zeros([1, 0, 4]),
        seed=seeds[0],
        min_object_covered=0.0,
        aspect_ratio_range=RESIZED_CROP_RATIO,
        area_range=RESIZED_CROP_SCALE,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = resize_image(tf.slice(image, begin, box), size)
    crop = tf.ensure_shape(crop, (*size, image.shape[-1]))
    return tf.image.stateless_random_flip_left_right(crop, seed=seeds[1])


def uses_resized_crop(image_size) -> bool:
    """Whether training images of `image_size = (H, W)` get the random-resized crop."""
    return min(int(s) for s in image_size) >= LARGE_IMAGE_SIDE
