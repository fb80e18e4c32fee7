"""`FreezeBackbone`: train the head alone for the first epochs, then the whole network."""

from __future__ import annotations

import keras

from keras_bmm.backbones.parts import feature_extractor


class FreezeBackbone(keras.callbacks.Callback):
    """Freezes the feature extractor during epochs `[0, epochs)` of `fit`.

    While frozen, the feature extractor is not trainable: its weights get no
    updates and its batch normalisation layers run in inference mode (their
    moving statistics stay as loaded), so only the head learns. From epoch
    `epochs` on, the whole network trains.

    The state is set at the start of every epoch from the epoch's index
    alone, so a run resumed during or after the frozen phase (e.g. by
    `keras.callbacks.BackupAndRestore`) continues exactly where it stopped.
    The optimizer is built by `fit` before the first freeze, over every
    weight, so its state (and a checkpoint of it) is the same in both
    phases; a frozen weight's momentum stays zero. When the state changes,
    the model's train function is rebuilt (`make_train_function(force=True)`)
    so that the next step trains the new set of weights: changing
    `trainable` needs no recompilation.

    Args:
        epochs: epochs of the head-only phase (0: never frozen).

    Example:

    ```python
    model.fit(train, epochs=10,
              callbacks=[keras_bmm.BMMCallback(), keras_bmm.backbones.FreezeBackbone(2)])
    ```
    """

    def __init__(self, epochs: int):
        super().__init__()
        if int(epochs) < 0:
            raise ValueError(f"FreezeBackbone: epochs must be >= 0, got {epochs}.")
        self.epochs = int(epochs)

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)

    def on_epoch_begin(self, epoch, logs=None):
        set_frozen(self.model, epoch < self.epochs)

    def on_train_end(self, logs=None):
        # Leave the model as built: every weight trainable.
        set_frozen(self.model, False)


def set_frozen(model: keras.Model, frozen: bool) -> bool:
    """Sets whether the feature extractor of `model` trains; returns whether it changed.

    Args:
        model: a `BootstrappingModel` (or any compiled model) whose classifier
            comes from `keras_bmm.backbones.build`.
        frozen: `True` to train the head alone.
    """
    extractor = feature_extractor(model)
    if extractor.trainable == (not frozen):
        return False
    extractor.trainable = not frozen
    if getattr(model, "compiled", False):
        model.make_train_function(force=True)
    return True
