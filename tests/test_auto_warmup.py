"""The automatic warm-up: its signal, its rule, its bounds, and what it may read."""

import re
import warnings

import keras
import numpy as np
import pytest

from keras_bmm import BMMCallback, BootstrappingModel, TrainConfig, train
from keras_bmm.bootstrapping.auto_warmup import AutoWarmup, rank_stability
from keras_bmm.data import train_pipeline


def test_rank_stability_against_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    previous = rng.gamma(2.0, 1.0, 500)
    losses = previous + rng.normal(0, 0.5, 500)
    assert rank_stability(losses, previous) == pytest.approx(
        spearmanr(losses, previous).statistic, rel=1e-12
    )
    # Samples missing from either epoch (NaN) are left out.
    losses[:50] = np.nan
    assert rank_stability(losses, previous) == pytest.approx(
        spearmanr(losses[50:], previous[50:]).statistic, rel=1e-12
    )
    assert np.isnan(rank_stability([1.0, 2.0], [2.0, 1.0]))


def test_rule_starts_once_settled_within_its_bounds():
    rule = AutoWarmup(min_epochs=3, max_epochs=8, threshold=0.9, patience=2, agreement=None)
    nan = float("nan")
    rising = [nan, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.88, 0.89]
    # Never settled by the latest start (epoch 8): by default it never starts...
    assert not any(rule.start_after(rising, e) for e in range(10))
    assert [rule.gave_up(e) for e in range(10)].index(True) == 7
    # ... or, with if_unsettled="start", starts at the bound.
    forced = AutoWarmup(min_epochs=3, max_epochs=8, agreement=None, if_unsettled="start")
    assert [forced.start_after(rising, e) for e in range(10)].index(True) == 7
    assert not any(forced.gave_up(e) for e in range(10))
    # Settled exactly at the bound: it starts there either way.
    late = rising[:6] + [0.95, 0.96, 0.97, 0.98]
    assert [rule.start_after(late, e) for e in range(10)].index(True) == 7
    # Settled after the bound: too late, it does not start.
    later = rising[:8] + [0.95, 0.96]
    assert not any(rule.start_after(later, e) for e in range(10))
    settled = [nan, 0.5, 0.95, 0.6, 0.92, 0.93, 0.95]
    # A single epoch at 0.95 is not enough; epochs 4 and 5 are: start at epoch 6.
    assert [rule.start_after(settled, e) for e in range(7)].index(True) == 5
    early = [nan, 0.99, 0.99, 0.99]
    assert not rule.start_after(early, 1)  # before min_epochs, whatever the signal
    assert rule.start_after(early, 2)
    # The default latest start: 60% of the epochs, leaving `reserve` epochs after it.
    assert AutoWarmup().latest(60) == 36 and AutoWarmup().latest(10, reserve=6) == 4
    with pytest.raises(ValueError, match="if_unsettled must be one of warmup, start"):
        AutoWarmup(if_unsettled="never")
    with pytest.raises(ValueError, match="min_epochs must be >= 1"):
        AutoWarmup(min_epochs=0)
    with pytest.raises(ValueError, match=r"max_epochs \(2\) must be >= min_epochs \(3\)"):
        AutoWarmup(min_epochs=3, max_epochs=2)


def test_rule_starts_once_the_network_agrees_within_its_bounds():
    """The other trigger: the network predicts the given label of at least
    `agreement` of the samples the mixture calls clean, on `patience`
    consecutive epochs."""
    rule = AutoWarmup(min_epochs=3, max_epochs=8, agreement=0.75, patience=2)
    nan = float("nan")
    unsettled = [nan] + [0.5] * 11
    agreements = [0.3, 0.5, 0.8, 0.7, 0.74, 0.76, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9]
    starts = [rule.start_after(unsettled, e, agreements=agreements) for e in range(12)]
    # A single epoch at 0.8 is not enough; epochs 5 and 6 are: start at epoch 7.
    assert starts.index(True) == 6
    # Before min_epochs nothing starts it, however high the agreement...
    assert not rule.start_after(unsettled, 1, agreements=[1.0, 1.0, 1.0])
    assert rule.start_after(unsettled, 2, agreements=[1.0, 1.0, 1.0])
    # ... nor after the latest start; unknown agreement (NaN) never starts it.
    late = [0.5] * 8 + [0.9] * 4
    assert not any(rule.start_after(unsettled, e, agreements=late) for e in range(12))
    assert not any(rule.start_after(unsettled, e, agreements=[nan] * 12) for e in range(12))
    # agreement=None watches the settling alone.
    alone = AutoWarmup(min_epochs=3, max_epochs=8, agreement=None)
    assert not any(alone.start_after(unsettled, e, agreements=agreements) for e in range(12))
    with pytest.raises(ValueError, match=r"agreement must be in \(0, 1\]"):
        AutoWarmup(agreement=1.5)


def test_default_patience_follows_the_length_of_the_run():
    """By default a signal must hold two epochs, one in runs under 30 epochs:
    a single epoch at 0.8 starts a 10-epoch run, not a 60-epoch one."""
    rule = AutoWarmup(min_epochs=1)
    assert [rule.epochs_of_patience(n) for n in (5, 10, 29, 30, 60, 300)] == [1, 1, 1, 2, 2, 2]
    assert rule.epochs_of_patience(None) == 2
    assert AutoWarmup(patience=3).epochs_of_patience(10) == 3
    nan = float("nan")
    spike = [0.3, 0.5, 0.8, 0.6, 0.6, 0.6]
    assert rule.start_after([nan] * 6, 2, epochs=10, agreements=spike)
    assert not any(rule.start_after([nan] * 6, e, epochs=60, agreements=spike) for e in range(6))


def toy(seed=0, n=240, classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(size=(n, 6)) + 2.5 * np.eye(classes, 6)[y]).astype(np.float32)
    noisy = y.copy()
    flip = rng.random(n) < 0.4
    noisy[flip] = rng.integers(0, classes, flip.sum())
    return x, noisy, noisy != y


def auto_model(seed=0, warmup_epochs="auto", threshold=0.8, method="m-dyr-h", agreement=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    backbone = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Dense(16, "relu")(inputs)))
    model = BootstrappingModel(
        backbone,
        method=method,
        num_samples=240,
        warmup_epochs=warmup_epochs,
        auto_warmup=dict(min_epochs=2, max_epochs=6, threshold=threshold, agreement=agreement),
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    return model


def test_the_rule_reads_neither_the_noise_mask_nor_test_data():
    """Two runs that differ only in what a user does not have (the true noise
    mask, a held-out test set) choose the same epoch and end the same."""
    x, y, mask = toy()
    runs = []
    for noise_mask, validation in ((mask, None), (~mask, (x[:40], y[:40]))):
        # Settling cannot start it (threshold 0.9999): the agreement must.
        model = auto_model(agreement=0.85, threshold=0.9999)
        history = model.fit(
            train_pipeline(x, y, 32, seed=0),
            epochs=8,
            validation_data=validation,
            callbacks=[BMMCallback(noise_mask=noise_mask)],
            verbose=0,
        )
        runs.append((model, history.history))
    (a, ha), (b, hb) = runs
    start = a.noise_state.chosen_start()
    assert start is not None and 2 <= start <= 6
    assert b.noise_state.chosen_start() == start
    assert ha["bootstrap_epoch"][-1] == start and np.isnan(ha["bootstrap_epoch"][0])
    np.testing.assert_allclose(ha["warmup_signal"], hb["warmup_signal"], rtol=1e-6)
    np.testing.assert_allclose(ha["clean_agreement"], hb["clean_agreement"], rtol=1e-6)
    # The start follows the logged agreement (patience 1 in 8 epochs): the
    # first epoch from the bounds' on at 0.85 (the logs hold float32).
    assert max(ha["warmup_signal"][1:]) < 0.9999
    fired = [e for e in range(1, 6) if ha["clean_agreement"][e] >= 0.85 - 1e-6]
    assert start == fired[0] + 1
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6)


def test_unsettled_losses_keep_the_warmup_to_the_end():
    """When the signal never reaches its threshold by the latest start, the
    run is the warm-up throughout: the same weights as a fixed warm-up longer
    than the run, for M-DYR-H and MD-DYR-SH alike (their warm-ups are the
    same), with one warning that says so."""
    x, y, mask = toy()
    fits = {}
    for method, warmup in (("m-dyr-h", "auto"), ("m-dyr-h", 100), ("md-dyr-sh", "auto")):
        model = auto_model(warmup_epochs=warmup, threshold=0.9999, method=method)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(
                train_pipeline(x, y, 32, seed=0),
                epochs=8,
                callbacks=[BMMCallback(noise_mask=mask)],
                verbose=0,
            )
        fits[method, warmup] = (model, history.history, [str(w.message) for w in caught])
    fixed = fits["m-dyr-h", 100][0]
    for method in ("m-dyr-h", "md-dyr-sh"):
        auto, history, messages = fits[method, "auto"]
        assert auto.noise_state.chosen_start() is None
        assert np.all(np.isnan(history["bootstrap_epoch"]))
        assert max(history["warmup_signal"][1:]) < 0.9999
        (warning,) = [m for m in messages if "bootstrapping will not start" in m]
        # It names the highest signal up to the epoch it was given at.
        given_at = int(re.match(r"Epoch (\d+):", warning).group(1))
        assert f"highest {max(history['warmup_signal'][1:given_at]):.3f}" in warning
        for wa, wb in zip(auto.backbone.weights, fixed.backbone.weights, strict=True):
            np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6)


def test_a_resumed_run_makes_the_same_choice(tmp_path):
    """Stopped before and after the choice, and resumed, a run chooses the same
    epoch and ends with the same weights as an uninterrupted one."""
    from test_training import Crash

    def config(run_dir):
        return TrainConfig(
            dataset="digits",
            noise=0.6,
            method="m-dyr-h",
            epochs=8,
            warmup_epochs="auto",
            warmup_min_epochs=2,
            warmup_max_epochs=6,
            warmup_patience=2,  # the signals saved before the crash count
            warmup_if_unsettled="start",
            lr_milestones=(),
            run_dir=str(run_dir),
            verbose=0,
        )

    whole = train(config(tmp_path / "whole"), export=False)
    start = int(whole.history["bootstrap_epoch"][-1])
    assert 2 <= start <= 6
    for crash_epoch in (1, start + 1):
        run = tmp_path / f"crash{crash_epoch}"
        with pytest.raises(KeyboardInterrupt):
            train(config(run), export=False, callbacks=[Crash(crash_epoch)])
        resumed = train(config(run), export=False, resume=True)
        assert int(resumed.history["bootstrap_epoch"][-1]) == start
        for key in ("warmup_signal", "clean_agreement"):
            np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-4)
        for a, b in zip(whole.model.weights, resumed.model.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    assert "bootstrapping from epoch" in whole.summary()


def test_giving_up_before_any_signal_says_so():
    """In a 2-epoch run the latest start is the first epoch, before two epochs'
    losses can be compared: the warning says the run is too short."""
    from keras_bmm.bootstrapping.noise_model_state import NoiseModelState

    state = NoiseModelState(num_samples=6, start_epoch=-1, warmup_rule=AutoWarmup())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state.update_warmup(0, np.arange(6.0), epochs=2)
    (warning,) = [str(w.message) for w in caught if "will not start" in str(w.message)]
    assert warning.startswith("Epoch 1:") and "the run is too short" in warning
    assert "highest" not in warning
    assert state.chosen_start() is None
