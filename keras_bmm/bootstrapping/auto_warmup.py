"""`AutoWarmup`: chooses the epoch bootstrapping starts, from what the training itself shows."""

from __future__ import annotations

import collections

import numpy as np

from keras_bmm.bootstrapping.methods import IF_UNSETTLED, WARMUP_RULES
from keras_bmm.bootstrapping.warmup_signals import moving_average

#: What `decide` concludes after an epoch.
StartDecision = collections.namedtuple(
    "StartDecision", ["start", "signal", "value", "reason", "gave_up"]
)

#: `TrainConfig` fields of the rule and the `AutoWarmup` argument each sets: the
#: one list the configuration, its flags and its checks derive from.
WARMUP_SETTINGS = {
    "warmup_min_epochs": "min_epochs",
    "warmup_max_epochs": "max_epochs",
    "warmup_changes": "changes",
    "warmup_kappa": "min_kappa",
    "warmup_patience": "patience",
    "warmup_if_unsettled": "if_unsettled",
}

_WAIT = StartDecision(False, None, float("nan"), "", False)


class AutoWarmup:
    """Chooses when bootstrapping starts, from the training's own predictions.

    Hard bootstrapping trains the samples the mixture calls noisy towards
    the network's own arg-max. That helps once the network's predictions
    are worth copying, and locks in its mistakes before. The `"auto"` rule
    reads two numbers the train step records for every sample after each
    epoch, and starts at the next epoch once, on `patience` consecutive
    epochs:

    - **the predictions have settled**: the share of samples whose arg-max
      class changed since the previous epoch (`warmup_signals.prediction_changes`,
      Label Wave's signal) is at most `changes`, or, after the learning
      rate's first drop, no more than `plateau` times the fewest seen since
      it: it is not rising. A rising share (a spike, or a network thrown
      about by its learning rate) starts nothing; and
    - **the network has learned the labels it can**: Cohen's kappa of its
      arg-max against the given labels (`warmup_signals.kappa`), divided by
      the share of labels the mixture finds clean (`1 - noise_fraction`,
      its mean p(noisy)), is at least `min_kappa`, on the training set and on
      the held-out samples when there are some. No network agrees with wrong
      labels, so kappa alone is small at high noise even for a good network;
      per label the mixture trusts, a network near chance stays far below
      one that has learned the classes.

    **The learning-rate schedule.** At the higher rate the share of changed
    predictions falls for many epochs, each epoch the fewest so far: that is
    no plateau, and bootstrapping from it (as Label Wave's first minimum
    does) locks in class-pair flips the network is still learning. So before
    the first drop (`lr_drops`, when it comes early enough for the rule to
    fire after it) only the absolute level `changes` counts; from the epoch
    after it the plateau counts too. With no such drop, both count
    throughout.

    The start is no earlier than `min_epochs` and than the epochs the
    signals need (`earliest`: the first epoch, head-only epochs and the
    epoch after each has no comparable previous one), and no later than
    `max_epochs`. If the rule has not fired by then, the network is not
    ready: by default bootstrapping never starts and the run keeps the
    warm-up (mixup) to its end; `if_unsettled="start"` starts it at
    `max_epochs` instead.

    `rule="label-wave"` is the published anchor: it starts at the epoch
    after the first local minimum of the prediction changes smoothed over
    `window` epochs is seen (Label Wave's early-stopping point), whatever
    the other signals and the schedule.

    Only what a user has is read: the training predictions, the held-out
    samples' noisy labels and the run's own schedule. The decision depends on
    the per-epoch values alone, which the model's `NoiseModelState` saves
    with its weights, so a resumed run makes the same choice.

    Args:
        rule: `"auto"` or `"label-wave"`.
        min_epochs: the earliest start.
        max_epochs: the latest start; `None`: 60% of the run's epochs.
        changes: a share of changed predictions that counts as settled
            whatever came before.
        plateau: a share at most this many times the fewest so far also
            counts as settled.
        min_kappa: the kappa per clean-looking label that counts as learned.
        patience: consecutive epochs both conditions must hold.
        window: Label Wave's moving-average window.
        frozen_epochs: head-only epochs at the start (their signals are
            ignored).
        lr_drops: the (0-based) epochs from which the learning rate is
            lower (`TrainConfig.lr_milestones` minus one).
        if_unsettled: `"warmup"` (keep warming up to the end) or `"start"`
            (start at `max_epochs`) when the rule has not fired by then.

    Example:

    ```python
    model = keras_bmm.BootstrappingModel(backbone, warmup_epochs="auto",
                                         auto_warmup={"max_epochs": 40, "lr_drops": (20,)})
    ```

    Reference:
        Yuan, Feng, Liu. "Early Stopping Against Label Noise Without
        Validation Data", ICLR 2024 (Label Wave).
    """

    def __init__(
        self,
        rule: str = "auto",
        min_epochs: int = 1,
        max_epochs: int | None = None,
        changes: float = 0.15,
        plateau: float = 1.1,
        min_kappa: float = 0.35,
        patience: int = 2,
        window: int = 3,
        frozen_epochs: int = 0,
        lr_drops=(),
        if_unsettled: str = "warmup",
    ):
        if rule not in WARMUP_RULES:
            raise ValueError(f"rule must be one of {WARMUP_RULES}, got {rule!r}.")
        if int(min_epochs) < 1:
            raise ValueError(f"min_epochs must be >= 1, got {min_epochs}.")
        if max_epochs is not None and int(max_epochs) < int(min_epochs):
            raise ValueError(f"max_epochs ({max_epochs}) must be >= min_epochs ({min_epochs}).")
        if not 0.0 < changes <= 1.0:
            raise ValueError(f"changes must be in (0, 1], got {changes}.")
        if not plateau >= 1.0:
            raise ValueError(f"plateau must be >= 1, got {plateau}.")
        if not -1.0 <= min_kappa < 1.0:
            raise ValueError(f"min_kappa must be in [-1, 1), got {min_kappa}.")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        if int(window) < 1:
            raise ValueError(f"window must be >= 1, got {window}.")
        if int(frozen_epochs) < 0:
            raise ValueError(f"frozen_epochs must be >= 0, got {frozen_epochs}.")
        if any(int(d) < 0 for d in lr_drops):
            raise ValueError(f"lr_drops must be epochs >= 0, got {tuple(lr_drops)}.")
        if if_unsettled not in IF_UNSETTLED:
            raise ValueError(
                f"if_unsettled must be one of {', '.join(IF_UNSETTLED)}, got {if_unsettled!r}."
            )
        self.rule = rule
        self.min_epochs = int(min_epochs)
        self.max_epochs = None if max_epochs is None else int(max_epochs)
        self.changes = float(changes)
        self.plateau = float(plateau)
        self.min_kappa = float(min_kappa)
        self.patience = int(patience)
        self.window = int(window)
        self.frozen_epochs = int(frozen_epochs)
        self.lr_drops = tuple(sorted(int(d) for d in lr_drops))
        self.if_unsettled = if_unsettled

    def watched_from(self, epochs: int | None = None, reserve: int = 1) -> int:
        """The first epoch whose signals count: the first after the head-only epochs."""
        return self.frozen_epochs + 1  # the first epoch after them compares with one before

    def drop(self, epochs: int | None = None, reserve: int = 1) -> int | None:
        """The first drop of the learning rate the `"auto"` rule can still fire after.

        Before it, only the absolute level of `changes` counts as settled: at
        the higher rate the share of changes falls for many epochs, and a
        "fewest so far" along that fall is no plateau. From the epoch after
        it (or throughout, with no such drop), the `plateau` counts too.
        """
        latest = self.latest(epochs, reserve)
        if self.rule != "auto":
            return None
        for drop in self.lr_drops:
            if drop > self.frozen_epochs and (latest is None or drop + 1 + self.patience <= latest):
                return drop
        return None

    def earliest(self, epochs: int | None = None, reserve: int = 1) -> int:
        """The earliest start: after `patience` epochs of signals that count.

        The first epoch has no previous one to compare with, nor the first
        after the head-only epochs (`frozen_epochs`): their signals do not
        count.
        """
        wait = self.patience if self.rule == "auto" else self.window + 1
        return max(self.min_epochs, self.watched_from(epochs, reserve) + wait)

    def latest(self, epochs: int | None, reserve: int = 1) -> int | None:
        """The latest start for a run of `epochs` epochs that keeps `reserve` after it."""
        latest = self.max_epochs
        if self.rule == "label-wave" and latest is None and epochs is not None:
            latest = int(epochs) - int(reserve)  # the published rule: no bound of ours
        if latest is None and epochs is not None:
            latest = max(self.min_epochs, int(0.6 * epochs))
        if latest is not None and epochs is not None:
            latest = min(latest, max(self.min_epochs, int(epochs) - int(reserve)))
        return latest

    def decide(self, signals: dict, epoch: int, epochs: int | None = None, reserve: int = 1):
        """Whether bootstrapping starts at `epoch + 1`, given the signals of epochs `0..epoch`.

        Args:
            signals: per-epoch arrays by name (`warmup_signals.SIGNALS`;
                index = epoch, NaN where unknown).
            epoch: the epoch just finished (0-based).
            epochs: the run's number of epochs.
            reserve: epochs to keep after the start (MD-DYR-SH: its dynamic
                mixup and at least one epoch of bootstrapping).

        Returns:
            A `StartDecision`: `start`, the `signal` and `value` that decided,
            a sentence saying why (`reason`), and `gave_up` when this was the
            latest start and bootstrapping will not start.
        """
        started = epoch + 1
        latest = self.latest(epochs, reserve)
        earliest = self.earliest(epochs, reserve)
        if latest is not None and latest < earliest:
            if started != latest:
                return _WAIT
            reason = (
                f"the run is too short for the rule: its signals need until epoch "
                f"{earliest + 1}, but the latest start is epoch {latest + 1}"
            )
            return StartDecision(False, None, float("nan"), reason, self.if_unsettled == "warmup")
        if started < earliest or (latest is not None and started > latest):
            return _WAIT
        watched = self.watched_from(epochs, reserve)
        if self.rule == "label-wave":
            decision = self._label_wave(signals, epoch, watched)
        else:
            decision = self._settled(signals, epoch, watched, self.drop(epochs, reserve))
        if decision.start:
            return decision
        if latest is not None and started == latest:
            if self.if_unsettled == "start":
                return StartDecision(
                    True, "latest", float(latest), "the latest start was reached", False
                )
            return decision._replace(gave_up=True)
        return decision

    @staticmethod
    def _series(signals: dict, name: str, epoch: int, watched: int) -> np.ndarray:
        values = np.asarray(signals.get(name, ()), dtype=np.float64)[: epoch + 1].copy()
        values = np.pad(values, (0, max(0, epoch + 1 - values.size)), constant_values=np.nan)
        values[:watched] = np.nan  # before the watch: head-only epochs, a higher rate
        return values

    def _settled(self, signals: dict, epoch: int, watched: int, drop: int | None) -> StartDecision:
        span = slice(epoch + 1 - self.patience, epoch + 1)
        changes = self._series(signals, "prediction_changes", epoch, watched)
        plateau_from = 0 if drop is None else drop + 1  # the epoch after the drop compares
        after = np.where(np.arange(changes.size) >= plateau_from, changes, np.nan)
        fewest = np.fmin.accumulate(np.where(np.isnan(after), np.inf, after))
        level = np.where(
            np.isfinite(after), np.maximum(self.changes, self.plateau * fewest), self.changes
        )
        clean = 1.0 - self._series(signals, "noise_fraction", epoch, 0)
        clean = np.where(np.isfinite(clean), np.maximum(clean, 0.05), 1.0)
        kappas = (self._series(signals, "label_kappa", epoch, watched) / clean)[span]
        held_out = self._series(signals, "held_out_kappa", epoch, 0) / clean
        held_out = held_out[np.isfinite(held_out)][-1:]  # the last evaluation, if any
        stable = bool(np.all(changes[span] <= level[span]))
        learned = bool(np.all(kappas >= self.min_kappa) and np.all(held_out >= self.min_kappa))
        recent = changes[span]
        worst = float(np.max(recent)) if np.all(np.isfinite(recent)) else float("nan")
        after_drop = " after the learning rate's drop" if drop is not None and epoch > drop else ""
        if stable and learned:
            reason = (
                f"the predictions settled{after_drop} (at most {worst:.1%} changed per epoch on "
                f"{self.patience} epochs, not rising) and the network learned the labels it can "
                f"(kappa per clean-looking label {float(np.min(kappas)):.2f}"
                + (f", held out {float(held_out[0]):.2f}" if held_out.size else "")
                + f", at least {self.min_kappa:g} needed)"
            )
            return StartDecision(True, "prediction_changes", worst, reason, False)
        best = float(np.nanmin(changes)) if np.any(np.isfinite(changes)) else float("nan")
        kappa_so_far = self._series(signals, "label_kappa", epoch, watched) / clean
        top = float(np.nanmax(kappa_so_far)) if np.any(np.isfinite(kappa_so_far)) else np.nan
        reason = (
            f"the predictions did not settle with the network beyond chance on {self.patience} "
            f"consecutive epochs{after_drop} (fewest changes {best:.1%}; highest kappa per "
            f"clean-looking label {top:.2f}, needed {self.min_kappa:g})"
        )
        return StartDecision(False, "prediction_changes", best, reason, False)

    def _label_wave(self, signals: dict, epoch: int, watched: int) -> StartDecision:
        changes = self._series(signals, "prediction_changes", epoch, watched)
        smoothed = moving_average(changes, self.window)
        for t in range(1, epoch):
            low, before, after = smoothed[t], smoothed[t - 1], smoothed[t + 1]
            if np.isfinite(low) and np.isfinite(before) and low <= before and after > low:
                reason = (
                    f"the prediction changes, averaged over {self.window} epochs, passed their "
                    f"first minimum ({low:.1%}) at epoch {t + 1} (Label Wave)"
                )
                return StartDecision(True, "label_wave", float(low), reason, False)
        reason = "the smoothed prediction changes have not passed a minimum (Label Wave)"
        return StartDecision(False, "label_wave", float("nan"), reason, False)

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            "rule": self.rule,
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "changes": self.changes,
            "plateau": self.plateau,
            "min_kappa": self.min_kappa,
            "patience": self.patience,
            "window": self.window,
            "frozen_epochs": self.frozen_epochs,
            "lr_drops": list(self.lr_drops),
            "if_unsettled": self.if_unsettled,
        }
