"""`BootstrappingModel`: mixup with BMM-guided dynamic bootstrapping in `train_step`."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_bmm import losses as bmm_losses
from keras_bmm.mixture import TABLE_SIZE, normalize_losses, table_lookup

METHODS = ("ce", "mixup", "m-dyr-h", "m-dyr-s", "md-dyr-sh")
BOOTSTRAP_MODES = {"m-dyr-h": "hard", "m-dyr-s": "soft", "md-dyr-sh": "soft"}


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


def _flat_labels(y):
    return tf.reshape(tf.cast(y, tf.int32), [-1])


def _multi_worker(strategy) -> bool:
    extended = getattr(strategy, "extended", None)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        getattr(extended, "_in_multi_worker_mode", lambda: False)()
    )


def per_sample_cross_entropy(labels, logits):
    """Per-sample cross-entropy in float32 (reduction none)."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_flat_labels(labels), logits=tf.cast(logits, tf.float32)
    )


@keras.saving.register_keras_serializable(package="keras_bmm")
class BootstrappingModel(keras.Model):
    """Wraps a logits classifier and trains it with the paper's methods.

    `method` selects the objective of `train_step`:

    - `"ce"`: cross-entropy on the given labels (baseline).
    - `"mixup"`: mixup with `lam ~ Beta(mixup_alpha, mixup_alpha)` (baseline,
      and the warm-up of the bootstrapping methods).
    - `"m-dyr-h"`: mixup plus dynamic hard bootstrapping (M-DYR-H): each
      sample's target is `(1 - B) * y + B * z`, with `z` the one-hot arg-max
      of the network's own prediction on the un-mixed input and `B` the
      beta mixture's p(noisy | loss), plus `reg_weight` times the
      class-balance regulariser.
    - `"m-dyr-s"`: the same with the softmax prediction as `z` (M-DYR-S).
    - `"md-dyr-sh"`: dynamic mixup, then soft-to-hard bootstrapping
      (MD-DYR-SH). For `dynamic_epochs` epochs after the warm-up, sample `i`
      enters the mixed input with weight `w_i = (1 - B_i) / (2 - B_i - B_j)`
      (its partner `j` with `1 - w_i`), so a likely-noisy sample is mostly
      replaced by its partner; the targets are the given labels. After that,
      the same dynamic mixing of soft bootstrapped targets whose softmax
      temperature falls linearly from 1 to `final_temperature` over
      `temperature_epochs` epochs (then stays), plus the regulariser. The
      targets are mixed with the same weights `w_i` as the inputs; the
      reference code instead weights the two targets 0.5/0.5 in the
      soft-to-hard phase and by a fresh `lam ~ Beta(32, 32)` in the dynamic
      phase, so that its target does not describe the mixed input.

    Bootstrapping starts at epoch `warmup_epochs` (0-based) once a
    `keras_bmm.BMMCallback` has fitted a mixture; before that the
    bootstrapping methods train with plain mixup, as in the paper.

    Per train step, `fast=True` (the default) runs one training-mode
    forward pass on the un-mixed batch (no gradient) that gives the targets
    `z`, the per-sample losses that `B` is read from, and the losses recorded
    for the next mixture fit; then the mixed pass with gradients. Training
    mode normalises with the un-mixed batch's own statistics and keeps
    batch-norm's running statistics close to un-mixed images, as the
    reference's training-mode target pass does (an inference-mode pass here,
    normalising with statistics of mixed images only, cost 16 points of
    accuracy on the `cpu` protocol).
    `fast=False` arranges the passes as the reference code does: plain
    mixup (one pass) during the warm-up, an inference-mode pass for `B` and
    the mixed pass during MD-DYR-SH's dynamic mixup, and while bootstrapping
    also a training-mode pass for `z` (which updates batch-norm statistics).
    It records no losses, so the mixture is fitted on a separate pass over
    the training set after each epoch
    (`BMMCallback(data=...)`). The `"ce"` baseline makes no extra pass: it
    records the training-mode losses of its own forward pass.

    The mixture's posterior table, its parameters and the loss normalisation
    bounds live in non-trainable weights, so they are saved and restored
    with the model's weights and checkpoints.

    Training inputs are either images, or a dict `{"image": ..., "index": ...}`
    whose `index` is each sample's position in the training set: with
    indices and `num_samples` set, the train step records every sample's loss
    for `BMMCallback()`. Labels are integer class indices. The compiled loss
    receives soft targets (mixed, bootstrapped distributions) and logits; it
    defaults to `keras.losses.CategoricalCrossentropy(from_logits=True)`.

    Args:
        backbone: a Keras model mapping images to logits `(batch, C)`.
        method: one of `"ce"`, `"mixup"`, `"m-dyr-h"`, `"m-dyr-s"`, `"md-dyr-sh"`.
        num_samples: number of training samples, to record per-sample losses
            by index during training. `None` records nothing (then pass
            `data=` to `BMMCallback`).
        mixup_alpha: `alpha` of the Beta distribution of mixup's `lam`.
        reg_weight: weight of the class-balance regulariser.
        warmup_epochs: epochs of plain mixup before bootstrapping starts.
        weight_decay: coupled L2 weight decay, as in PyTorch's SGD (the
            paper's 1e-4): `weight_decay / 2 * sum(w**2)` over all trainable
            weights is added to the loss, so its gradient is
            `weight_decay * w`. (Keras optimizers' own `weight_decay` is
            decoupled and, with momentum 0.9, about 10x weaker.)
        dynamic_epochs: MD-DYR-SH only: epochs of dynamic mixup after the
            warm-up, before soft-to-hard bootstrapping.
        temperature_epochs: MD-DYR-SH only: epochs over which the
            temperature falls from 1 to `final_temperature`.
        final_temperature: MD-DYR-SH only: the last temperature.
        posterior_clip: `B` is clipped into `[posterior_clip, 1 - posterior_clip]`
            while bootstrapping, as in the reference code.
        fast: one training-mode pass per batch (no gradient) for targets,
            posterior and recorded losses (`True`), or the reference code's passes
            (`False`; needs `BMMCallback(data=...)`).
        seed: seed of the `keras.random.SeedGenerator` for mixup.
        **kwargs: passed on to `keras.Model`.

    Example:

    >>> model = keras_bmm.BootstrappingModel(backbone, method="m-dyr-h",
    ...                                      num_samples=len(y_train), warmup_epochs=10)
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    >>> model.fit({"image": x_train, "index": np.arange(len(y_train))}, y_train,
    ...           epochs=30, callbacks=[keras_bmm.BMMCallback()])

    Reference:
        Arazo, Ortego, Albert, O'Connor, McGuinness. "Unsupervised Label Noise
        Modeling and Loss Correction", ICML 2019.
    """

    def __init__(
        self,
        backbone: keras.Model,
        method: str = "m-dyr-h",
        num_samples: int | None = None,
        mixup_alpha: float = 32.0,
        reg_weight: float = 1.0,
        warmup_epochs: int = 10,
        weight_decay: float = 0.0,
        dynamic_epochs: int = 5,
        temperature_epochs: int = 89,
        final_temperature: float = 1e-3,
        posterior_clip: float = 1e-4,
        fast: bool = True,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; expected one of {METHODS}.")
        if num_samples is not None and int(num_samples) < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples}.")
        if not mixup_alpha > 0:
            raise ValueError(f"mixup_alpha must be > 0, got {mixup_alpha}.")
        if not reg_weight >= 0:
            raise ValueError(f"reg_weight must be >= 0, got {reg_weight}.")
        if int(warmup_epochs) < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}.")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
        if int(dynamic_epochs) < 0 or int(temperature_epochs) < 1:
            raise ValueError(
                f"dynamic_epochs must be >= 0 and temperature_epochs >= 1, got "
                f"{dynamic_epochs} and {temperature_epochs}."
            )
        if not 0 < final_temperature <= 1:
            raise ValueError(f"final_temperature must be in (0, 1], got {final_temperature}.")
        self.backbone = backbone
        self.method = method
        self.num_samples = None if num_samples is None else int(num_samples)
        self.mixup_alpha = float(mixup_alpha)
        self.reg_weight = float(reg_weight)
        self.warmup_epochs = int(warmup_epochs)
        self.weight_decay = float(weight_decay)
        self.dynamic_epochs = int(dynamic_epochs)
        self.temperature_epochs = int(temperature_epochs)
        self.final_temperature = float(final_temperature)
        self.posterior_clip = float(posterior_clip)
        self.fast = bool(fast)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Saved with the weights, so that a resumed run draws the same mixup
        # lambdas and permutations as an uninterrupted one.
        self._track_variable(self.seed_generator.state)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

        def state(name, shape, dtype="float32", initializer="zeros"):
            return self.add_weight(
                name=name,
                shape=shape,
                dtype=dtype,
                initializer=initializer,
                trainable=False,
                autocast=False,
            )

        self.bmm_table = state("bmm_posterior_table", (TABLE_SIZE,))
        self.bmm_parameters = state("bmm_parameters", (3, 2))  # alphas, betas, weights
        self.bmm_bounds = state(
            "bmm_loss_bounds", (2,), initializer=keras.initializers.Constant([0.0, 1.0])
        )
        self.bmm_fitted = state("bmm_fitted", (), dtype="int32")
        self.epoch = state("epoch", (), dtype="int32")
        if self.num_samples is not None:
            # Summed across replicas and workers when read (ON_READ, SUM): each
            # replica adds the losses of the samples it saw; a read in the
            # callback all-reduces them, so every worker fits the same mixture.
            self.sample_losses = keras.Variable(
                np.zeros(self.num_samples, np.float32),
                trainable=False,
                aggregation="sum",
                synchronization="on_read",
                name="sample_losses",
            )
            self.sample_counts = keras.Variable(
                np.zeros(self.num_samples, np.int32),
                trainable=False,
                aggregation="sum",
                synchronization="on_read",
                name="sample_counts",
            )

    # ------------------------------------------------------------------
    # Keras plumbing.

    def build(self, input_shape=None):
        if not self.backbone.built and input_shape is not None:
            self.backbone.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        images, _ = split_inputs(inputs)
        return self.backbone(images, training=training)

    def compile(self, optimizer="sgd", loss=None, metrics=None, jit_compile=False, **kwargs):
        """Like `keras.Model.compile`, with the defaults this model needs.

        `loss` defaults to `keras.losses.CategoricalCrossentropy(from_logits=True)`;
        it receives soft targets and logits, so a loss given here must accept
        both (a string name is refused, since `"categorical_crossentropy"`
        would read the logits as probabilities). The model tracks `loss` and
        `accuracy` itself: `metrics` may only be `None` or `["accuracy"]`.
        `jit_compile` defaults to False: XLA cannot compile the Beta sampling
        of mixup's lambda (`StatelessRandomGammaV3`).
        """
        if loss is None:
            loss = keras.losses.CategoricalCrossentropy(from_logits=True)
        elif isinstance(loss, str):
            raise ValueError(
                f"BootstrappingModel.compile(loss={loss!r}): pass a loss object that takes soft "
                "targets and logits, e.g. keras.losses.CategoricalCrossentropy(from_logits=True), "
                "or leave loss unset."
            )
        if metrics not in (None, [], ["accuracy"], ("accuracy",), "accuracy"):
            raise ValueError(
                "BootstrappingModel tracks 'loss' and 'accuracy' itself; other compiled "
                f"metrics are not supported (got metrics={metrics!r})."
            )
        super().compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile, **kwargs)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras builds the compiled loss from a sample batch before training
        # under a tf.distribute strategy, reducing the per-replica batch with a
        # collective "MEAN", which fails for dict inputs under
        # MultiWorkerMirroredStrategy. Only shapes matter: take one replica's.
        if self._distribute_strategy is None or iterator is None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = tf.nest.map_structure(
                lambda v: (
                    self.distribute_strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v
                ),
                next(it),
            )
            break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _symbolic_build(self, iterator=None, data_batch=None):
        # The compiled loss receives soft targets: build it with one-hot labels
        # of the right shape rather than the class indices.
        if data_batch is not None:
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data_batch)
            if y is not None:
                images, _ = split_inputs(x)
                num_classes = self.backbone.compute_output_spec(images).shape[-1]
                y = tf.one_hot(_flat_labels(y), num_classes)
                data_batch = (x, y) if sample_weight is None else (x, y, sample_weight)
        return super()._symbolic_build(iterator=iterator, data_batch=data_batch)

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    @property
    def uses_bmm(self) -> bool:
        """Whether the method needs a fitted beta mixture (bootstrapping)."""
        return self.method in BOOTSTRAP_MODES

    def fit(self, *args, **kwargs):
        from keras_bmm.callback import BMMCallback

        callbacks = kwargs.get("callbacks") or []
        if self.uses_bmm and not any(isinstance(c, BMMCallback) for c in callbacks):
            raise ValueError(
                f"method={self.method!r} bootstraps with a beta mixture fitted at each epoch's "
                "end: pass callbacks=[keras_bmm.BMMCallback()] to fit()."
            )
        return super().fit(*args, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "method": self.method,
            "num_samples": self.num_samples,
            "mixup_alpha": self.mixup_alpha,
            "reg_weight": self.reg_weight,
            "warmup_epochs": self.warmup_epochs,
            "weight_decay": self.weight_decay,
            "dynamic_epochs": self.dynamic_epochs,
            "temperature_epochs": self.temperature_epochs,
            "final_temperature": self.final_temperature,
            "posterior_clip": self.posterior_clip,
            "fast": self.fast,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    # ------------------------------------------------------------------
    # The noise model, as the train step reads it.

    def bootstrapping_active(self):
        """Scalar bool tensor: past warm-up and a mixture has been fitted."""
        return tf.logical_and(
            tf.convert_to_tensor(self.epoch) >= self.warmup_epochs,
            tf.convert_to_tensor(self.bmm_fitted) > 0,
        )

    def noise_posterior(self, losses):
        """p(noisy | loss) from the last fitted mixture, for raw per-sample losses."""
        normalized = normalize_losses(tf.cast(losses, tf.float32), self.bmm_bounds)
        return table_lookup(tf.convert_to_tensor(self.bmm_table), normalized)

    def set_noise_model(self, mixture, bounds) -> None:
        """Stores a fitted `BetaMixture` and its normalisation bounds in the weights."""
        self.bmm_table.assign(np.asarray(mixture.table, np.float32))
        self.bmm_parameters.assign(
            np.stack([mixture.alphas, mixture.betas, mixture.weights]).astype(np.float32)
        )
        self.bmm_bounds.assign(np.asarray(bounds, np.float32))
        self.bmm_fitted.assign(1)

    def reset_sample_losses(self) -> None:
        """Forgets the recorded losses, at the start of an epoch."""
        if self.num_samples is not None:
            self.sample_losses.assign(np.zeros(self.num_samples, np.float32))
            self.sample_counts.assign(np.zeros(self.num_samples, np.int32))

    def recorded_losses(self):
        """Returns `(losses, counts)` recorded since the last reset, as numpy arrays.

        Summed over all replicas and workers; a sample recorded more than
        once in the epoch gets the mean of its losses.
        """
        if self.num_samples is None:
            raise ValueError("This model records no losses: it was built without num_samples.")
        losses = keras.ops.convert_to_numpy(self.sample_losses)
        counts = keras.ops.convert_to_numpy(self.sample_counts)
        return losses / np.maximum(counts, 1), counts

    def _record(self, index, losses):
        if index is None or self.num_samples is None:
            return
        index = tf.reshape(tf.cast(index, tf.int32), [-1, 1])
        checks = [
            tf.debugging.assert_non_negative(index, message="Sample index below 0."),
            tf.debugging.assert_less(
                index,
                self.num_samples,
                message=f"Sample index out of range: must be < num_samples={self.num_samples}.",
            ),
        ]
        with tf.control_dependencies(checks):
            size = [self.num_samples]
            self.sample_losses.assign_add(tf.scatter_nd(index, tf.cast(losses, tf.float32), size))
            self.sample_counts.assign_add(tf.scatter_nd(index, tf.ones_like(index[:, 0]), size))

    def _inputs(self, data):
        """Unpacks a batch into float images, index, checked int labels, weights."""
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
        return images, index, _flat_labels(y), sample_weight

    def _check_labels(self, labels, num_classes):
        return [
            tf.debugging.assert_non_negative(labels, message="Label below 0."),
            tf.debugging.assert_less(
                labels,
                tf.cast(num_classes, labels.dtype),
                message="Label out of range: must be < the number of classes (model outputs).",
            ),
        ]

    def _update_trackers(self, loss, labels, logits, sample_weight):
        strategy = tf.distribute.get_strategy()
        self.loss_tracker.update_state(
            loss * strategy.num_replicas_in_sync, sample_weight=tf.shape(labels)[0]
        )
        self.accuracy_tracker.update_state(labels, logits, sample_weight=sample_weight)
        logs = {m.name: m.result() for m in self.metrics}
        if _multi_worker(strategy):
            # Keras reduces multi-worker step outputs with a collective mean
            # over axis 0, which scalars lack: hand it shape-(1,) values.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    # ------------------------------------------------------------------
    # Steps.

    def _weight_decay_loss(self):
        if not self.weight_decay:
            return 0.0
        squares = [tf.reduce_sum(tf.square(tf.cast(w, tf.float32))) for w in self.trainable_weights]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return 0.5 * self.weight_decay * tf.add_n(squares) / replicas

    def _phases(self):
        """Scalar bools `(bootstrapping, dynamic_mixup)` and the soft temperature."""
        active = self.bootstrapping_active()
        if self.method != "md-dyr-sh":
            return active, tf.constant(False), 1.0
        since = tf.convert_to_tensor(self.epoch) - self.warmup_epochs - self.dynamic_epochs
        bootstrapping = tf.logical_and(active, since >= 0)
        step = tf.cast(tf.clip_by_value(since, 0, self.temperature_epochs - 1), tf.float32)
        fraction = step / max(self.temperature_epochs - 1, 1)
        temperature = 1.0 + (self.final_temperature - 1.0) * fraction
        return bootstrapping, active, temperature

    def _num_classes(self, images) -> int:
        spec = self.backbone.compute_output_spec(keras.KerasTensor(images.shape, images.dtype))
        return int(spec.shape[-1])

    def _reference_passes(self, images, labels, bootstrapping, active, num_classes):
        """The reference code's extra passes, each only in the phase that uses it.

        While bootstrapping, a training-mode pass (no gradient; it updates
        batch-norm statistics, as the reference's does) gives the bootstrap
        targets; whenever the mixture is in use (bootstrapping or dynamic
        mixup), an inference-mode pass gives the losses the posterior is read
        from. Zeros stand in for a pass that is not run.
        """
        batch = tf.shape(labels)[0]
        target_logits = tf.cond(
            bootstrapping,
            lambda: tf.cast(tf.stop_gradient(self(images, training=True)), tf.float32),
            lambda: tf.zeros([batch, num_classes], tf.float32),
        )
        losses = tf.cond(
            active,
            lambda: per_sample_cross_entropy(
                labels, tf.stop_gradient(self(images, training=False))
            ),
            lambda: tf.zeros([batch], tf.float32),
        )
        return target_logits, losses

    def train_step(self, data):
        images, index, labels, sample_weight = self._inputs(data)
        if self.method == "ce":
            with tf.GradientTape() as tape:
                logits = self(images, training=True)
                num_classes = tf.shape(logits)[-1]
                with tf.control_dependencies(self._check_labels(labels, num_classes)):
                    one_hot = tf.one_hot(labels, num_classes, dtype=logits.dtype)
                loss = self.compute_loss(
                    x=images, y=one_hot, y_pred=logits, sample_weight=sample_weight
                )
                loss = loss + tf.cast(self._weight_decay_loss(), loss.dtype)
                scaled_loss = self.optimizer.scale_loss(loss)
            gradients = tape.gradient(scaled_loss, self.trainable_weights)
            self.optimizer.apply(gradients, self.trainable_weights)
            predictions = tf.stop_gradient(logits)
            self._record(index, per_sample_cross_entropy(labels, predictions))
            return self._update_trackers(loss, labels, predictions, sample_weight)

        num_classes = self._num_classes(images)
        with tf.control_dependencies(self._check_labels(labels, num_classes)):
            targets = tf.one_hot(labels, num_classes, dtype=tf.float32)
        bootstrapping, dynamic, temperature = self._phases()
        lam = keras.random.beta((), self.mixup_alpha, self.mixup_alpha, seed=self.seed_generator)
        batch = tf.shape(labels)[0]
        permutation = keras.random.shuffle(tf.range(batch), seed=self.seed_generator)
        predictions = None
        if self.fast:
            # One training-mode pass on the un-mixed batch (no gradient):
            # targets, posterior and recorded losses.
            predictions = tf.stop_gradient(self(images, training=True))
            clean_losses = per_sample_cross_entropy(labels, predictions)
            target_logits = tf.cast(predictions, tf.float32)
            self._record(index, clean_losses)
        elif self.uses_bmm:
            target_logits, clean_losses = self._reference_passes(
                images, labels, bootstrapping, tf.logical_or(bootstrapping, dynamic), num_classes
            )
        if self.uses_bmm:
            b = tf.clip_by_value(
                self.noise_posterior(clean_losses), self.posterior_clip, 1.0 - self.posterior_clip
            )
            bootstrapped = bmm_losses.bootstrap_targets(
                targets, target_logits, b, BOOTSTRAP_MODES[self.method], temperature
            )
            targets = tf.where(bootstrapping, bootstrapped, targets)
            if self.method == "md-dyr-sh":
                dynamic_lam = bmm_losses.dynamic_mixup_weights(b, permutation)
                lam = tf.where(dynamic, dynamic_lam, tf.fill([batch], lam))
        if sample_weight is not None:
            # CE is linear in its target: weighting the targets weights each half.
            targets = targets * tf.reshape(tf.cast(sample_weight, tf.float32), [-1, 1])
        mixed_images = bmm_losses.mix(images, permutation, lam)
        mixed_targets = bmm_losses.mix(targets, permutation, lam)
        with tf.GradientTape() as tape:
            logits = self(mixed_images, training=True)
            loss = self.compute_loss(x=mixed_images, y=mixed_targets, y_pred=logits)
            if self.uses_bmm and self.reg_weight > 0:
                reg = bmm_losses.class_balance_regularizer(tf.nn.softmax(logits))
                reg = reg * tf.cast(bootstrapping, reg.dtype) * self.reg_weight
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                loss = loss + tf.cast(reg, loss.dtype) / replicas
            loss = loss + tf.cast(self._weight_decay_loss(), loss.dtype)
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        if predictions is None:
            # No un-mixed pass: score the mixed pass against each input's larger part.
            weights = tf.broadcast_to(tf.reshape(lam, [-1]), [batch])
            labels = tf.where(weights >= 0.5, labels, tf.gather(labels, permutation))
            predictions = tf.stop_gradient(logits)
        return self._update_trackers(loss, labels, predictions, sample_weight)

    def test_step(self, data):
        images, _, labels, sample_weight = self._inputs(data)
        logits = self(images, training=False)
        num_classes = tf.shape(logits)[-1]
        with tf.control_dependencies(self._check_labels(labels, num_classes)):
            one_hot = tf.one_hot(labels, num_classes, dtype=logits.dtype)
        loss = self.compute_loss(
            x=images, y=one_hot, y_pred=logits, sample_weight=sample_weight, training=False
        )
        return self._update_trackers(loss, labels, logits, sample_weight)

    @tf.function(reduce_retracing=True)
    def _inference_losses(self, images, labels):
        return per_sample_cross_entropy(labels, self(images, training=False))

    def sample_losses_of(self, data):
        """Per-sample losses in inference mode over a dataset, in sample order.

        Args:
            data: a `tf.data.Dataset` of `(x, y)` batches where `x` is images or
                a dict with `"image"` and optionally `"index"`.

        Returns:
            `(losses, indices)` numpy arrays; `indices` are the datasets's
            indices, or positions in iteration order when it has none.
        """
        all_losses, all_indices, seen = [], [], 0
        for batch in data:
            x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
            images, index = split_inputs(x)
            losses = self._inference_losses(images, y)
            losses = losses.numpy()
            if index is None:
                index = np.arange(seen, seen + losses.size)
            all_losses.append(losses)
            all_indices.append(np.asarray(index).reshape(-1))
            seen += losses.size
        if not all_losses:
            raise ValueError("The dataset passed for loss tracking is empty.")
        return np.concatenate(all_losses), np.concatenate(all_indices)
