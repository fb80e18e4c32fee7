"""`AutoWarmup`: starts bootstrapping when the losses of clean and noisy samples have separated."""

from __future__ import annotations

import math

import numpy as np


def separation(losses, posterior) -> float:
    """How far apart the losses of the likely-noisy and the likely-clean samples are.

    The difference of the two groups' mean loss, each sample weighted by its
    p(noisy) or p(clean), over their pooled standard deviation (a weighted
    Cohen's d on the raw per-sample losses). It grows while the network learns
    the clean samples and shrinks once it fits the noisy ones.

    Args:
        losses: per-sample losses of one epoch.
        posterior: each sample's p(noisy) from that epoch's mixture.

    Returns:
        The separation (0 when a group is empty).
    """
    losses = np.asarray(losses, dtype=np.float64)
    noisy = np.clip(np.asarray(posterior, dtype=np.float64), 0.0, 1.0)
    clean = 1.0 - noisy
    if noisy.sum() < 1e-9 or clean.sum() < 1e-9:
        return 0.0
    mean_noisy = np.average(losses, weights=noisy)
    mean_clean = np.average(losses, weights=clean)
    var_noisy = np.average((losses - mean_noisy) ** 2, weights=noisy)
    var_clean = np.average((losses - mean_clean) ** 2, weights=clean)
    pooled = math.sqrt(max(0.5 * (var_noisy + var_clean), 1e-12))
    return float((mean_noisy - mean_clean) / pooled)


class AutoWarmup:
    """Chooses the epoch bootstrapping starts, from the training losses alone.

    After each epoch's mixture fit it reads one number, the `separation` of
    the likely-noisy and likely-clean samples' losses, and starts
    bootstrapping at the next epoch once that number has stopped growing:
    no epoch of the last `patience` has raised its best by more than
    `tolerance` (relative), as long as at least `min_epochs` have passed.
    It starts at `max_epochs` at the latest. It reads neither the true noise
    nor any held-out data: only what a user has. The decision depends on the
    per-epoch values alone, which the model's `NoiseModelState` saves with
    its weights, so a resumed run makes the same choice.

    Args:
        min_epochs: the earliest start (epochs of warm-up at least).
        max_epochs: the latest start; `None`: 60% of the run's epochs.
        patience: epochs without a new best before starting.
        tolerance: the relative gain that counts as a new best.

    Example:

    ```python
    model = keras_bmm.BootstrappingModel(backbone, warmup_epochs="auto",
                                         auto_warmup=AutoWarmup(min_epochs=2, patience=3))
    ```
    """

    def __init__(
        self,
        min_epochs: int = 1,
        max_epochs: int | None = None,
        patience: int = 3,
        tolerance: float = 0.02,
    ):
        if int(min_epochs) < 1:
            raise ValueError(f"min_epochs must be >= 1, got {min_epochs}.")
        if max_epochs is not None and int(max_epochs) < int(min_epochs):
            raise ValueError(f"max_epochs ({max_epochs}) must be >= min_epochs ({min_epochs}).")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        if not tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0, got {tolerance}.")
        self.min_epochs = int(min_epochs)
        self.max_epochs = None if max_epochs is None else int(max_epochs)
        self.patience = int(patience)
        self.tolerance = float(tolerance)

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
            signals: the per-epoch values so far (index = epoch).
            epoch: the epoch just finished (0-based).
            epochs: the run's number of epochs (for the default `max_epochs`).
            reserve: epochs to keep after the start (MD-DYR-SH: its dynamic
                mixup and at least one epoch of bootstrapping).
        """
        started = epoch + 1
        latest = self.latest(epochs, reserve)
        if latest is not None and started >= latest:
            return True
        if started < self.min_epochs:
            return False
        values = np.asarray(signals, dtype=np.float64)[: epoch + 1]
        if values.size <= self.patience or not np.isfinite(values).all():
            return False
        best_before = np.max(values[: -self.patience])
        recent = np.max(values[-self.patience :])
        return recent <= best_before + self.tolerance * abs(best_before)

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "patience": self.patience,
            "tolerance": self.tolerance,
        }
