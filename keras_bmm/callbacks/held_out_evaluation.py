"""`HeldOutEvaluation`: accuracy on a held-out part of the noisy training set, in the epoch logs."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class HeldOutEvaluation(keras.callbacks.Callback):
    """Evaluates the model on held-out training samples against their (noisy) labels.

    Besides the loss and the accuracy it logs `<prefix>_kappa`, Cohen's kappa
    of the arg-max against those labels: how far the network beats chance,
    which the automatic warm-up and the label suggestions read.

    Without a clean test set, accuracy on held-out noisy labels is the
    measure left: under symmetric noise with rate `r` over `C` classes a
    prediction of clean accuracy `a` matches the noisy label with
    probability `(1 - r) a + r / C`, an increasing function of `a`. The
    epoch logs receive `<prefix>_loss`, `<prefix>_accuracy` and `<prefix>_kappa` every `every`
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
        self._forward = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last = self.epochs is not None and epoch + 1 >= self.epochs
        values = {"loss": float("nan"), "accuracy": float("nan"), "kappa": float("nan")}
        if last or (epoch + 1) % self.every == 0:
            values.update(self._evaluate())
        for key, value in values.items():
            logs[f"{self.prefix}_{key}"] = value

    def _evaluate(self) -> dict:
        """Loss, accuracy and kappa over the held-out batches (empty: nothing)."""
        from keras_bmm.bootstrapping.passes import split_inputs
        from keras_bmm.bootstrapping.warmup_signals import kappa

        if self._forward is None:
            backbone = getattr(self.model, "backbone", self.model)
            self._forward = tf.function(
                lambda x: backbone(x, training=False), reduce_retracing=True
            )
        logits, labels = [], []
        for batch in self.data:
            x, y = batch[0], batch[1]
            images, _ = split_inputs(x)
            logits.append(tf.cast(self._forward(tf.cast(images, tf.float32)), tf.float32).numpy())
            labels.append(np.asarray(y).reshape(-1))
        if not logits:  # no held-out sample left (all files left out)
            return {}
        logits, labels = np.concatenate(logits), np.concatenate(labels).astype(np.int64)
        log_p = logits - logits.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        predicted = logits.argmax(axis=1)
        return {
            "loss": float(-log_p[np.arange(labels.size), labels].mean()),
            "accuracy": float(np.mean(predicted == labels)),
            "kappa": kappa(predicted, labels, logits.shape[1]),
        }
