"""How many forward passes each train-step arrangement makes, and in which mode."""

import keras
import numpy as np
import pytest
from helpers.xla import assert_step_compiled_by_xla

from keras_bmm import BMMCallback, BootstrappingModel
from keras_bmm.data import eval_pipeline, train_pipeline

N, C, BATCH = 64, 4, 16
STEPS = N // BATCH


class CallCounter(keras.layers.Layer):
    """Identity layer counting its training-mode and inference-mode executions."""

    def build(self, input_shape):
        def counter(name):
            return self.add_weight(
                name=name, shape=(), dtype="int32", initializer="zeros", trainable=False
            )

        self.training_calls = counter("training_calls")
        self.inference_calls = counter("inference_calls")

    def call(self, x, training=False):
        (self.training_calls if training else self.inference_calls).assign_add(1)
        return x


class PassesPerEpoch(keras.callbacks.Callback):
    """Counter deltas over each epoch's train steps (placed before BMMCallback,
    so that the end-of-epoch loss-tracking pass is not counted)."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter
        self.epochs = []

    def _read(self):
        return int(self.counter.training_calls.numpy()), int(self.counter.inference_calls.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.start = self._read()

    def on_epoch_end(self, epoch, logs=None):
        end = self._read()
        self.epochs.append((end[0] - self.start[0], end[1] - self.start[1]))


def run(method, fast, epochs=2, dynamic_epochs=0, **kwargs):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(N, 8)).astype(np.float32)
    labels = rng.integers(0, C, N)
    counter = CallCounter()
    inputs = keras.Input((8,))
    backbone = keras.Model(inputs, keras.layers.Dense(C)(counter(inputs)))
    model = BootstrappingModel(
        backbone,
        method=method,
        num_samples=N,
        warmup_epochs=1,
        dynamic_epochs=dynamic_epochs,
        fast=fast,
        **kwargs,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    passes = PassesPerEpoch(counter)
    tracking = None if fast else eval_pipeline(images, labels, 32, indexed=True)
    model.fit(
        train_pipeline(images, labels, BATCH, seed=0, augment=False, epochs=epochs),
        epochs=epochs,
        steps_per_epoch=STEPS,
        callbacks=[passes, BMMCallback(data=tracking)],
        verbose=0,
    )
    return passes.epochs


@pytest.mark.parametrize("method", ["m-dyr-h", "md-dyr-sh"])
def test_reference_arrangement(method):
    """Warm-up: the mixed pass only. Bootstrapping: a training-mode pass for the
    targets, an inference-mode pass for the posterior, and the mixed pass."""
    warmup, bootstrapping = run(method, fast=False)
    assert warmup == (STEPS, 0)
    assert bootstrapping == (2 * STEPS, STEPS)


def test_reference_dynamic_mixup_reads_the_posterior_only():
    """MD-DYR-SH's dynamic mixup: the inference-mode pass for B and the mixed
    pass, no target pass (the reference's train_mixUp_Beta)."""
    warmup, dynamic, bootstrapping = run("md-dyr-sh", fast=False, epochs=3, dynamic_epochs=1)
    assert (warmup, dynamic, bootstrapping) == ((STEPS, 0), (STEPS, STEPS), (2 * STEPS, STEPS))


@pytest.mark.parametrize("method", ["m-dyr-h", "md-dyr-sh"])
def test_fast_arrangement(method):
    """Every step: one training-mode pass on the un-mixed batch (targets,
    posterior, recorded losses; no gradient) and the mixed pass."""
    assert run(method, fast=True) == [(2 * STEPS, 0), (2 * STEPS, 0)]


def test_target_refresh_skips_the_pass_between_refreshes():
    """target_refresh=3, start at epoch 1 of 6: the warm-up and the epochs 1 and
    4 (every third from the start) and 5 (the last) make the un-mixed pass;
    epochs 2 and 3 train on the mixed pass alone."""
    passes = run("m-dyr-h", fast=True, epochs=6, target_refresh=3)
    fresh, between = (2 * STEPS, 0), (STEPS, 0)
    assert passes == [fresh, fresh, between, between, fresh, fresh]


def test_mixup_baseline_trains_on_mixed_batches_only():
    """The mixup baseline is textbook mixup: its only training-mode pass is
    the mixed one; it records its losses with an inference-mode pass."""
    assert run("mixup", fast=True) == [(STEPS, STEPS), (STEPS, STEPS)]


def test_mixup_baseline_batch_norm_sees_only_the_mixed_batch():
    """One step of the mixup baseline moves batch norm's running mean once,
    by the mixed batch's mean, as textbook mixup does (numpy reference with
    the same lam and permutation, drawn from the same seed)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 1.0, size=(BATCH, 8)).astype(np.float32)
    y = rng.integers(0, C, BATCH)
    inputs = keras.Input((8,))
    norm = keras.layers.BatchNormalization(momentum=0.9)
    backbone = keras.Model(inputs, keras.layers.Dense(C)(norm(inputs)))
    model = BootstrappingModel(backbone, method="mixup", num_samples=BATCH, seed=7)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    model.train_on_batch({"image": x, "index": np.arange(BATCH)}, y)
    generator = keras.random.SeedGenerator(7)
    lam = float(keras.random.beta((), 32.0, 32.0, seed=generator))
    perm = keras.random.shuffle(tf.range(BATCH), seed=generator).numpy()
    mixed = lam * x + (1 - lam) * x[perm]
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.1 * mixed.mean(axis=0), rtol=1e-4)


def test_cross_entropy_makes_one_pass():
    assert run("ce", fast=True) == [(STEPS, 0), (STEPS, 0)]


def test_reference_arrangement_needs_a_tracking_pass():
    inputs = keras.Input((8,))
    model = BootstrappingModel(
        keras.Model(inputs, keras.layers.Dense(C)(inputs)), num_samples=N, fast=False
    )
    model.compile(optimizer="sgd")
    images = np.zeros((N, 8), np.float32)
    with pytest.raises(ValueError, match=r"fast=False.*BMMCallback\(data=...\)"):
        model.fit(
            {"image": images, "index": np.arange(N)},
            np.zeros(N, int),
            callbacks=[BMMCallback()],
            verbose=0,
        )


def test_indexed_eval_pipeline():
    images = np.arange(10 * 3, dtype=np.uint8).reshape(10, 3)
    batches = list(eval_pipeline(images, np.arange(10) % 3, 4, indexed=True))
    assert [b[0]["image"].shape[0] for b in batches] == [4, 4, 2]
    index = np.concatenate([b[0]["index"].numpy() for b in batches])
    np.testing.assert_array_equal(index, np.arange(10))
    np.testing.assert_array_equal(
        np.concatenate([b[0]["image"].numpy() for b in batches]), images.astype(np.float32)
    )
    assert batches[0][0]["image"].dtype == "float32"


@pytest.mark.parametrize(
    "method,fast",
    [("ce", True), ("mixup", True), ("m-dyr-h", True), ("m-dyr-h", False), ("md-dyr-sh", True)],
)
def test_empty_batch_step_is_finite_and_changes_nothing(method, fast):
    """A replica may be handed an empty batch (tf.distribute's partial batches): the
    step, bootstrapping with the regulariser on, logs finite values and leaves the
    weights and the recorded losses as they were (a backbone without batch norm,
    whose statistics an empty batch has none of)."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    images = rng.normal(size=(N, 8)).astype(np.float32)
    labels = rng.integers(0, C, N)
    inputs = keras.Input((8,))
    backbone = keras.Model(inputs, keras.layers.Dense(C)(inputs))
    model = BootstrappingModel(
        backbone, method=method, num_samples=N, warmup_epochs=1, dynamic_epochs=0, fast=fast
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    tracking = None if fast else eval_pipeline(images, labels, 32, indexed=True)
    model.fit(
        train_pipeline(images, labels, BATCH, seed=0),
        epochs=2,
        callbacks=[BMMCallback(data=tracking)],
        verbose=0,
    )
    if method not in ("ce", "mixup"):
        assert bool(model.noise_state.is_fitted()) and int(model.noise_state.epoch) == 1
    weights = [w.numpy() for w in backbone.weights]
    recorded = model.noise_state.recorded_losses()
    # One step on an empty batch whose size, as a replica's, is known only when it runs.
    spec = (
        {"image": tf.TensorSpec((None, 8)), "index": tf.TensorSpec((None,), tf.int32)},
        tf.TensorSpec((None,), tf.int32),
    )
    empty = ({"image": np.zeros((0, 8), np.float32), "index": np.zeros(0, np.int32)}, [])
    batches = tf.data.Dataset.from_generator(lambda: iter([empty]), output_signature=spec)
    model.reset_metrics()
    logs = model.train_function(iter(batches))
    assert np.isfinite([float(v) for v in logs.values()]).all(), logs
    # The trackers' sums too: a strategy adds them up over the replicas, and a NaN
    # weighted by the empty batch's size (0) stays NaN.
    for metric in model.metrics:
        for variable in metric.variables:
            assert np.isfinite(variable.numpy()).all(), variable.path
    for before, after in zip(weights, backbone.weights):
        np.testing.assert_array_equal(before, after.numpy())
    for before, after in zip(recorded, model.noise_state.recorded_losses()):
        np.testing.assert_array_equal(before, after)


def test_running_out_of_data_warns_only_when_steps_were_asked_for():
    """Keras warns "Your input ran out of data" whenever a dataset of unknown length
    ends; that is how each epoch of such a dataset ends, and the warning stays only
    for a number of steps asked for and not delivered."""
    import warnings

    rng = np.random.default_rng(2)
    images = rng.normal(size=(N, 8)).astype(np.float32)
    labels = rng.integers(0, C, N)
    inputs = keras.Input((8,))
    model = BootstrappingModel(
        keras.Model(inputs, keras.layers.Dense(C)(inputs)), method="ce", num_samples=N
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    unknown = train_pipeline(images, labels, BATCH).filter(lambda x, y: True)

    def ran_out(**kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(unknown, verbose=0, callbacks=[BMMCallback()], **kwargs)
            model.evaluate(unknown, verbose=0, steps=kwargs.get("steps_per_epoch"))
        return sum("ran out of data" in str(w.message) for w in caught)

    assert ran_out(epochs=2) == 0
    assert ran_out(epochs=1, steps_per_epoch=STEPS + 1) >= 1


def test_jit_compile_draws_mixup_outside_xla_and_trains_as_without():
    """XLA has no kernel for mixup's Beta sampling: with `jit_compile=True` the draws
    run before the compiled rest of the step, which trains as the uncompiled step
    (the same draws; weights equal up to float rounding), and the saved compile
    config keeps `jit_compile=True`."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(N, 8)).astype(np.float32)
    labels = rng.integers(0, C, N)
    trained = {}
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8,))
        model = BootstrappingModel(
            keras.Model(inputs, keras.layers.Dense(C)(inputs)),
            method="m-dyr-h",
            num_samples=N,
            warmup_epochs=1,
            seed=0,
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=jit)
        model.fit(
            train_pipeline(images, labels, BATCH, seed=0, augment=False, epochs=2),
            epochs=2,
            steps_per_epoch=STEPS,
            callbacks=[BMMCallback()],
            verbose=0,
        )
        state = model.mixup_sampler.seed_generator.state.numpy()
        trained[jit] = [w.numpy() for w in model.trainable_weights] + [state]
        if jit:  # compiled by XLA indeed: without it, the weights would agree as well
            index = np.arange(BATCH, dtype=np.int32)
            assert_step_compiled_by_xla(model, images[:BATCH], labels[:BATCH], index)
    for uncompiled, compiled in zip(trained[False], trained[True]):
        np.testing.assert_allclose(compiled, uncompiled, rtol=1e-5, atol=1e-6)
    assert model.get_compile_config()["jit_compile"] is True
    clone = BootstrappingModel.from_config(model.get_config())
    clone.compile_from_config(model.get_compile_config())
    assert clone.get_compile_config()["jit_compile"] is True
