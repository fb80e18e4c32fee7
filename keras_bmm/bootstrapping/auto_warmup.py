"""`AutoWarmup`: starts bootstrapping once the network has learned the clean samples."""

from __future__ import annotations

import numpy as np

from keras_bmm.bootstrapping.methods import IF_UNSETTLED


def rank_stability(losses, previous_losses) -> float:
    """Spearman's correlation of the per-sample losses of two consecutive epochs.

    Early in training the order of the samples by loss changes from epoch to
    epoch; once the network has learned what it can from the clean samples,
    the order settles (mislabelled samples keep high losses, clean ones low)
    and the mixture's split of them stops changing. Ties get the same rank
    only when exactly equal (losses rarely are).

    Args:
        losses: per-sample losses of one epoch.
        previous_losses: the same samples' losses one epoch earlier.

    Returns:
        The correlation of their ranks, in [-1, 1] (NaN for fewer than 3
        samples or a constant epoch).
    """
    a = np.asarray(losses, dtype=np.float64).ravel()
    b = np.asarray(previous_losses, dtype=np.float64).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 3:
        return float("nan")
    ranks_a = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(np.float64)
    ranks_b = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(np.float64)
    ranks_a -= ranks_a.mean()
    ranks_b -= ranks_b.mean()
    denominator = np.sqrt(np.sum(ranks_a**2) * np.sum(ranks_b**2))
    return float(np.sum(ranks_a * ranks_b) / denominator) if denominator > 0 else float("nan")


#: The default agreement on clean-looking samples that starts bootstrapping.
DEFAULT_AGREEMENT = 0.75

#: With `patience=None`, runs shorter than this start on one epoch's signal, not two.
SHORT_RUN_EPOCHS = 30


def _held(values, epoch: int, level: float, patience: int) -> bool:
    """Whether the last `patience` values up to `epoch` are all >= `level`."""
    recent = np.asarray(values, dtype=np.float64)[: epoch + 1][-patience:]
    return recent.size == patience and bool(np.all(recent >= level))


def clean_agreement(hits, posterior) -> float:
    """Share of the samples the mixture calls clean whose arg-max is their given label.

    Args:
        hits: per sample, 1 where the arg-max prediction was the given label
            (NaN where unknown).
        posterior: per sample, p(noisy | loss).

    Returns:
        The mean of `hits` over samples with `posterior < 0.5` (NaN when
        there are none, or the hits are unknown).
    """
    hits = np.asarray(hits, dtype=np.float64)
    clean = np.asarray(posterior) < 0.5
    if not clean.any() or not np.all(np.isfinite(hits[clean])):
        return float("nan")
    return float(np.mean(hits[clean]))


class AutoWarmup:
    """Chooses the epoch bootstrapping starts, from what the training itself shows.

    After each epoch it reads two numbers and starts bootstrapping at the
    next epoch when either says the network has learned the clean samples:

    - **agreement**: the share of the samples the mixture calls clean
      (p(noisy) < 1/2) whose arg-max prediction is their given label, at
      least `agreement` on `patience` consecutive epochs. The network then
      predicts most clean-looking labels itself, so its predictions are
      targets worth bootstrapping towards; a
      network that does not yet fit the labels the mixture trusts would
      lock in its own wrong guesses. A pretrained network gets there within
      an epoch or two at moderate noise.
    - **settling**: the `rank_stability` of the per-sample losses against the
      previous epoch's, at least `threshold` on `patience` consecutive
      epochs: the samples' order by loss, which the mixture turns into
      p(noisy), has stopped changing.

    It starts no earlier than `min_epochs` and no later than `max_epochs`.
    If neither has happened by `max_epochs`, the network has not learned
    enough to bootstrap from: by default bootstrapping then never starts and
    the run keeps the warm-up (mixup) to its end; `if_unsettled="start"`
    starts it at `max_epochs` instead. It reads neither the true noise nor
    any held-out data: only what a user has. The decision depends on the
    per-epoch values alone, which the model's `NoiseModelState` saves with
    its weights (with the previous epoch's losses), so a resumed run makes
    the same choice.

    Args:
        min_epochs: the earliest start (epochs of warm-up at least).
        max_epochs: the latest start; `None`: 60% of the run's epochs.
        threshold: the rank correlation that counts as settled.
        patience: consecutive epochs at or above `threshold`, or at or
            above `agreement`; `None`: 2, or 1 in a run of fewer than
            `SHORT_RUN_EPOCHS` epochs (30), where waiting a second epoch
            costs a large share of the run (a 10-epoch fine-tune), while a
            longer run at a high learning rate rides out a lucky epoch.
        agreement: the agreement on clean-looking samples that counts as
            learned; `None` watches the settling alone.
        if_unsettled: `"warmup"` (keep warming up to the end) or `"start"`
            (start at `max_epochs`) when neither signal has fired by then.

    Example:

    ```python
    model = keras_bmm.BootstrappingModel(backbone, warmup_epochs="auto",
                                         auto_warmup={"min_epochs": 2, "max_epochs": 40})
    ```
    """

    def __init__(
        self,
        min_epochs: int = 1,
        max_epochs: int | None = None,
        threshold: float = 0.9,
        patience: int | None = None,
        agreement: float | None = DEFAULT_AGREEMENT,
        if_unsettled: str = "warmup",
    ):
        if int(min_epochs) < 1:
            raise ValueError(f"min_epochs must be >= 1, got {min_epochs}.")
        if max_epochs is not None and int(max_epochs) < int(min_epochs):
            raise ValueError(f"max_epochs ({max_epochs}) must be >= min_epochs ({min_epochs}).")
        if not -1.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (-1, 1], got {threshold}.")
        if patience is not None and int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        if agreement is not None and not 0.0 < agreement <= 1.0:
            raise ValueError(f"agreement must be in (0, 1] or None, got {agreement}.")
        if if_unsettled not in IF_UNSETTLED:
            raise ValueError(
                f"if_unsettled must be one of {', '.join(IF_UNSETTLED)}, got {if_unsettled!r}."
            )
        self.min_epochs = int(min_epochs)
        self.max_epochs = None if max_epochs is None else int(max_epochs)
        self.threshold = float(threshold)
        self.patience = None if patience is None else int(patience)
        self.agreement = None if agreement is None else float(agreement)
        self.if_unsettled = if_unsettled

    def latest(self, epochs: int | None, reserve: int = 1) -> int | None:
        """The latest start for a run of `epochs` epochs that keeps `reserve` after it."""
        latest = self.max_epochs
        if latest is None and epochs is not None:
            latest = max(self.min_epochs, int(0.6 * epochs))
        if latest is not None and epochs is not None:
            latest = min(latest, max(self.min_epochs, int(epochs) - int(reserve)))
        return latest

    def start_after(
        self, signals, epoch: int, epochs: int | None = None, reserve: int = 1, agreements=None
    ) -> bool:
        """Whether bootstrapping starts at `epoch + 1`, given the values of epochs `0..epoch`.

        Args:
            signals: the per-epoch rank stabilities so far (index = epoch;
                NaN where an epoch had none, e.g. the first).
            epoch: the epoch just finished (0-based).
            epochs: the run's number of epochs (for the default `max_epochs`).
            reserve: epochs to keep after the start (MD-DYR-SH: its dynamic
                mixup and at least one epoch of bootstrapping).
            agreements: the per-epoch agreements on clean-looking samples
                (NaN where unknown), or `None`.
        """
        started = epoch + 1
        latest = self.latest(epochs, reserve)
        if started < self.min_epochs or (latest is not None and started > latest):
            return False
        if self.settled(signals, epoch, epochs) or self.agrees(agreements, epoch, epochs):
            return True
        return started == latest and self.if_unsettled == "start"

    def epochs_of_patience(self, epochs: int | None = None) -> int:
        """`patience`, or for `None` its default for a run of `epochs` epochs."""
        if self.patience is not None:
            return self.patience
        return 1 if epochs is not None and int(epochs) < SHORT_RUN_EPOCHS else 2

    def settled(self, signals, epoch: int, epochs: int | None = None) -> bool:
        """Whether the last `patience` rank correlations up to `epoch` are all >= `threshold`."""
        return _held(signals, epoch, self.threshold, self.epochs_of_patience(epochs))

    def agrees(self, agreements, epoch: int, epochs: int | None = None) -> bool:
        """Whether the last `patience` agreements up to `epoch` are all >= `agreement`."""
        if self.agreement is None or agreements is None:
            return False
        return _held(agreements, epoch, self.agreement, self.epochs_of_patience(epochs))

    def gave_up(self, epoch: int, epochs: int | None = None, reserve: int = 1) -> bool:
        """Whether `epoch` is the latest start and the rule then keeps the warm-up.

        With no start chosen by then (`start_after` returned `False`),
        bootstrapping never starts.
        """
        return self.if_unsettled == "warmup" and epoch + 1 == self.latest(epochs, reserve)

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "threshold": self.threshold,
            "patience": self.patience,
            "agreement": self.agreement,
            "if_unsettled": self.if_unsettled,
        }
