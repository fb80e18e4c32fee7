"""`PlotCallback`: the loss histogram with the fitted mixture, at chosen epochs."""

from __future__ import annotations

import os

import keras

from keras_bmm.mixture.normalization import normalize_losses


class PlotCallback(keras.callbacks.Callback):
    """Writes the loss histogram and fitted mixture of chosen epochs as PNG files.

    It reads the fit that `keras_bmm.BMMCallback` leaves in the model's
    `noise_state` (`last_fit`). An epoch's fit is plotted once it exists,
    at the end of that epoch or at the start of the next, so the order of
    the two callbacks does not matter.

    Args:
        directory: folder of the PNG files (`losses_epoch_NNN.png`).
        epochs: 0-based epochs to plot; `None` plots every epoch.
        noise_mask: optional true noise mask, to split the histogram.
        warmup_end: also plot the last epoch before bootstrapping starts,
            when an automatic warm-up chooses it during training.

    Example:

    ```python
    model.fit(ds, epochs=30, callbacks=[keras_bmm.BMMCallback(), PlotCallback("plots")])
    ```
    """

    def __init__(self, directory: str, epochs=None, noise_mask=None, warmup_end: bool = False):
        super().__init__()
        self.directory = directory
        self.epochs = None if epochs is None else {int(e) for e in epochs}
        self.noise_mask = noise_mask
        self.warmup_end = warmup_end
        self.paths = []
        self._pending = []

    def on_train_begin(self, logs=None):
        self.paths = []
        self._pending = []

    def on_epoch_end(self, epoch, logs=None):
        start = self.model.noise_state.chosen_start() if self.warmup_end else None
        if self.epochs is None or epoch in self.epochs or start == epoch + 1:
            self._pending.append(epoch)
        self._flush()

    def on_epoch_begin(self, epoch, logs=None):
        self._flush(final=True)

    def on_train_end(self, logs=None):
        self._flush(final=True)

    def _flush(self, final: bool = False):
        from keras_bmm.plots import plot_loss_histogram

        fit = self.model.noise_state.last_fit
        waiting = []
        for epoch in self._pending:
            if fit is not None and fit.epoch == epoch:
                normalized = normalize_losses(fit.losses, fit.bounds).numpy()
                path = os.path.join(self.directory, f"losses_epoch_{epoch + 1:03d}.png")
                self.paths.append(
                    plot_loss_histogram(normalized, fit.mixture, path, self.noise_mask, epoch + 1)
                )
            elif not final:
                waiting.append(epoch)
        self._pending = waiting
