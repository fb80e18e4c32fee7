"""`PipelineEpoch`: tells a one-epoch pipeline which epoch Keras is starting."""

from __future__ import annotations

import keras


class PipelineEpoch(keras.callbacks.Callback):
    """Sets a pipeline's epoch variable to Keras's epoch before the epoch's batches are read.

    `keras_bmm.data.train_pipeline(..., epochs=None)` returns one epoch that
    Keras iterates anew each epoch; the batches of an iteration are those of
    the epoch in its `epoch_variable`. This callback sets that variable at
    every epoch's start, so `fit(..., initial_epoch=k)` (a resumed run)
    trains epoch `k` on epoch `k`'s batches. It also remembers where
    training is (`epoch`, `batch`), which error messages use.
    `BootstrappingModel.fit` adds it for a dataset that has an epoch
    variable; pass it yourself to other models.

    Args:
        dataset_or_variable: a dataset from `train_pipeline(epochs=None)`, or
            its `epoch_variable`.

    Example:

    ```python
    ds = keras_bmm.data.train_pipeline(x, y, 128, augment=True)
    model.fit(ds, epochs=10, initial_epoch=4, callbacks=[PipelineEpoch(ds)])
    ```
    """

    def __init__(self, dataset_or_variable):
        super().__init__()
        variable = getattr(dataset_or_variable, "epoch_variable", dataset_or_variable)
        if variable is None or not hasattr(variable, "assign"):
            raise ValueError(
                "PipelineEpoch needs a dataset from train_pipeline(..., epochs=None) or its "
                f"epoch_variable, got {dataset_or_variable!r}."
            )
        self.variable = variable
        self.epoch = None
        self.batch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(int(epoch))
        self.epoch, self.batch = int(epoch), -1

    def on_train_batch_end(self, batch, logs=None):
        self.batch = int(batch)


def with_pipeline_epoch(x, callbacks) -> list:
    """`callbacks`, with a `PipelineEpoch` first when `x` has an epoch variable it lacks."""
    callbacks = list(callbacks or [])
    variable = getattr(x, "epoch_variable", None)
    if variable is None or any(
        isinstance(c, PipelineEpoch) and c.variable is variable for c in callbacks
    ):
        return callbacks
    return [PipelineEpoch(variable), *callbacks]
