"""The forward passes a train step makes besides the mixed one, per arrangement.

- The fast arrangement: one training-mode pass on the un-mixed batch (no
  gradient) gives the bootstrap targets, the losses p(noisy) is read from,
  and the losses recorded for the next mixture fit.
- The reference code's arrangement: each pass only in the phase that uses it
  (`reference_passes`), and the mixture fitted on a separate pass over the
  training set after each epoch (`dataset_losses`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_bmm.bootstrapping.objectives import flat_labels, per_sample_cross_entropy


def split_inputs(x):
    """Splits fit inputs into `(images, index)`; `index` is None when absent.

    Inputs are either an image tensor, or a dict with key `"image"` and,
    optionally, `"index"` (each sample's position in the training set).
    """
    if isinstance(x, dict):
        if "image" not in x:
            raise ValueError(f"Input dicts need an 'image' key; got keys {sorted(x)}.")
        return x["image"], x.get("index")
    return x, None


def unpack_batch(data):
    """A batch as `(images, index, labels, sample_weight)`: float images, flat int labels.

    Raises:
        ValueError: for labels that are not class indices (e.g. one-hot rows).
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    images, index = split_inputs(x)
    if not images.dtype.is_floating:
        images = tf.cast(images, "float32")
    y = tf.convert_to_tensor(y)
    if y.shape.rank is not None and (
        y.shape.rank > 2 or (y.shape.rank == 2 and y.shape[-1] not in (1, None))
    ):
        raise ValueError(
            f"Labels must be integer class indices of shape (batch,) or (batch, 1), got "
            f"shape {y.shape}; pass class indices (e.g. argmax of one-hot labels)."
        )
    return images, index, flat_labels(y), sample_weight


def unmixed_pass(forward, images, labels, training: bool = True):
    """One pass on the un-mixed batch, without gradient.

    In training mode (the fast arrangement's pass) batch norm normalises with
    the batch's own statistics and updates its running statistics; in
    inference mode (how the `mixup` baseline records its losses) nothing in
    the model changes.

    Args:
        forward: the model, called as `forward(images, training=training)`.
        images: the batch.
        labels: its integer labels.
        training: the mode of the pass.

    Returns:
        `(logits, losses)`: float32 logits and per-sample cross-entropy.
    """
    logits = tf.cast(tf.stop_gradient(forward(images, training=training)), tf.float32)
    return logits, per_sample_cross_entropy(labels, logits)


def unmixed_or_last_refresh(forward, images, index, labels, refreshing, num_classes, training=True):
    """The fast arrangement's `(logits, losses)`: the un-mixed pass, or between
    refreshes (`refreshing` False) the last refresh's record instead.

    Args:
        forward: the model (its `noise_state` holds the record).
        images: the batch.
        index: each sample's position in the training set.
        labels: its integer labels.
        refreshing: scalar bool tensor, or `None` (the pass, always).
        num_classes: number of classes.
        training: the mode of the pass.
    """
    if refreshing is None:
        return unmixed_pass(forward, images, labels, training=training)
    return tf.cond(
        refreshing,
        lambda: unmixed_pass(forward, images, labels, training=training),
        lambda: last_refresh_targets(forward.noise_state, index, labels, num_classes),
    )


def last_refresh_targets(state, index, labels, num_classes):
    """What a step without its un-mixed pass bootstraps from: the last refresh's record.

    Each sample's arg-max class and loss, recorded in the last epoch that
    made the pass (the state's `previous_predictions`, `previous_losses`),
    stand in for the pass's logits and losses. A sample with none recorded
    (e.g. a file that did not decode then) gets its given label as the
    prediction and a zero loss, so its target stays its given label.

    Args:
        state: the model's `NoiseModelState`.
        index: int tensor `(batch,)`, each sample's position in the training set.
        labels: the batch's integer labels.
        num_classes: number of classes.

    Returns:
        `(target_logits, losses)`: one-hot rows of the recorded classes
        (their arg-max is that class) and the recorded losses.

    Raises:
        ValueError: when the inputs carry no `"index"`.
    """
    if index is None:
        raise ValueError(
            "target_refresh > 1 reuses each sample's recorded prediction: feed the inputs "
            'as {"image": images, "index": sample_indices}.'
        )
    index = tf.reshape(tf.cast(index, tf.int32), [-1])
    losses = tf.gather(tf.convert_to_tensor(state.previous_losses), index)
    predicted = tf.gather(tf.convert_to_tensor(state.previous_predictions), index)
    predicted = tf.cast(predicted, tf.int32)
    known = tf.logical_and(predicted >= 0, tf.math.is_finite(losses))
    predicted = tf.where(known, predicted, tf.cast(labels, tf.int32))
    target_logits = tf.one_hot(predicted, num_classes, dtype=tf.float32)
    return target_logits, tf.where(known, losses, tf.zeros_like(losses))


def reference_passes(forward, images, labels, bootstrapping, active, num_classes):
    """The reference code's extra passes, each only in the phase that uses it.

    While bootstrapping, a training-mode pass (no gradient; it updates
    batch-norm statistics, as the reference's does) gives the bootstrap
    targets; whenever the mixture is in use (bootstrapping or dynamic
    mixup), an inference-mode pass gives the losses the posterior is read
    from. Zeros stand in for a pass that is not run.

    Args:
        forward: the model.
        images: the batch.
        labels: its integer labels.
        bootstrapping: scalar bool tensor.
        active: scalar bool tensor, the mixture is read this step.
        num_classes: number of classes.

    Returns:
        `(target_logits, losses)`.
    """
    batch = tf.shape(labels)[0]
    target_logits = tf.cond(
        bootstrapping,
        lambda: tf.cast(tf.stop_gradient(forward(images, training=True)), tf.float32),
        lambda: tf.zeros([batch, num_classes], tf.float32),
    )
    losses = tf.cond(
        active,
        lambda: per_sample_cross_entropy(labels, tf.stop_gradient(forward(images, training=False))),
        lambda: tf.zeros([batch], tf.float32),
    )
    return target_logits, losses


def dataset_losses(model, data):
    """Per-sample losses in inference mode over a dataset, in sample order.

    Args:
        model: a Keras model mapping the dataset's inputs to logits.
        data: a `tf.data.Dataset` of `(x, y)` batches where `x` is images or
            a dict with `"image"` and optionally `"index"`.

    Returns:
        `(losses, indices, predicted, labels)` numpy arrays: `indices` are the
        dataset's indices, or positions in iteration order when it has none;
        `predicted` the arg-max classes and `labels` the labels.
    """
    all_losses, all_indices, all_predicted, all_labels, seen = [], [], [], [], 0
    for batch in data:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
        _, index = split_inputs(x)
        logits = model.predict_on_batch(x)
        losses = per_sample_cross_entropy(y, logits).numpy()
        if index is None:
            index = np.arange(seen, seen + losses.size)
        all_losses.append(losses)
        all_indices.append(np.asarray(index).reshape(-1))
        all_predicted.append(np.argmax(np.asarray(logits), axis=-1))
        all_labels.append(flat_labels(y).numpy())
        seen += losses.size
    if not all_losses:
        raise ValueError("The dataset passed for loss tracking is empty.")
    return tuple(np.concatenate(a) for a in (all_losses, all_indices, all_predicted, all_labels))
