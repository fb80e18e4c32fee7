"""`AutoWarmup`: starts bootstrapping once the per-sample losses have settled into their order."""

from __future__ import annotations

import math

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


def component_overlap(alphas, betas) -> float:
    """Bhattacharyya coefficient of two beta densities (1: identical, 0: disjoint)."""
    (a1, a2), (b1, b2) = alphas, betas

    def log_beta(a, b):
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    log_bc = log_beta((a1 + a2) / 2, (b1 + b2) / 2) - 0.5 * (log_beta(a1, b1) + log_beta(a2, b2))
    return float(math.exp(log_bc))


def fit_fraction(losses) -> float:
    """Share of the samples whose given label the network predicts with probability > 1/2."""
    losses = np.asarray(losses, dtype=np.float64)
    return float(np.mean(losses < math.log(2.0)))


class AutoWarmup:
    """Chooses the epoch bootstrapping starts, from the training losses alone.

    After each epoch it reads one number, the `rank_stability` of the
    per-sample losses against the previous epoch's, and starts bootstrapping
    at the next epoch once it has reached `threshold` on `patience`
    consecutive epochs: the samples' order by loss, which the mixture turns
    into p(noisy), has settled. It starts no earlier than `min_epochs` and
    no later than `max_epochs`. If the order has not settled by
    `max_epochs`, the network has not learned enough to bootstrap from (its
    own predictions would be the targets): by default bootstrapping then
    never starts and the run keeps the warm-up (mixup) to its end;
    `if_unsettled="start"` starts it at `max_epochs` instead. It reads
    neither the true noise nor any held-out data: only what a user has. The
    decision depends on the per-epoch values alone, which the model's
    `NoiseModelState` saves with its weights (with the previous epoch's
    losses), so a resumed run makes the same choice.

    Args:
        min_epochs: the earliest start (epochs of warm-up at least).
        max_epochs: the latest start; `None`: 60% of the run's epochs.
        threshold: the rank correlation that counts as settled.
        patience: consecutive epochs at or above `threshold`.
        if_unsettled: `"warmup"` (keep warming up to the end) or `"start"`
            (start at `max_epochs`) when the losses have not settled by then.

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
        patience: int = 2,
        if_unsettled: str = "warmup",
    ):
        if int(min_epochs) < 1:
            raise ValueError(f"min_epochs must be >= 1, got {min_epochs}.")
        if max_epochs is not None and int(max_epochs) < int(min_epochs):
            raise ValueError(f"max_epochs ({max_epochs}) must be >= min_epochs ({min_epochs}).")
        if not -1.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (-1, 1], got {threshold}.")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        if if_unsettled not in IF_UNSETTLED:
            raise ValueError(
                f"if_unsettled must be one of {', '.join(IF_UNSETTLED)}, got {if_unsettled!r}."
            )
        self.min_epochs = int(min_epochs)
        self.max_epochs = None if max_epochs is None else int(max_epochs)
        self.threshold = float(threshold)
        self.patience = int(patience)
        self.if_unsettled = if_unsettled

    def latest(self, epochs: int | None, reserve: int = 1) -> int | None:
        """The latest start for a run of `epochs` epochs that keeps `reserve` after it."""
        latest = self.max_epochs
        if latest is None and epochs is not None:
            latest = max(self.min_epochs, int(0.6 * epochs))
        if latest is not None and epochs is not None:
            latest = min(latest, max(self.min_epochs, int(epochs) - int(reserve)))
        return latest

    def start_after(self, signals, epoch: int, epochs: int | None = None, reserve: int = 1) -> bool:
        """Whether bootstrapping starts at `epoch + 1`, given the values of epochs `0..epoch`.

        Args:
            signals: the per-epoch values so far (index = epoch; NaN where an
                epoch had none, e.g. the first).
            epoch: the epoch just finished (0-based).
            epochs: the run's number of epochs (for the default `max_epochs`).
            reserve: epochs to keep after the start (MD-DYR-SH: its dynamic
                mixup and at least one epoch of bootstrapping).
        """
        started = epoch + 1
        latest = self.latest(epochs, reserve)
        if started < self.min_epochs or (latest is not None and started > latest):
            return False
        if self.settled(signals, epoch):
            return True
        return started == latest and self.if_unsettled == "start"

    def settled(self, signals, epoch: int) -> bool:
        """Whether the values of the last `patience` epochs up to `epoch` are all >= `threshold`."""
        recent = np.asarray(signals, dtype=np.float64)[: epoch + 1][-self.patience :]
        return recent.size == self.patience and bool(np.all(recent >= self.threshold))

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
            "if_unsettled": self.if_unsettled,
        }
