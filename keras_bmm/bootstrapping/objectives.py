"""The pieces of the method's objective: bootstrapped targets, mixup, regulariser.

Cross-entropy is linear in its target distribution, so the paper's bootstrapped
mixup loss

    lam * [(1-B_i) CE(y_i) + B_i CE(z_i)] + (1-lam) * [(1-B_j) CE(y_j) + B_j CE(z_j)]

equals the cross-entropy of the mixed input's prediction against the single
soft target `lam * t_i + (1-lam) * t_j`, with `t = (1-B) y + B z`. The train
step builds that target with `bootstrap_targets` and `mix`, and hands it to
the target loss (categorical cross-entropy on logits by default).
"""

from __future__ import annotations

import tensorflow as tf


def flat_labels(labels) -> tf.Tensor:
    """Integer class indices of shape `(batch,)` or `(batch, 1)` as a flat int32 tensor."""
    return tf.reshape(tf.cast(labels, tf.int32), [-1])


def per_sample_cross_entropy(labels, logits) -> tf.Tensor:
    """Per-sample cross-entropy of logits against class indices, in float32.

    Args:
        labels: integer class indices, `(batch,)` or `(batch, 1)`.
        logits: `(batch, C)` logits (any float dtype).

    Returns:
        A float32 tensor `(batch,)`.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=flat_labels(labels), logits=tf.cast(logits, tf.float32)
    )


def bootstrap_targets(labels_one_hot, logits, noise_posterior, mode: str, temperature=1.0):
    """Per-sample targets `(1 - B) * y + B * z` of dynamic bootstrapping.

    Args:
        labels_one_hot: `(batch, C)` one-hot given (possibly noisy) labels `y`.
        logits: `(batch, C)` network logits on the un-mixed inputs; gradients
            are stopped here.
        noise_posterior: `(batch,)` p(noisy | loss) per sample, `B`.
        mode: `"hard"` (z = one-hot arg-max prediction, M-DYR-H) or `"soft"`
            (z = softmax prediction, M-DYR-S).
        temperature: softmax temperature for `"soft"` mode.

    Returns:
        A `(batch, C)` tensor whose rows sum to 1.
    """
    logits = tf.stop_gradient(tf.cast(logits, labels_one_hot.dtype))
    if mode == "hard":
        num_classes = tf.shape(labels_one_hot)[-1]
        z = tf.one_hot(tf.argmax(logits, axis=-1), num_classes, dtype=labels_one_hot.dtype)
    elif mode == "soft":
        z = tf.nn.softmax(logits / temperature, axis=-1)
    else:
        raise ValueError(f"Unknown bootstrapping mode {mode!r}; expected 'hard' or 'soft'.")
    b = tf.cast(noise_posterior, labels_one_hot.dtype)[:, None]
    return (1.0 - b) * labels_one_hot + b * z


def mix(values, permutation, lam):
    """Mixup of a batch with a permutation of itself: `lam * v + (1 - lam) * v[perm]`.

    Args:
        values: tensor with the batch on axis 0.
        permutation: `(batch,)` int permutation of the batch.
        lam: scalar mixing weight, or `(batch,)` weights, one per sample.

    Returns:
        The mixed tensor, same shape and dtype as `values`.
    """
    lam = tf.cast(lam, values.dtype)
    if lam.shape.rank == 1:
        lam = tf.reshape(lam, tf.concat([[-1], tf.ones([tf.rank(values) - 1], tf.int32)], 0))
    return lam * values + (1.0 - lam) * tf.gather(values, permutation)


def dynamic_mixup_weights(noise_posterior, permutation):
    """Per-sample weights of dynamic mixup: `(1 - B_i) / (2 - B_i - B_j)`, `j = perm[i]`.

    The likelier-noisy of the two samples gets the smaller weight; two
    equally (un)trusted samples are mixed half and half.

    Args:
        noise_posterior: `(batch,)` p(noisy | loss), clipped away from 0 and 1.
        permutation: `(batch,)` partner of each sample.

    Returns:
        `(batch,)` weights in (0, 1) of each sample against its partner.
    """
    clean = 1.0 - tf.convert_to_tensor(noise_posterior)
    return clean / (clean + tf.gather(clean, permutation))


def reference_target_weight(lam, bootstrapping):
    """The reference code's weight of each target half in MD-DYR-SH.

    Its inputs are mixed by `dynamic_mixup_weights`, but its targets are not:
    during dynamic mixup they are weighted by a fresh `lam ~ Beta(32, 32)`
    (`mixup_criterion_beta`), and during soft-to-hard bootstrapping by 0.5
    each (`mixup_criterion_SoftHard`).

    Args:
        lam: a scalar `lam` drawn from mixup's Beta distribution.
        bootstrapping: scalar bool tensor, soft-to-hard bootstrapping is on.

    Returns:
        The scalar weight of each sample's own target.
    """
    return tf.where(bootstrapping, tf.constant(0.5, lam.dtype), lam)


def mixup_weights(method: str, lam, noise_posterior, permutation, phase, dynamic_targets: str):
    """The weights that mix a batch's inputs and its targets with their partners.

    Plain mixup mixes both with the scalar `lam`. MD-DYR-SH's dynamic mixup
    (while `phase.dynamic_mixup`) mixes the inputs with
    `dynamic_mixup_weights`; its targets follow the inputs
    (`dynamic_targets="input"`) or `reference_target_weight`
    (`"reference"`).

    Args:
        method: the method's name.
        lam: the scalar `lam` drawn for the batch.
        noise_posterior: `(batch,)` clipped p(noisy), `B`.
        permutation: `(batch,)` partner of each sample.
        phase: the step's `keras_bmm.bootstrapping.schedule.Phase`.
        dynamic_targets: `"input"` or `"reference"`.

    Returns:
        `(input_weights, target_weights)`, each a scalar or `(batch,)`.
    """
    if method != "md-dyr-sh":
        return lam, lam
    plain = tf.fill(tf.shape(noise_posterior), lam)
    inputs = tf.where(
        phase.dynamic_mixup, dynamic_mixup_weights(noise_posterior, permutation), plain
    )
    if dynamic_targets == "reference":
        own = reference_target_weight(lam, phase.bootstrapping)
        return inputs, tf.where(phase.dynamic_mixup, own, lam)
    return inputs, inputs


def coupled_weight_decay(weights, weight_decay: float):
    """`weight_decay / 2 * sum(w**2)`: L2 in the loss, as PyTorch's SGD applies decay.

    Its gradient is `weight_decay * w`. (Keras optimizers' own `weight_decay`
    is decoupled and, at momentum 0.9, about ten times weaker for the same
    number.)
    """
    squares = [tf.reduce_sum(tf.square(tf.cast(w, tf.float32))) for w in weights]
    return 0.5 * weight_decay * tf.add_n(squares)


def class_balance_regularizer(probabilities):
    """The paper's regulariser against predicting a single class.

    `sum_c (1/C) * log((1/C) / mean_prediction_c)`, the KL divergence from the
    uniform prior to the batch's mean prediction, for any number of classes C.

    Args:
        probabilities: `(batch, C)` softmax predictions.

    Returns:
        A scalar tensor (float32, or float64 for float64 input), 0 when the
        mean prediction is uniform, and 0 for an empty batch (a replica's
        share of a step may be empty).
    """
    probabilities = tf.convert_to_tensor(probabilities)
    dtype = tf.float64 if probabilities.dtype == tf.float64 else tf.float32
    probabilities = tf.cast(probabilities, dtype)
    num_classes = tf.cast(tf.shape(probabilities)[-1], dtype)
    count = tf.cast(tf.shape(probabilities)[0], dtype)
    prior = 1.0 / num_classes
    # A guarded mean: reduce_mean of no rows is 0/0.
    mean = tf.reduce_sum(probabilities, axis=0) / tf.maximum(count, 1.0)
    mean = tf.maximum(mean, 1e-12)
    divergence = tf.reduce_sum(prior * (tf.math.log(prior) - tf.math.log(mean)))
    return tf.where(count > 0, divergence, tf.zeros_like(divergence))
