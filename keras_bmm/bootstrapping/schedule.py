"""`PhaseSchedule`: which phase of the method an epoch is in (and `refreshes`)."""

from __future__ import annotations

import collections

import tensorflow as tf

#: The phase of one train step, as scalar tensors.
Phase = collections.namedtuple("Phase", ["bootstrapping", "dynamic_mixup", "temperature"])


class PhaseSchedule:
    """The paper's phases, by epoch: warm-up, (dynamic mixup), bootstrapping.

    - Epochs before the start epoch: plain mixup (the warm-up). The start is
      `warmup_epochs`, or, with an `AutoWarmup`, the epoch it chooses during
      training (the model's `NoiseModelState.start_epoch`, -1 until then).
    - Then, once a mixture has been fitted, bootstrapping. For MD-DYR-SH,
      dynamic mixup (inputs mixed by their p(noisy)) starts there and
      continues to the end; soft-to-hard bootstrapping starts
      `dynamic_epochs` later, its softmax temperature falling linearly from 1
      to `final_temperature` over `temperature_epochs` epochs, then staying.

    Args:
        method: one of `keras_bmm.bootstrapping.methods.METHODS`.
        warmup_epochs: epochs of plain mixup before bootstrapping (the start
            epoch of `phase`, unless it is given one).
        dynamic_epochs: MD-DYR-SH only: epochs of dynamic mixup before
            bootstrapping.
        temperature_epochs: MD-DYR-SH only: epochs of the temperature's fall.
        final_temperature: MD-DYR-SH only: the last temperature.

    Example:

    ```python
    schedule = PhaseSchedule("md-dyr-sh", warmup_epochs=105, dynamic_epochs=5)
    phase = schedule.phase(epoch=tf.constant(107), fitted=tf.constant(True))
    phase = schedule.phase(tf.constant(107), tf.constant(True), start_epoch=tf.constant(100))
    ```
    """

    def __init__(
        self,
        method: str,
        warmup_epochs: int,
        dynamic_epochs: int = 5,
        temperature_epochs: int = 89,
        final_temperature: float = 1e-3,
    ):
        self.method = method
        self.warmup_epochs = int(warmup_epochs)
        self.dynamic_epochs = int(dynamic_epochs)
        self.temperature_epochs = int(temperature_epochs)
        self.final_temperature = float(final_temperature)

    def phase(self, epoch, fitted, start_epoch=None) -> Phase:
        """The phase of `epoch` (0-based).

        Args:
            epoch: scalar int tensor, the current epoch.
            fitted: scalar bool tensor, whether a mixture has been fitted.
            start_epoch: scalar int tensor, the epoch bootstrapping starts
                (negative: not yet chosen); default `warmup_epochs`.

        Returns:
            A `Phase` of scalar tensors: `bootstrapping` (targets mix in the
            prediction), `dynamic_mixup` (MD-DYR-SH's per-sample mixing
            weights) and the soft targets' `temperature`.
        """
        epoch = tf.convert_to_tensor(epoch)
        start = self.warmup_epochs if start_epoch is None else start_epoch
        start = tf.cast(start, epoch.dtype)
        active = tf.logical_and(tf.logical_and(start >= 0, epoch >= start), fitted)
        if self.method != "md-dyr-sh":
            return Phase(active, tf.constant(False), tf.constant(1.0))
        since = epoch - start - self.dynamic_epochs
        step = tf.cast(tf.clip_by_value(since, 0, self.temperature_epochs - 1), tf.float32)
        fraction = step / max(self.temperature_epochs - 1, 1)
        temperature = 1.0 + (self.final_temperature - 1.0) * fraction
        return Phase(tf.logical_and(active, since >= 0), active, temperature)


def refreshes(epoch: int, start: int | None, every: int, epochs: int | None = None) -> bool:
    """Whether the steps of `epoch` make fresh bootstrap targets (`target_refresh`).

    Every epoch before the start does (the warm-up records the losses the
    mixture is fitted on); from the start, every `every`-th epoch and the
    run's last. In between, the steps reuse the last refresh's record.
    Bootstrapping needs a fitted mixture, so it begins at epoch 1 at the
    earliest: a start at 0 is counted from 1.

    Args:
        epoch: the (0-based) epoch.
        start: the epoch bootstrapping starts, or `None` while still to choose.
        every: `target_refresh`, >= 1 (1: every epoch).
        epochs: the run's epochs, when known.

    Returns:
        True when the epoch refreshes.
    """
    if every == 1 or start is None:
        return True
    start = max(int(start), 1)
    last = epochs is not None and int(epoch) >= int(epochs) - 1
    return epoch <= start or last or (int(epoch) - start) % int(every) == 0
