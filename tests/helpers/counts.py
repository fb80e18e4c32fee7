"""A callback shared by the distribution helpers."""

import keras


class Counts(keras.callbacks.Callback):
    """Records, at each epoch's end, how often each sample's loss was gathered."""

    def __init__(self):
        super().__init__()
        self.counts = []

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(self.model.noise_state.recorded_losses()[1])
