"""Input pipelines as plain tf.data functions: indexed for training."""

from __future__ import annotations

import tensorflow as tf

#: Padding of the paper's random crop, in pixels.
CROP_PADDING = 4


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return -(-int(num_samples) // int(batch_size))


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


def _epoch_order(num_samples: int, seed: int, epoch, shuffle: bool):
    if not shuffle:
        return tf.range(num_samples, dtype=tf.int32)
    keys = tf.random.stateless_uniform(
        [num_samples], seed=tf.stack([seed, tf.cast(epoch, tf.int32)])
    )
    return tf.cast(tf.argsort(keys), tf.int32)


def train_pipeline(
    images,
    labels,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    augment: bool = False,
    epochs: int | None = None,
    initial_epoch: int = 0,
) -> tf.data.Dataset:
    """Training batches `({"image", "index"}, label)` with each sample's index.

    The index is the sample's position in `images`, which the train step uses
    to record its loss for the beta mixture. Images stay raw (the model holds
    the normalisation) and are cast to float32 after augmentation.

    Each epoch's order and augmentation are a function of `(seed, epoch)`
    only, so a run resumed at `initial_epoch` sees exactly the batches an
    uninterrupted run would have seen.

    Args:
        images: array `(N, H, W, C)` of raw pixels.
        labels: int array `(N,)`, the (noisy) labels to train on.
        batch_size: batch size.
        seed: seed of shuffling and augmentation.
        shuffle: whether to shuffle each epoch.
        augment: apply `augment_image` (random crop with padding, flip).
        epochs: if `None`, the dataset is one epoch that Keras iterates
            anew each epoch (reshuffled). If set, it is the whole stream of
            epochs `initial_epoch .. epochs-1`; pass
            `steps_per_epoch=steps_per_epoch(N, batch_size)` to `fit`.
        initial_epoch: first epoch of the stream (for resuming).

    Returns:
        A `tf.data.Dataset`.

    Example:

    ```python
    ds = keras_bmm.data.train_pipeline(x, noisy_labels, batch_size=128, augment=True)
    model.fit(ds, epochs=10, callbacks=[keras_bmm.BMMCallback()])
    ```
    """
    n = len(labels)
    images = tf.convert_to_tensor(images)
    labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
    if images.shape[0] != n:
        raise ValueError(f"{images.shape[0]} images but {n} labels.")

    def epoch_dataset(epoch):
        order = tf.data.Dataset.from_tensor_slices(_epoch_order(n, seed, epoch, shuffle))

        def load(index):
            image = tf.gather(images, index)
            if augment:
                key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
                image = augment_image(
                    image, tf.random.experimental.stateless_fold_in(key, tf.cast(index, tf.int64))
                )
            return {"image": tf.cast(image, tf.float32), "index": index}, tf.gather(labels, index)

        return order.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)

    steps = steps_per_epoch(n, batch_size)
    if epochs is None:
        # One epoch, re-iterated by Keras; a fresh random epoch key per iteration.
        epoch_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        ds = epoch_keys.flat_map(lambda key: epoch_dataset(tf.cast(key % (2**30), tf.int32)))
    else:
        ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda epoch: epoch_dataset(tf.cast(epoch, tf.int32))
        )
        steps *= max(0, epochs - initial_epoch)
    # Tell Keras (progress bar, tf.distribute) how many batches there are.
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_pipeline(images, labels, batch_size: int, indexed: bool = False) -> tf.data.Dataset:
    """Evaluation batches `(image, label)` in order, images cast to float32.

    With `indexed=True`, batches are `({"image", "index"}, label)`, as
    `BMMCallback(data=...)` takes them to track the training set's losses.
    """
    labels = tf.cast(labels, tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels, tf.range(tf.shape(labels)[0])))

    def prepare(image, label, index):
        image = tf.cast(image, tf.float32)
        return ({"image": image, "index": index} if indexed else image), label

    return (
        ds.batch(batch_size)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
