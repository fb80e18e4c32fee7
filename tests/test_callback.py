import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bmm import BMMCallback, BootstrappingModel
from keras_bmm.bootstrapping.methods import compiles_apart
from keras_bmm.data import train_pipeline
from keras_bmm.mixture import loss_bounds

N, C = 200, 4


def toy_data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    x = (rng.normal(size=(N, 6)) + 2.0 * np.eye(C, 6)[y]).astype(np.float32)
    return x, y


def backbone():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(C)(hidden))


def make_model(method="m-dyr-h", num_samples=N, **kwargs):
    model = BootstrappingModel(backbone(), method=method, num_samples=num_samples, seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    return model


class CountCheck(keras.callbacks.Callback):
    """Reads the model's record at each epoch's end (before BMMCallback resets it)."""

    def __init__(self):
        super().__init__()
        self.counts = []

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(self.model.noise_state.recorded_losses()[1].copy())


def test_records_every_sample_once_per_epoch_and_logs():
    x, y = toy_data()
    model = make_model(warmup_epochs=1)
    check = CountCheck()
    callback = BMMCallback(noise_mask=np.arange(N) < 50)
    history = model.fit(
        train_pipeline(x, y, batch_size=32), epochs=3, callbacks=[callback, check], verbose=0
    )
    for counts in check.counts:
        np.testing.assert_array_equal(counts, np.ones(N))
    for key in (
        "bmm_alpha_clean",
        "bmm_beta_noisy",
        "bmm_weight_noisy",
        "bmm_noise_fraction",
        "bmm_auc",
    ):
        assert len(history.history[key]) == 3 and np.all(np.isfinite(history.history[key]))
    assert len(callback.epoch_logs) == 3
    # The stored state is what the callback fitted.
    state = model.noise_state
    np.testing.assert_allclose(state.bounds.numpy(), loss_bounds(state.last_fit.losses), rtol=1e-6)
    np.testing.assert_allclose(state.table.numpy(), callback.mixture.table, atol=1e-6)
    assert int(state.fitted.numpy()) == 1 and int(state.epoch.numpy()) == 2
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0 and history.history["accuracy"][-1] > 0.0
    assert history.history["loss"][-1] > 0.0


def test_recorded_losses_are_training_mode_losses_of_the_batch_weights():
    """With learning rate 0 the record of a bootstrapping method (its warm-up
    here) equals a training-mode pass (batch-norm on each batch's own
    statistics) over the same batches, not an inference pass."""
    x, y = toy_data()
    inputs = keras.Input((6,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(16, activation="relu")(inputs))
    model = BootstrappingModel(
        keras.Model(inputs, keras.layers.Dense(C)(hidden)),
        method="m-dyr-h",
        num_samples=N,
        warmup_epochs=5,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    batches = tf.data.Dataset.from_tensor_slices(({"image": x, "index": np.arange(N)}, y))
    history = model.fit(batches.batch(64), epochs=1, callbacks=[BMMCallback()], verbose=0)
    recorded = model.noise_state.recorded_losses()[0]
    logits = np.concatenate([model(x[i : i + 64], training=True).numpy() for i in range(0, N, 64)])
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits).numpy()
    np.testing.assert_allclose(recorded, expected, rtol=1e-5, atol=1e-6)
    # The record also says where the arg-max of that pass was the given label,
    # and the logged agreement is their share among the samples the mixture
    # calls clean (p(noisy) < 1/2).
    hits = np.argmax(logits, axis=1) == y
    assert 0 < hits.sum() < N
    np.testing.assert_array_equal(model.noise_state.recorded_hits(), hits.astype(float))
    clean = model.noise_state.posterior(expected).numpy() < 0.5
    assert 0 < clean.sum() < N
    assert history.history["clean_agreement"][0] == pytest.approx(hits[clean].mean(), abs=1e-12)
    inference = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model.predict(x, verbose=0))
    assert np.abs(recorded - inference.numpy()).max() > 1e-3  # the modes do differ here


def test_mixup_baseline_records_inference_mode_losses():
    """The mixup baseline records its losses in inference mode, so that
    recording changes nothing in its training (see test_train_step)."""
    x, y = toy_data()
    inputs = keras.Input((6,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(16, activation="relu")(inputs))
    model = BootstrappingModel(
        keras.Model(inputs, keras.layers.Dense(C)(hidden)), method="mixup", num_samples=N
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    batches = tf.data.Dataset.from_tensor_slices(({"image": x, "index": np.arange(N)}, y))
    before = model.predict(x, verbose=0)
    model.fit(batches.batch(64), epochs=1, callbacks=[BMMCallback()], verbose=0)
    recorded = model.noise_state.recorded_losses()[0]
    # lr 0: the weights stay; the running statistics move with the mixed batches
    # only, so compare with the inference pass at the time of each batch: the
    # first batch saw the initial statistics exactly.
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(y[:64], before[:64]).numpy()
    np.testing.assert_allclose(recorded[:64], expected, rtol=1e-5, atol=1e-6)


def test_separate_pass_with_data():
    x, y = toy_data()
    model = make_model(num_samples=None, warmup_epochs=1)
    track = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    callback = BMMCallback(data=track)
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[callback], verbose=0)
    logits = model.predict(x, verbose=0)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits).numpy()
    fit = model.noise_state.last_fit
    np.testing.assert_allclose(fit.losses, expected, rtol=1e-5, atol=1e-6)
    assert fit.seen.all() and fit.epoch == 1
    assert np.all(np.isfinite(model.noise_state.posterior(fit.losses).numpy()))


def trained_model():
    x, y = toy_data()
    model = make_model(warmup_epochs=1)
    model.fit(train_pipeline(x, y, batch_size=32), epochs=2, callbacks=[BMMCallback()], verbose=0)
    return model, x, y


def test_checkpoint_restores_bmm_state(tmp_path):
    model, _, _ = trained_model()
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    fresh = make_model(warmup_epochs=1)
    fresh.build((None, 6))
    fresh.optimizer.build(fresh.trainable_variables)
    assert int(fresh.noise_state.fitted.numpy()) == 0
    fresh.load_weights(path)
    for name in ("table", "parameters", "bounds", "fitted", "epoch"):
        np.testing.assert_array_equal(
            getattr(fresh.noise_state, name).numpy(), getattr(model.noise_state, name).numpy()
        )
    np.testing.assert_array_equal(
        fresh.mixup_sampler.seed_generator.state.numpy(),
        model.mixup_sampler.seed_generator.state.numpy(),
    )
    for saved, restored in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())


def test_saved_model_round_trip(tmp_path):
    model, x, y = trained_model()
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, BootstrappingModel) and loaded.method == "m-dyr-h"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    np.testing.assert_array_equal(loaded.noise_state.table.numpy(), model.noise_state.table.numpy())
    assert loaded.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0


def test_bootstrapping_needs_the_callback():
    x, y = toy_data()
    with pytest.raises(ValueError, match="BMMCallback"):
        make_model().fit(x, y, epochs=1, verbose=0)


def test_no_losses_to_read():
    x, y = toy_data()
    with pytest.raises(ValueError, match="num_samples"):
        make_model(num_samples=None).fit(x, y, epochs=1, callbacks=[BMMCallback()], verbose=0)
    with pytest.raises(ValueError, match='no "index"'):
        make_model().fit(x, y, epochs=1, callbacks=[BMMCallback()], verbose=0)


def test_wrong_model_type():
    inputs = keras.Input((6,))
    plain = keras.Model(inputs, keras.layers.Dense(C)(inputs))
    plain.compile(loss="sparse_categorical_crossentropy")
    x, y = toy_data()
    with pytest.raises(TypeError, match="BootstrappingModel"):
        plain.fit(x, y, epochs=1, callbacks=[BMMCallback()], verbose=0)


def test_nan_input_stops_at_its_sample_before_the_weights_change():
    """A NaN pixel in sample 7 stops the first step that sees it, names sample
    7 as bad input, and leaves the weights finite (the update never ran)."""
    x, y = toy_data()
    x[7] = np.nan  # a linear backbone carries the NaN through to the loss
    inputs = keras.Input((6,))
    model = BootstrappingModel(keras.Model(inputs, keras.layers.Dense(C)(inputs)), "mixup", N)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"^keras-bmm: the input image of sample 7 has NaN"):
        model.fit(
            train_pipeline(x, y, batch_size=N), epochs=1, callbacks=[BMMCallback()], verbose=0
        )
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_weights)


@pytest.mark.parametrize("indexed", [True, False])
def test_divergence_is_told_apart_from_bad_input(indexed):
    """Finite inputs whose loss overflows: the error says training diverged,
    names the sample (or its batch position without an index), and comes
    from the step itself, also for plain cross-entropy without indices."""
    x, y = toy_data()
    x[3] = 3e38  # finite, but its logits overflow to inf
    inputs = keras.Input((6,))
    dense = keras.layers.Dense(C, kernel_initializer="ones")
    model = BootstrappingModel(keras.Model(inputs, dense(inputs)), "ce", N)
    model.compile(optimizer="sgd")
    data = {"image": x, "index": np.arange(N)} if indexed else x
    who = "of sample 3" if indexed else "at batch position 3"
    with pytest.raises(ValueError, match=f"the loss {who}.*training diverged"):
        model.fit(data, y, batch_size=N, epochs=1, shuffle=False, verbose=0)
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_weights)


def test_noise_mask_size_mismatch():
    with pytest.raises(ValueError, match="noise_mask has 3 entries"):
        make_model().fit(
            train_pipeline(*toy_data(), batch_size=32),
            epochs=1,
            callbacks=[BMMCallback(noise_mask=[True, False, True])],
            verbose=0,
        )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="bogus"), "Unknown method"),
        (dict(mixup_alpha=0.0), "mixup_alpha"),
        (dict(num_samples=0), "num_samples"),
        (dict(warmup_epochs=-1), "warmup_epochs"),
    ],
)
def test_model_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BootstrappingModel(backbone(), **kwargs)


def test_compile_refuses_what_it_cannot_honour():
    model = BootstrappingModel(backbone(), method="mixup")
    with pytest.raises(ValueError, match="loss object that takes soft targets"):
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="other compiled metrics are not supported"):
        model.compile(optimizer="sgd", metrics=["top_k_categorical_accuracy"])
    model.compile(optimizer="sgd", metrics=["accuracy"])


@pytest.mark.parametrize("method", ["ce", "mixup"])
def test_label_out_of_range_is_named(method):
    """Through the Python API: a short ValueError naming the sample and the
    label, not a graph traceback."""
    x, y = toy_data()
    y[5] = C
    model = make_model(method=method)
    with pytest.raises(ValueError, match=rf"^keras-bmm: label {C} of sample 5 is not a class"):
        model.fit({"image": x, "index": np.arange(N)}, y, epochs=1, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=rf"^keras-bmm: label {C} at batch position 5"):
        model.evaluate(x, y, batch_size=N, verbose=0)


@pytest.mark.parametrize("method", ["ce", "mixup"])
@pytest.mark.parametrize(
    "bad,message",
    [
        ("label", rf"^keras-bmm: label {C} of sample 5 is not a class index from 0 to {C - 1}"),
        ("pixel", r"^keras-bmm: the input image of sample 5 has NaN or infinite pixels\.$"),
    ],
    ids=["label", "pixel"],
)
def test_bad_input_is_refused_under_xla(method, bad, message):
    """XLA drops `tf.debugging.Assert`: with `jit_compile=True` the step still
    refuses a bad label or a NaN pixel, with the message of the uncompiled step,
    before any weight changes."""
    x, y = toy_data()
    if bad == "label":
        y[5] = C
    else:
        x[5, 2] = np.nan
    model = BootstrappingModel(backbone(), method=method, num_samples=N, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=True)
    model.build((None, 6))
    before = [w.numpy() for w in model.trainable_weights]
    with pytest.raises(ValueError, match=message):
        model.fit({"image": x, "index": np.arange(N)}, y, batch_size=N, shuffle=False, verbose=0)
    for old, new in zip(before, model.trainable_weights):
        np.testing.assert_array_equal(new.numpy(), old)


@pytest.mark.parametrize("method", ["ce", "mixup"])
def test_index_out_of_range_is_refused_under_xla(method):
    """The sample index is checked outside XLA too (a scatter there drops it silently)."""
    x, y = toy_data()
    model = BootstrappingModel(backbone(), method=method, num_samples=N - 1, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=True)
    with pytest.raises(Exception, match="Sample index out of range"):
        model.fit(train_pipeline(x, y, 64), epochs=1, verbose=0)


def test_step_compiled_apart_on_one_replica_and_mixing_refused_on_several():
    assert compiles_apart("ce", True, 1) and compiles_apart("mixup", True, 1)
    assert not compiles_apart("ce", True, 2)  # Keras compiles the whole step
    assert not compiles_apart("mixup", False, 2) and not compiles_apart("mixup", "auto", 1)
    with pytest.raises(ValueError, match="replica only; this strategy has 2"):
        compiles_apart("m-dyr-h", True, 2)


def test_index_out_of_range_is_named():
    x, y = toy_data()
    model = make_model(method="mixup", num_samples=N - 1)
    with pytest.raises(Exception, match="Sample index out of range"):
        model.fit(train_pipeline(x, y, 64), epochs=1, callbacks=[BMMCallback()], verbose=0)


def test_one_hot_labels_are_refused():
    x, y = toy_data()
    with pytest.raises(ValueError, match="integer class indices of shape"):
        make_model(method="mixup").fit(x, np.eye(C)[y], epochs=1, verbose=0)


def test_uint8_images_train():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (64, 6)).astype(np.uint8)
    y = rng.integers(0, C, 64)
    history = make_model(method="mixup").fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_data_path_rejects_bad_indices():
    x, y = toy_data()
    bad = tf.data.Dataset.from_tensor_slices(({"image": x, "index": np.arange(N) - 1}, y)).batch(50)
    with pytest.raises(ValueError, match="sample indices must lie in"):
        make_model(num_samples=None, warmup_epochs=1).fit(
            x, y, epochs=1, callbacks=[BMMCallback(data=bad)], verbose=0
        )
    indexed = tf.data.Dataset.from_tensor_slices(({"image": x, "index": np.arange(N)}, y))
    twice = indexed.batch(50).repeat(2)
    with pytest.raises(ValueError, match="repeats sample indices"):
        make_model(num_samples=N, warmup_epochs=1).fit(
            x, y, epochs=1, callbacks=[BMMCallback(data=twice)], verbose=0
        )
