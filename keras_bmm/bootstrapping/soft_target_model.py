"""`SoftTargetModel`: a Keras model trained on soft targets, with checked steps.

The Keras side of `BootstrappingModel`, apart from the method: the loss of
soft (mixed, bootstrapped) targets against logits, the `loss` and `accuracy`
trackers, an evaluation step on the given labels, and an optimizer step that
runs only once the batch's checks (`guards`) have passed, whose failures
`fit` and `evaluate` turn into clear errors.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings

import keras
import tensorflow as tf

from keras_bmm.bootstrapping import guards, objectives, passes


class SoftTargetModel(keras.Model):
    """A Keras model whose train step builds soft targets; the base of `BootstrappingModel`.

    Subclasses implement `train_step` with `_apply` and `_update_trackers`,
    and `_num_classes`. The loss given to `compile` receives soft targets and
    logits.

    Args:
        weight_decay: coupled L2 weight decay added to the loss (see
            `objectives.coupled_weight_decay`).
        **kwargs: passed on to `keras.Model`.

    Example:

    ```python
    class MyModel(SoftTargetModel):
        def train_step(self, data):
            ...
    ```
    """

    def __init__(self, weight_decay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.weight_decay = float(weight_decay)
        self.target_loss = keras.losses.CategoricalCrossentropy(from_logits=True)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def compile(self, optimizer="sgd", loss=None, metrics=None, jit_compile=False, **kwargs):
        """Like `keras.Model.compile`, with the defaults this model needs.

        `loss` is the loss of soft targets against logits; it defaults to
        `keras.losses.CategoricalCrossentropy(from_logits=True)`. A string
        name is refused: `"categorical_crossentropy"` would read the logits
        as probabilities. The model tracks `loss` and `accuracy` itself, so
        `metrics` may only be `None` or `["accuracy"]`. `jit_compile`
        defaults to False (XLA has no kernel for the Beta sampling of mixup;
        `BootstrappingModel.compile` compiles the rest of a mixup step).
        """
        if isinstance(loss, str):
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
        self.target_loss = loss or keras.losses.CategoricalCrossentropy(from_logits=True)
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config:
            config["loss"] = keras.saving.serialize_keras_object(self.target_loss)
        return config

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # The one private Keras method overridden here (tests/test_keras_internals.py
        # fails if Keras changes it). Before training under a tf.distribute
        # strategy, Keras builds the model from a sample batch that it reduces
        # with `strategy.reduce("MEAN", batch)`, which takes no dict: dict
        # inputs fail under MultiWorkerMirroredStrategy. Only shapes matter,
        # so hand Keras one replica's batch instead.
        if iterator is not None and data_batch is None:
            strategy = self.distribute_strategy
            for *_, batches in iterator:  # (step, [end step,] iterator)
                data_batch = tf.nest.map_structure(
                    lambda v: (
                        strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues)
                        else v
                    ),
                    next(batches),
                )
                break
        return super()._maybe_symbolic_build(data_batch=data_batch)

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    @guards.raising_clear_errors
    def fit(self, *args, **kwargs):
        """`keras.Model.fit`; a bad label or input, or a diverging loss, stops
        training at the first bad sample with a `ValueError` naming it.

        An epoch of a dataset of unknown length ends when its data does, without
        Keras's "ran out of data" warning unless `steps_per_epoch` was given.
        """
        steps = _arguments(keras.Model.fit, self, args, kwargs)
        with _ending_data_expected(steps.get("steps_per_epoch"), steps.get("validation_steps")):
            return super().fit(*args, **kwargs)

    @guards.raising_clear_errors
    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`, with the clear errors of `fit`."""
        steps = _arguments(keras.Model.evaluate, self, args, kwargs).get("steps")
        with _ending_data_expected(steps):
            return super().evaluate(*args, **kwargs)

    def test_step(self, data):
        images, index, labels, sample_weight = passes.unpack_batch(data)
        with tf.control_dependencies(
            [guards.check_labels(labels, self._num_classes(images), index)]
        ):
            labels = tf.identity(labels)
        logits = self(images, training=False)
        one_hot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
        loss = self.target_loss(one_hot, logits, sample_weight=sample_weight)
        return self._update_trackers(loss, labels, logits, sample_weight)

    # Step helpers.

    def _num_classes(self, images) -> int:
        spec = self.backbone.compute_output_spec(keras.KerasTensor(images.shape, images.dtype))
        return int(spec.shape[-1])

    def _replicas(self) -> int:
        return tf.distribute.get_strategy().num_replicas_in_sync

    def _extra_losses(self, dtype):
        """The backbone's own regularisation losses and the coupled weight decay,
        scaled per replica as Keras scales the compiled loss."""
        extra = [tf.cast(loss, tf.float32) for loss in self.losses]
        if self.weight_decay:
            extra.append(objectives.coupled_weight_decay(self.trainable_weights, self.weight_decay))
        if not extra:
            return tf.zeros((), dtype)
        return tf.cast(tf.add_n(extra) / self._replicas(), dtype)

    def _apply(self, tape, scaled_loss, checks):
        """The optimizer step, only once every check of the batch has passed."""
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        with tf.control_dependencies(checks):
            gradients = [tf.identity(g) if g is not None else None for g in gradients]
        self.optimizer.apply(gradients, self.trainable_weights)

    def _update_trackers(self, loss, labels, logits, sample_weight):
        self.loss_tracker.update_state(loss * self._replicas(), sample_weight=tf.shape(labels)[0])
        self.accuracy_tracker.update_state(labels, logits, sample_weight=sample_weight)
        logs = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker step outputs with a collective mean
            # over axis 0, which scalars lack: hand it shape-(1,) values.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


def _arguments(method, model, args, kwargs) -> dict:
    """The arguments a call of a `keras.Model` method was given, by name."""
    return inspect.signature(method).bind_partial(model, *args, **kwargs).arguments


@contextlib.contextmanager
def _ending_data_expected(*steps):
    """Keras's "Your input ran out of data" silenced when no number of steps was asked for.

    A dataset of unknown length (the one-epoch pipelines of `skip_bad_files`
    or of a `tf.distribute` strategy's replicas) ends each epoch by running
    out, and Keras 3 up to at least 3.15 then warns at every epoch that it
    ran out of data, with advice (`steps_per_epoch * epochs`, `.repeat()`)
    that applies only to a number of steps asked for. Keras later warns
    only then (keras-team/keras#23360); this follows that rule.
    """
    with warnings.catch_warnings():
        if all(s is None for s in steps):
            warnings.filterwarnings("ignore", message="Your input ran out of data")
        yield
