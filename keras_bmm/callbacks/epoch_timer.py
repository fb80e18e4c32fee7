"""`EpochTimer`: adds each epoch's wall time to the logs."""

from __future__ import annotations

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds`, the epoch's wall time, to the epoch's logs.

    Listed before `keras.callbacks.CSVLogger`, it puts the time of every
    epoch into the run's history, so a run's training time is known even when
    it was stopped and resumed: the sum of the column over all epochs. The
    time covers the train steps, validation and the callbacks listed before
    this one (for `train`, the mixture fit of `BMMCallback`).

    Args:
        key: name of the log entry.

    Example:

    ```python
    from keras_bmm.callbacks import EpochTimer

    history = model.fit(x, y, epochs=3, callbacks=[EpochTimer()])
    total_seconds = sum(history.history["epoch_seconds"])
    ```
    """

    def __init__(self, key: str = "epoch_seconds") -> None:
        super().__init__()
        self.key = key
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._start is not None:
            logs[self.key] = time.perf_counter() - self._start
