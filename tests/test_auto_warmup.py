"""The automatic warm-up: its signals, its rules, its bounds, and what it may read."""

import re
import warnings

import keras
import numpy as np
import pytest

from keras_bmm import BMMCallback, BootstrappingModel, TrainConfig, train
from keras_bmm.bootstrapping.auto_warmup import AutoWarmup
from keras_bmm.bootstrapping.warmup_signals import (
    kappa,
    moving_average,
    prediction_changes,
    rank_stability,
)
from keras_bmm.data import train_pipeline

NAN = float("nan")


def test_rank_stability_against_scipy_with_and_without_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    previous = rng.gamma(2.0, 1.0, 500)
    losses = previous + rng.normal(0, 0.5, 500)
    assert rank_stability(losses, previous) == pytest.approx(
        spearmanr(losses, previous).statistic, rel=1e-12
    )
    # Many exactly equal losses share their average rank, as scipy's.
    tied = np.where(rng.random(500) < 0.8, 0.0, losses)
    tied_before = np.where(rng.random(500) < 0.8, 0.0, previous)
    assert rank_stability(tied, tied_before) == pytest.approx(
        spearmanr(tied, tied_before).statistic, rel=1e-9
    )
    # Samples missing from either epoch (NaN) are left out.
    losses[:50] = np.nan
    assert rank_stability(losses, previous) == pytest.approx(
        spearmanr(losses[50:], previous[50:]).statistic, rel=1e-12
    )
    assert np.isnan(rank_stability([1.0, 2.0], [2.0, 1.0]))


def test_kappa_against_sklearn_and_prediction_changes_by_hand():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 300)
    predicted = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 5, 300))
    assert kappa(predicted, labels, 5) == pytest.approx(cohen_kappa_score(predicted, labels))
    # One class predicted everywhere is no better than chance; unknown (-1) is left out.
    assert kappa(np.zeros(300, int), labels, 5) == pytest.approx(0.0)
    unknown = predicted.copy()
    unknown[:100] = -1
    assert kappa(unknown, labels, 5) == pytest.approx(
        cohen_kappa_score(predicted[100:], labels[100:])
    )
    before = rng.integers(-1, 5, 300)
    known = [(a, b) for a, b in zip(predicted, before) if a >= 0 and b >= 0]
    assert prediction_changes(predicted, before) == pytest.approx(
        sum(a != b for a, b in known) / len(known)
    )


def signals(changes, kappas, held_out=None):
    found = {"prediction_changes": np.asarray(changes, float), "label_kappa": np.asarray(kappas)}
    if held_out is not None:
        found["held_out_kappa"] = np.asarray(held_out, float)
    return found


def first_start(rule, values, epochs=20, reserve=1):
    """The 0-based start the rule chooses when fed the epochs one by one, or None."""
    for epoch in range(epochs):
        decision = rule.decide(values, epoch, epochs, reserve)
        if decision.start:
            return epoch + 1
        if decision.gave_up:
            return None
    return None


def test_auto_starts_when_predictions_settle_and_beat_chance_on_two_epochs():
    rule = AutoWarmup(min_epochs=1, max_epochs=12, changes=0.15, min_kappa=0.1, patience=2)
    # Settled: at most 15% changed, or at most 1.1 times the fewest so far.
    changes = [NAN, 0.5, 0.6, 0.3, 0.45, 0.2, 0.19, 0.2, 0.18, 0.18, 0.18, 0.18]
    kappas = [0.05] + [0.4] * 11  # per clean-looking label: no noise_fraction logged
    # Epochs 2 and 4 rise above the fewest so far (spikes); 5 and 6 hold: start 7.
    assert first_start(rule, signals(changes, kappas)) == 7
    low = [NAN, 0.5, 0.6, 0.3, 0.45, 0.14, 0.5, 0.12, 0.1, 0.1, 0.1, 0.1]
    assert first_start(rule, signals(low, kappas)) == 9  # 0.14 then a spike to 0.5
    # Settled but at chance (one class predicted everywhere): never.
    assert first_start(rule, signals(changes, [0.02] * 12)) is None
    # The held-out samples must beat chance too, when there are some (the last
    # evaluation counts).
    assert first_start(rule, signals(changes, kappas, [0.05] * 12)) is None
    late = [0.05] * 8 + [0.3] * 4
    assert first_start(rule, signals(changes, kappas, late)) == 9
    every_other = [0.05, NAN] * 3 + [0.3, NAN] * 3
    assert first_start(rule, signals(changes, kappas, every_other)) == 7
    decision = rule.decide(signals(changes, kappas), 6, 20)
    assert decision.signal == "prediction_changes" and decision.value == pytest.approx(0.2)
    assert "settled" in decision.reason and "kappa per clean-looking label 0.40" in decision.reason


def test_auto_counts_a_plateau_only_after_the_learning_rates_first_drop():
    """At the higher rate the share of changes falls for many epochs: each epoch is
    the fewest so far, which is no plateau. Before a drop that leaves the rule room
    to fire after it, only the absolute level counts."""
    kappas = [0.5] * 30
    falling = [NAN] + [0.5 - 0.02 * e for e in range(10)] + [0.3] * 19  # drop at epoch 10
    rule = AutoWarmup(lr_drops=(10, 20))
    assert rule.drop(30) == 10 and rule.watched_from(30) == 1 and rule.earliest(30) == 3
    # Falling but above 15% before the drop: no start; after it, epochs 11 and 12
    # stay within 1.1 times the fewest since the drop: start 13.
    assert first_start(rule, signals(falling, kappas), epochs=30) == 13
    assert "after the learning rate's drop" in rule.decide(signals(falling, kappas), 12, 30).reason
    # Without a drop the same fall is a plateau from its second epoch (as before).
    assert first_start(AutoWarmup(), signals(falling, kappas), epochs=30) == 3
    # Settled below 15% before the drop: no waiting for it.
    low = [NAN] + [0.05] * 29
    assert first_start(rule, signals(low, kappas), epochs=30) == 3
    assert "drop" not in rule.decide(signals(low, kappas), 2, 30).reason
    # A drop too late to fire after (10 epochs: latest 6) is no boundary.
    assert AutoWarmup(lr_drops=(6,)).drop(10) is None
    assert first_start(AutoWarmup(lr_drops=(6,)), signals(falling, kappas), epochs=10) == 3
    # Label Wave, the published rule, ignores the schedule.
    assert AutoWarmup(rule="label-wave", lr_drops=(10,)).drop(30) is None


def test_auto_bounds_head_only_epochs_and_giving_up():
    changes = [NAN] + [0.05] * 19
    kappas = [0.5] * 20
    # Earliest: min_epochs, and after `patience` epochs of signals of the whole
    # network (the first epoch compares with none; after head-only epochs, the
    # first compares with the head-only one): start 3, or 4 with one frozen.
    assert first_start(AutoWarmup(min_epochs=1), signals(changes, kappas)) == 3
    assert AutoWarmup().earliest() == 3 and AutoWarmup(frozen_epochs=1).earliest() == 4
    assert first_start(AutoWarmup(min_epochs=5), signals(changes, kappas)) == 5
    assert first_start(AutoWarmup(frozen_epochs=1), signals(changes, kappas)) == 4
    # Latest: 60% of the epochs by default, keeping `reserve` epochs after it.
    assert AutoWarmup().latest(60) == 36 and AutoWarmup().latest(10, reserve=6) == 4
    rising = [NAN] + [0.2 + 0.03 * e for e in range(19)]  # each epoch above the last
    chance = [0.05] * 20
    rule = AutoWarmup(max_epochs=8)
    for changes_, kappas_ in ((rising, kappas), (changes, chance)):
        decisions = [rule.decide(signals(changes_, kappas_), e, 20) for e in range(10)]
        assert [d.gave_up for d in decisions].index(True) == 7
        assert not any(d.start for d in decisions) and "did not settle" in decisions[7].reason
    assert "fewest changes 5.0%; highest kappa per clean-looking label 0.05" in decisions[7].reason
    forced = AutoWarmup(max_epochs=8, if_unsettled="start")
    assert first_start(forced, signals(rising, kappas)) == 8
    with pytest.raises(ValueError, match="if_unsettled must be one of warmup, start"):
        AutoWarmup(if_unsettled="never")
    with pytest.raises(ValueError, match="min_epochs must be >= 1"):
        AutoWarmup(min_epochs=0)
    with pytest.raises(ValueError, match=r"max_epochs \(2\) must be >= min_epochs \(3\)"):
        AutoWarmup(min_epochs=3, max_epochs=2)
    with pytest.raises(ValueError, match="rule must be one of"):
        AutoWarmup(rule="early")


def test_label_wave_starts_after_the_first_minimum_of_smoothed_changes():
    rule = AutoWarmup(rule="label-wave", window=3)
    changes = [NAN, 0.6, 0.5, 0.4, 0.35, 0.3, 0.36, 0.4, 0.2, 0.1, 0.1, 0.1]
    # Oracle: the moving average written out, and its first local minimum.
    smooth = [NAN] * 3 + [np.mean(changes[i - 2 : i + 1]) for i in range(3, 12)]
    np.testing.assert_allclose(moving_average(changes, 3), smooth, equal_nan=True)
    minimum = next(
        t for t in range(4, 11) if smooth[t] <= smooth[t - 1] < 9 and smooth[t + 1] > smooth[t]
    )
    start = first_start(rule, signals(changes, [0.0] * 12), epochs=12)
    assert start == minimum + 2  # seen one epoch later, started the next
    decision = rule.decide(signals(changes, [0.0] * 12), minimum + 1, 12)
    assert decision.signal == "label_wave" and "Label Wave" in decision.reason
    # Falling throughout: no minimum, no start (the published rule has no bound of ours).
    falling = [NAN] + list(np.linspace(0.6, 0.05, 11))
    assert first_start(rule, signals(falling, [0.0] * 12), epochs=12) is None


def test_signals_are_kept_past_a_thousand_epochs():
    from keras_bmm.bootstrapping.noise_model_state import MAX_SIGNAL_EPOCHS, NoiseModelState

    state = NoiseModelState(num_samples=4, start_epoch=-1, warmup_rule=AutoWarmup())
    for epoch in (3, 998, 1500):
        state.store_signals(epoch, {"prediction_changes": epoch / 10000})
    history = state.signal_history(1500)["prediction_changes"]
    assert history.size == 1501 and history[1500] == pytest.approx(0.15)
    assert np.isnan(history[3]) and np.isnan(history[1500 - MAX_SIGNAL_EPOCHS])
    assert history[998] == pytest.approx(0.0998)


def toy(seed=0, n=240, classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(size=(n, 6)) + 2.5 * np.eye(classes, 6)[y]).astype(np.float32)
    noisy = y.copy()
    flip = rng.random(n) < 0.4
    noisy[flip] = rng.integers(0, classes, flip.sum())
    return x, noisy, noisy != y


def auto_model(seed=0, warmup_epochs="auto", min_kappa=0.1, method="m-dyr-h", num_samples=240):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    backbone = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Dense(16, "relu")(inputs)))
    model = BootstrappingModel(
        backbone,
        method=method,
        num_samples=num_samples,
        warmup_epochs=warmup_epochs,
        auto_warmup=dict(min_epochs=2, max_epochs=6, min_kappa=min_kappa),
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    return model


def test_the_rule_reads_neither_the_noise_mask_nor_test_data(capsys):
    """Two runs that differ only in what a user does not have (the true noise
    mask, a test set) choose the same epoch, for the reason they print."""
    x, y, mask = toy()
    runs = []
    for noise_mask, validation in ((mask, None), (~mask, (x[:40], y[:40]))):
        model = auto_model()
        history = model.fit(
            train_pipeline(x, y, 32, seed=0),
            epochs=8,
            validation_data=validation,
            callbacks=[BMMCallback(noise_mask=noise_mask)],
            verbose=2,
        )
        runs.append((model, history.history))
    (a, ha), (b, hb) = runs
    start = a.noise_state.chosen_start()
    assert start is not None and 2 <= start <= 6
    assert b.noise_state.chosen_start() == start
    # Logged from 1, as Keras counts epochs.
    assert ha["bootstrap_epoch"][-1] == start + 1 and np.isnan(ha["bootstrap_epoch"][0])
    for key in ("prediction_changes", "label_kappa"):
        np.testing.assert_allclose(ha[key], hb[key], rtol=1e-6)
    # The start follows the logged signals: the first two epochs (from the
    # bounds' on) settled (at most 15% changed, or 1.1 times the fewest so far)
    # and beating chance (kappa 0.1).
    changes = np.asarray(ha["prediction_changes"])
    fewest = np.fmin.accumulate(np.where(np.isnan(changes), np.inf, changes))
    ok = [
        changes[e] <= max(0.15, 1.1 * fewest[e]) and ha["label_kappa"][e] >= 0.1 for e in range(8)
    ]
    assert start == next(e for e in range(2, 7) if ok[e - 1] and ok[e - 2]) and start >= 2
    printed = capsys.readouterr().out
    assert f"Epoch {start}: bootstrapping starts at epoch {start + 1}: the predictions settled" in (
        printed
    )
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6)


def test_a_resumed_run_gives_the_reason_the_rule_gave_when_it_chose():
    """A callback that did not see the start chosen (a resumed run's) asks the
    rule again of the signals the model keeps, and gets the printed sentence."""
    x, y, mask = toy()
    model = auto_model()
    heard = BMMCallback()
    model.fit(train_pipeline(x, y, 32, seed=0), epochs=8, callbacks=[heard], verbose=0)
    assert model.noise_state.chosen_start() is not None
    assert heard.start_reason.startswith("the predictions settled")
    resumed = BMMCallback()
    resumed.set_model(model)
    resumed.set_params({"epochs": 8, "verbose": 0})
    assert resumed.start_reason is None
    assert resumed.replay_start_reason() == heard.start_reason
    # Without `fit`, the run's epochs are given.
    finished = BMMCallback()
    finished.set_model(model)
    assert finished.replay_start_reason(epochs=8) == heard.start_reason
    assert BMMCallback().replay_start_reason() is None  # no model
    unstarted = BMMCallback()
    unstarted.set_model(auto_model())
    assert unstarted.replay_start_reason() is None


def test_an_unready_network_keeps_the_warmup_to_the_end():
    """When the rule never fires by the latest start, the run is the warm-up
    throughout: the same weights as a fixed warm-up longer than the run, for
    M-DYR-H and MD-DYR-SH alike, with one warning that says why."""
    x, y, mask = toy()
    fits = {}
    for method, warmup in (("m-dyr-h", "auto"), ("m-dyr-h", 100), ("md-dyr-sh", "auto")):
        model = auto_model(warmup_epochs=warmup, min_kappa=0.99, method=method)
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
        (warning,) = [m for m in messages if "Bootstrapping will not start" in m]
        given_at = int(re.match(r"Epoch (\d+):", warning).group(1))
        if method == "m-dyr-h":  # it names the fewest changes up to then
            per_clean = np.asarray(history["label_kappa"]) / (
                1 - np.asarray(history["bmm_noise_fraction"])
            )
            top = np.nanmax(per_clean[1:given_at])
            assert given_at == 6 and f"highest kappa per clean-looking label {top:.2f}" in warning
        else:  # 8 epochs leave no room after 2 epochs of signals and 5 of dynamic mixup
            assert given_at == 2 and "the run is too short for the rule" in warning
        for wa, wb in zip(auto.backbone.weights, fixed.backbone.weights, strict=True):
            np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6)


def test_auto_needs_num_samples_with_a_separate_loss_pass():
    """Without per-sample storage the rule cannot compare epochs: a clear error,
    not a run that silently never bootstraps."""
    x, y, _ = toy()
    model = auto_model(num_samples=None)
    data = train_pipeline(x, y, 32, shuffle=False, epochs=None)
    with pytest.raises(ValueError, match="num_samples=N"):
        model.fit(train_pipeline(x, y, 32, seed=0), epochs=2, callbacks=[BMMCallback(data=data)])


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
            warmup_kappa=0.05,
            warmup_if_unsettled="start",
            lr_milestones=(),
            run_dir=str(run_dir),
            verbose=0,
        )

    whole = train(config(tmp_path / "whole"), export=False)
    start = int(whole.history["bootstrap_epoch"][-1])
    assert 3 <= start <= 7
    for crash_epoch in (1, start):
        run = tmp_path / f"crash{crash_epoch}"
        with pytest.raises(KeyboardInterrupt):
            train(config(run), export=False, callbacks=[Crash(crash_epoch)])
        resumed = train(config(run), export=False, resume=True)
        assert int(resumed.history["bootstrap_epoch"][-1]) == start
        for key in ("prediction_changes", "label_kappa"):
            np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-4)
        for a, b in zip(whole.model.weights, resumed.model.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    assert f"bootstrapping: from epoch {start} (auto)" in whole.summary()


def test_kappa_is_judged_per_label_the_mixture_finds_clean():
    """At 80% noise a good network's kappa is small (no network agrees with wrong
    labels); per clean-looking label it passes, while a network near chance at
    30% noise does not (the digits after the drop, and the scraped folder)."""
    changes = [NAN] + [0.1] * 11
    rule = AutoWarmup(min_epochs=1, max_epochs=10)
    good_at_80 = signals(changes, [0.2] * 12)
    good_at_80["noise_fraction"] = np.full(12, 0.53)
    assert first_start(rule, good_at_80) == 3  # 0.2 / 0.47 = 0.43
    near_chance = signals(changes, [0.12] * 12, [0.12] * 12)
    near_chance["noise_fraction"] = np.full(12, 0.5)
    assert first_start(rule, near_chance) is None  # 0.12 / 0.5 = 0.24
