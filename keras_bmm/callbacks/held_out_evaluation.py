"""`HeldOutEvaluation`: accuracy on a held-out part of the noisy training set, in the epoch logs."""

from __future__ import annotations

import keras


class HeldOutEvaluation(keras.callbacks.Callback):
    """Evaluates the model on held-out training samples against their (noisy) labels.

    Without a clean test set, accuracy on held-out noisy labels is the
    measure left: under symmetric noise with rate `r` over `C` classes a
    prediction of clean accuracy `a` matches the noisy label with
    probability `(1 - r) a + r / C`, an increasing function of `a`. The
    epoch logs receive `<prefix>_loss` and `<prefix>_accuracy` every `every`
    epochs and after the last one, NaN on the other epochs (so that a
    history file has the columns from the first epoch on). Place it before
    the callbacks that read the logs.

    Args:
        data: a dataset of `(x, label)` batches of the held-out samples.
        every: evaluate every `every` epochs.
        epochs: the number of epochs of the run (the last is always evaluated).
        prefix: the name of the logged values.

    Example:

    ```python
    train_part, held_out = data.holdout(0.1, seed=0)
    callback = HeldOutEvaluation(held_out.tracking_batches(held_out.train_labels, 500))
    ```
    """

    def __init__(self, data, every: int = 1, epochs: int | None = None, prefix: str = "noisy_val"):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}.")
        self.data = data
        self.every = int(every)
        self.epochs = epochs
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last = self.epochs is not None and epoch + 1 >= self.epochs
        values = {"loss": float("nan"), "accuracy": float("nan")}
        if last or (epoch + 1) % self.every == 0:
            try:
                results = self.model.evaluate(self.data, verbose=0, return_dict=True)
                values = {key: float(results[key]) for key in values}
            except StopIteration:  # no held-out sample left (all files left out)
                pass
        for key, value in values.items():
            logs[f"{self.prefix}_{key}"] = value
