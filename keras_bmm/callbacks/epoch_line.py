"""`EpochLine`: Keras's progress bar, showing only the figures a person reads."""

from __future__ import annotations

import math

import keras

#: Logged key -> name on the line, in order.
SHOWN = {
    "loss": "loss",
    "accuracy": "accuracy",
    "val_accuracy": "test_accuracy",
    "noisy_val_accuracy": "held_out_accuracy",
    "bmm_noise_fraction": "noise",
}


class EpochLine(keras.callbacks.ProgbarLogger):
    """The progress bar (or one line per epoch) with a few figures, not every log.

    `BMMCallback` logs some twenty numbers per epoch (the mixture's
    parameters, the start rule's signals, detection metrics); they all go to
    the history file and TensorBoard, but the terminal shows only the loss,
    the training accuracy, the test or held-out accuracy, the estimated
    share of wrong labels (`noise`, the mixture's mean p(noisy)) and, for a
    bootstrapping method, whether the epoch bootstrapped (`bootstrapping`:
    1 or 0).

    Args:
        shown: logged key -> name on the line (default `SHOWN`).

    Example:

    ```python
    model.fit(ds, epochs=30, verbose=2, callbacks=[BMMCallback(), EpochLine()])
    ```
    """

    def __init__(self, shown: dict | None = None):
        super().__init__()
        self.shown = dict(SHOWN if shown is None else shown)

    def _line(self, epoch: int | None, logs) -> dict:
        logs = logs or {}
        line = {}
        for key, name in self.shown.items():
            value = logs.get(key)
            if value is not None and _finite(value):
                line[name] = float(value)
        start = logs.get("bootstrap_epoch")
        if epoch is not None and getattr(self.model, "uses_bmm", False):
            started = start is not None and _finite(start) and epoch + 1 >= float(start)
            line["bootstrapping"] = 1.0 if started else 0.0
        return line

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, self._line(None, logs))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, self._line(epoch, logs))


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
