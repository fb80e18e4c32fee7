"""`target_refresh`: epochs between refreshes bootstrap from the last refresh's record."""

import json

import keras
import numpy as np
import pytest
from test_objectives import C, one_step_setup, reference_loss

from keras_bmm import BMMCallback, BootstrappingModel
from keras_bmm.benchmarks.reference import log_softmax, remap
from keras_bmm.bootstrapping.noise_model_state import NoiseModelState
from keras_bmm.bootstrapping.schedule import refreshes
from keras_bmm.data import train_pipeline
from keras_bmm.training import ConfigError, TrainConfig
from keras_bmm.training.run_folder import RunFolder

N = 32
SAMPLES = 3 * N  # the batch is a shuffled third of the training set


def stale_setup(seed=1, jit_compile=False):
    """A target_refresh=2 model in epoch 2 (start 0, counted from 1: between
    refreshes), with a record of the last refresh that the test chose, some
    of it unknown, and the batch's sample indices."""
    model, x, y, r = one_step_setup("m-dyr-h", seed=seed, num_samples=SAMPLES, target_refresh=2)
    # A confident network (larger logits), so that which B is used matters.
    kernel_variable = model.backbone.weights[0]
    kernel_variable.assign(kernel_variable.numpy() * 30.0)
    r["kernel"] = kernel_variable.numpy().astype(np.float64)
    r["clean_logits"] = x.astype(np.float64) @ r["kernel"] + r["bias"]
    fresh_losses = -log_softmax(r["clean_logits"])[np.arange(N), y]
    table = model.noise_state.table.numpy().astype(np.float64)
    r["b"] = np.clip(posterior(fresh_losses, table), 1e-4, 1 - 1e-4)
    if jit_compile:
        model.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
    rng = np.random.default_rng(seed + 100)
    index = rng.permutation(SAMPLES)[:N]
    losses = rng.uniform(0.3, 4.5, SAMPLES)
    predicted = rng.integers(0, C, SAMPLES)
    predicted[index[:3]] = -1  # unseen at the last refresh (e.g. a file that did not decode)
    losses[index[3]] = np.nan
    model.noise_state.previous_losses.assign(losses.astype(np.float32))
    model.noise_state.previous_predictions.assign(predicted.astype(np.float32))
    model.noise_state.set_epoch(2)
    return model, {"image": x, "index": index}, y, r, losses[index], predicted[index]


def posterior(losses, mixture, bounds=(0.5, 4.0)):
    """p(noisy | loss) as one_step_setup computes it for its B."""
    normalized = remap((losses - bounds[0]) / (bounds[1] - bounds[0] + 1e-6))
    return np.interp(normalized, np.linspace(0, 1, mixture.size), mixture)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_a_step_between_refreshes_bootstraps_from_the_last_refresh(jit_compile):
    """The reported loss is the paper's M-DYR-H loss (numpy reference) with z the
    recorded arg-max class and B read from the recorded loss, both looked up
    by sample index; an unknown record keeps the given label. Nothing is
    recorded; the accuracy scores the mixed pass against each input's larger
    part. The same compiled by XLA."""
    model, inputs, y, r, losses, predicted = stale_setup(jit_compile=jit_compile)
    table = model.noise_state.table.numpy().astype(np.float64)
    known = (predicted >= 0) & np.isfinite(losses)
    z = np.where(known, predicted, y)
    b = np.clip(posterior(np.where(known, losses, 0.0), table), 1e-4, 1 - 1e-4)
    clean_logits = np.eye(C)[z] * 10.0  # arg-max z: the hard target
    mixed_logits = r["mixed_x"] @ r["kernel"] + r["bias"]

    def loss(z_logits, b):
        return reference_loss(mixed_logits, z_logits, y, b, r["lam"], r["perm"], "hard", 0.5)

    expected = loss(clean_logits, b)
    logs = model.train_on_batch(inputs, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)
    # Neither the fresh targets nor the recorded z with the fresh loss's B.
    for other in (loss(r["clean_logits"], r["b"]), loss(clean_logits, r["b"])):
        assert abs(other - expected) > 1e-2 * expected
    larger = y if r["lam"] >= 0.5 else y[r["perm"]]
    assert logs["accuracy"] == pytest.approx(np.mean(mixed_logits.argmax(1) == larger))
    _, counts = model.noise_state.recorded_losses()
    assert counts.sum() == 0


def test_a_refresh_step_is_the_paper_step_and_records():
    """In a refresh epoch the step is the paper's (fresh targets), as with
    target_refresh=1, and records every sample of the batch."""
    model, inputs, y, r, _, _ = stale_setup()
    model.noise_state.set_epoch(3)  # (3 - 1) % 2 == 0
    mixed_logits = r["mixed_x"] @ r["kernel"] + r["bias"]
    expected = reference_loss(
        mixed_logits, r["clean_logits"], y, r["b"], r["lam"], r["perm"], "hard", 0.5
    )
    logs = model.train_on_batch(inputs, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)
    recorded, counts = model.noise_state.recorded_losses()
    clean_losses = -log_softmax(r["clean_logits"])[np.arange(N), y]
    assert (counts[inputs["index"]] == 1).all() and counts.sum() == N
    np.testing.assert_allclose(recorded[inputs["index"]], clean_losses, rtol=1e-4)


@pytest.mark.parametrize(
    "start,every,epochs,expected",
    [
        # warm-up 0-2, start 3, then every 4th epoch from it, and the last (11)
        (3, 4, 12, [1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
        # a start at 0 bootstraps from 1 (a mixture is fitted at 0's end)
        (0, 3, 8, [1, 1, 0, 0, 1, 0, 0, 1]),
        (2, 1, 5, [1, 1, 1, 1, 1]),
    ],
)
def test_which_epochs_refresh(start, every, epochs, expected):
    assert [int(refreshes(e, start, every, epochs)) for e in range(epochs)] == expected
    # Without the run's length, the last epoch is not known to be one.
    assert [int(refreshes(e, start, every)) for e in range(epochs)][:-1] == expected[:-1]


def test_the_state_tells_the_step_whether_the_epoch_refreshes():
    """While a rule has still to choose the start, every epoch refreshes; once
    chosen (epoch 4), every third epoch from it."""
    state = NoiseModelState(10, start_epoch=-1, warmup_rule=object(), target_refresh=3)

    def fresh(epoch):
        state.set_epoch(epoch, 21)
        return int(state.is_refreshing())

    assert [fresh(e) for e in range(4)] == [1, 1, 1, 1]
    state.choose_start(4)
    # Nothing recorded yet to reuse (e.g. a new model given initial_epoch): fresh.
    assert [fresh(e) for e in range(4, 9)] == [1, 1, 1, 1, 1]
    state.previous_losses.assign(np.ones(10, np.float32))
    assert [fresh(e) for e in range(4, 9)] == [1, 0, 0, 1, 0]
    assert (fresh(19), fresh(20)) == (1, 1)  # (20 - 4) % 3 != 0: the last


def small_fit(target_refresh, epochs=5, steps=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    backbone = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    model = BootstrappingModel(
        backbone, "m-dyr-h", num_samples=64, warmup_epochs=1, target_refresh=target_refresh, seed=0
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    callback = BMMCallback()
    history = model.fit(
        train_pipeline(x, y, 16, seed=0, augment=False, epochs=epochs),
        epochs=epochs,
        steps_per_epoch=steps,
        callbacks=[callback],
        verbose=0,
    )
    return model, callback, history


def test_the_mixture_is_kept_between_refreshes_and_fitted_at_the_last_epoch():
    """target_refresh=3, start 1, 6 epochs: epochs 2, 3 and 5 would reuse
    epoch 1's or 4's record; 2 and 3 fit nothing (their logs repeat the
    mixture in use); 4 refreshes, and so does 5, the last."""
    model, callback, history = small_fit(3, epochs=6)
    alphas = history.history["bmm_alpha_noisy"]
    assert alphas[2] == alphas[3] == pytest.approx(alphas[1], rel=1e-6)
    assert alphas[4] != pytest.approx(alphas[1], rel=1e-3)
    assert alphas[5] != pytest.approx(alphas[4], rel=1e-3)
    assert np.isnan(history.history["warmup_signal"][2:4]).all()
    assert callback.state.last_fit.epoch == 5
    _, counts = model.noise_state.recorded_losses()
    assert (counts == 1).all()
    assert [e["epoch"] for e in callback.epoch_logs] == [0, 1, 2, 3, 4, 5]


def test_samples_not_trained_once_per_epoch_are_said():
    """Steps that see some samples twice and others never leave them no
    record to bootstrap from between refreshes: a warning says so."""
    with pytest.warns(UserWarning, match="not trained exactly once"):
        small_fit(2, epochs=2, steps=3)


def test_target_refresh_round_trips_and_is_checked():
    model, _, _ = small_fit(2, epochs=2)
    config = model.get_config()
    assert config["target_refresh"] == 2
    assert BootstrappingModel(model.backbone, num_samples=4, target_refresh=np.int64(3))
    assert BootstrappingModel.from_config(json.loads(json.dumps(config))).target_refresh == 2
    backbone = model.backbone
    for kwargs, match in [
        (dict(method="m-dyr-s", num_samples=4, target_refresh=2), "method='m-dyr-s'"),
        (dict(method="m-dyr-h", num_samples=4, target_refresh=2, fast=False), "fast=False"),
        (dict(method="m-dyr-h", num_samples=4, target_refresh=0), "whole number >= 1"),
        (dict(method="m-dyr-h", num_samples=4, target_refresh=1.5), "whole number >= 1"),
        (dict(method="m-dyr-h", num_samples=4, target_refresh=True), "whole number >= 1"),
        (dict(method="m-dyr-h", target_refresh=2), "needs num_samples"),
    ]:
        with pytest.raises(ValueError, match=match):
            BootstrappingModel(backbone, **kwargs)


def test_a_step_between_refreshes_needs_sample_indices():
    model, inputs, y, _, _, _ = stale_setup()
    with pytest.raises(ValueError, match='"index"'):
        model.train_on_batch(inputs["image"], y)


def test_the_setting_is_checked_before_training():
    with pytest.raises(ConfigError) as error:
        TrainConfig(dataset="digits", method="ce", target_refresh=2).resolved()
    assert error.value.field == "target_refresh"
    assert TrainConfig(dataset="digits", target_refresh=4).resolved().target_refresh == 4
    assert "target-refresh4" in TrainConfig(dataset="digits", target_refresh=4).resolved().name


def test_a_run_saved_before_the_setting_resumes_as_it_ran(tmp_path):
    """config.json of a run saved before target_refresh existed: it refreshed
    every epoch, so a resume without the flag (or with 1) is no difference,
    and with another value it is."""
    config = TrainConfig(dataset="digits", run_dir=str(tmp_path)).resolved()
    saved = config.as_dict()
    del saved["target_refresh"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    folder = RunFolder(str(tmp_path))
    unset = TrainConfig(dataset="digits", run_dir=str(tmp_path))
    assert folder.choices_of(unset).target_refresh == 1
    assert not folder.settings_differ(config)
    other = TrainConfig(dataset="digits", run_dir=str(tmp_path), target_refresh=3).resolved()
    assert "target_refresh" in folder.settings_differ(other)


def test_a_run_killed_between_refreshes_resumes_like_an_uninterrupted_one(tmp_path):
    """Warm-up 2 of 6 epochs, targets every 3: epochs 3 and 4 reuse epoch 2's
    record. Killed in epoch 4 and resumed, the run reads that record back from
    its checkpoint and ends with the uninterrupted run's weights and mixture."""
    from test_training import Crash, config

    from keras_bmm import train

    settings = dict(epochs=6, target_refresh=3, lr_milestones=(5,))
    whole = train(config(tmp_path / "whole", **settings), export=False)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "split", **settings), export=False, callbacks=[Crash(4)])
    resumed = train(config(tmp_path / "split", **settings), export=False, resume=True)
    alphas = whole.history["bmm_alpha_noisy"]
    assert alphas[3] == alphas[4] == pytest.approx(alphas[2], rel=1e-6)
    assert alphas[5] != pytest.approx(alphas[2], rel=1e-3)
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    np.testing.assert_allclose(resumed.history["bmm_alpha_noisy"], alphas, rtol=1e-4)
