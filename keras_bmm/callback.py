"""`BMMCallback`: fits the beta mixture to all per-sample losses after each epoch."""

from __future__ import annotations

import logging

import keras
import numpy as np

from keras_bmm.mixture import BetaMixture, fit_losses, loss_bounds
from keras_bmm.model import BootstrappingModel

logger = logging.getLogger(__name__)


def detection_auc(noise_mask, scores) -> float:
    """ROC AUC of `scores` as a detector of `noise_mask`; NaN if one class is absent."""
    from sklearn.metrics import roc_auc_score

    noise_mask = np.asarray(noise_mask, dtype=bool)
    if noise_mask.all() or not noise_mask.any():
        return float("nan")
    return float(roc_auc_score(noise_mask, scores))


def detection_metrics(noise_mask, posterior, threshold: float = 0.5) -> dict:
    """How well p(noisy) finds the truly noisy samples.

    Args:
        noise_mask: bool array, `True` for truly mislabelled samples.
        posterior: p(noisy) per sample.
        threshold: a sample is flagged noisy when p(noisy) > threshold.

    Returns:
        A dict with `bmm_auc` (ROC AUC; NaN if all or no samples are noisy),
        `bmm_precision` and `bmm_recall` of the flagged samples (NaN when
        undefined: nothing flagged, or nothing noisy) and
        `true_noise_fraction`.
    """
    noise_mask = np.asarray(noise_mask, dtype=bool)
    flagged = np.asarray(posterior) > threshold
    hits = float(np.sum(flagged & noise_mask))
    return {
        "bmm_auc": detection_auc(noise_mask, posterior),
        "bmm_precision": hits / flagged.sum() if flagged.any() else float("nan"),
        "bmm_recall": hits / noise_mask.sum() if noise_mask.any() else float("nan"),
        "true_noise_fraction": float(noise_mask.mean()) if noise_mask.size else float("nan"),
    }


class BMMCallback(keras.callbacks.Callback):
    """Fits a fresh two-component beta mixture to every sample's loss each epoch.

    At the end of each epoch it gathers each training sample's cross-entropy
    against its given label, drops values outside the 5th-95th percentiles,
    min-max scales with those percentiles, fits a `BetaMixture`, and stores
    the mixture and the bounds in the model's non-trainable weights, where the
    next epoch's train steps read p(noisy | loss). At the start of each epoch
    it tells the model the epoch number (for the warm-up).

    Losses come from one of two places:

    - with no `data` (the default), from the model's own record: the train
      step of a `BootstrappingModel(num_samples=N)` stores every sample's
      training-mode loss on its un-mixed input (the fast step's extra pass;
      for `"ce"`, its own forward pass)
      by the `"index"` in its inputs during the epoch;
    - with `data`, from a separate inference-mode pass over that dataset at
      the epoch's end, as the reference code does (slower, exact for the
      end-of-epoch weights).

    The epoch `logs` receive the mixture's parameters (`bmm_alpha_clean`,
    `bmm_beta_clean`, `bmm_alpha_noisy`, `bmm_beta_noisy`, `bmm_weight_noisy`),
    `bmm_noise_fraction` (the mean p(noisy) over all samples: the estimated
    fraction of noisy labels) and, when `noise_mask` is given, the detection
    metrics of `detection_metrics`: `bmm_auc` (ROC AUC of p(noisy) against the
    true mask), `bmm_precision` and `bmm_recall` of p(noisy) > 0.5, and
    `true_noise_fraction` to set against `bmm_noise_fraction`. Place this callback before
    others that read the logs (e.g. `CSVLogger`), so that they see these values.

    Args:
        data: optional `tf.data.Dataset` of `(x, y)` batches over the training
            set in a fixed order (no shuffling, no augmentation), `x` being
            images or `{"image", "index"}`; its losses are recomputed each epoch.
        noise_mask: optional bool array, `True` for truly mislabelled samples
            (known only for synthetic noise), indexed like the training set.
        max_iters: EM iterations per fit (the paper uses 10).
        tol: optional early-stopping tolerance of the EM.
        lower_percentile: lower normalisation percentile (default 5).
        upper_percentile: upper normalisation percentile (default 95).

    Example:

    >>> model.fit(train_ds, epochs=30, callbacks=[keras_bmm.BMMCallback()])
    >>> model.history.history["bmm_noise_fraction"][-1]
    """

    def __init__(
        self,
        data=None,
        noise_mask=None,
        max_iters: int = 10,
        tol: float | None = None,
        lower_percentile: float = 5.0,
        upper_percentile: float = 95.0,
    ):
        super().__init__()
        self.data = data
        self.noise_mask = None if noise_mask is None else np.asarray(noise_mask, dtype=bool)
        self.max_iters = max_iters
        self.tol = tol
        self.lower_percentile = lower_percentile
        self.upper_percentile = upper_percentile
        # Validates the EM settings now rather than at the first epoch's end.
        BetaMixture(max_iters=max_iters, tol=tol)
        loss_bounds([0.0], lower_percentile, upper_percentile)
        self._clear()

    def _clear(self):
        self.mixture = None
        self.bounds = None
        self.losses = None
        self.posterior = None
        self.epoch_logs = []

    def on_train_begin(self, logs=None):
        if not isinstance(self.model, BootstrappingModel):
            raise TypeError(
                "BMMCallback needs a keras_bmm.BootstrappingModel, got "
                f"{type(self.model).__name__}."
            )
        if self.data is None and self.model.num_samples is None:
            raise ValueError(
                "BMMCallback() without data= reads the losses the model records during "
                "training: build BootstrappingModel(..., num_samples=N) and feed inputs as "
                '{"image": images, "index": sample_indices}, or pass BMMCallback(data=...).'
            )
        if self.data is None and not self.model.fast and self.model.method != "ce":
            raise ValueError(
                "BootstrappingModel(fast=False) records no losses during training, as the "
                "reference code: pass the training set in order, un-augmented, as "
                "BMMCallback(data=...) (e.g. keras_bmm.data.eval_pipeline(images, labels, "
                "batch_size, indexed=True))."
            )
        if (
            self.noise_mask is not None
            and self.model.num_samples is not None
            and self.noise_mask.size != self.model.num_samples
        ):
            raise ValueError(
                f"noise_mask has {self.noise_mask.size} entries but the model has "
                f"num_samples={self.model.num_samples}."
            )
        self._clear()

    def report(self, images, labels=None, clean_labels=None, files=None, batch_size: int = 256):
        """The per-sample noise report of the trained model (see `keras_bmm.noise_report`).

        Args:
            images: the training images, in index order, un-augmented.
            labels: the given (noisy) labels; required.
            clean_labels: ground-truth labels, when known.
            files: optional file of each image.
            batch_size: inference batch size.

        Returns:
            A list of row dicts, one per training sample.
        """
        from keras_bmm.report import noise_report

        if self.model is None:
            raise ValueError("BMMCallback.report(): the callback has not been used in fit() yet.")
        return noise_report(self.model, images, labels, clean_labels, files, batch_size)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.epoch.assign(epoch)
        self.model.reset_sample_losses()

    def _gather(self):
        """Returns `(losses, seen)`: per-sample losses by index and which were seen."""
        if self.data is not None:
            losses, index = self.model.sample_losses_of(self.data)
            size = self.model.num_samples or int(index.max()) + 1
            if index.min() < 0 or index.max() >= size:
                raise ValueError(
                    f"BMMCallback(data=...): sample indices must lie in [0, {size - 1}], got "
                    f"[{int(index.min())}, {int(index.max())}]."
                )
            if np.unique(index).size != index.size:
                raise ValueError(
                    "BMMCallback(data=...): the dataset repeats sample indices; pass each "
                    "training sample once (no .repeat(), no augmentation copies)."
                )
            full = np.zeros(size, dtype=np.float64)
            seen = np.zeros(size, dtype=bool)
            full[index] = losses
            seen[index] = True
            return full, seen
        losses, counts = self.model.recorded_losses()
        seen = counts > 0
        if not seen.any():
            raise ValueError(
                "No per-sample loss was recorded this epoch: the training inputs carry "
                'no "index". Feed {"image": images, "index": sample_indices} or pass '
                "BMMCallback(data=...)."
            )
        return losses.astype(np.float64), seen

    def on_epoch_end(self, epoch, logs=None):
        losses, seen = self._gather()
        if not seen.all():
            logger.warning(
                "BMMCallback: %d of %d samples had no loss recorded this epoch; the "
                "mixture is fitted on the %d seen.",
                int((~seen).sum()),
                seen.size,
                int(seen.sum()),
            )
        if self.noise_mask is not None and self.noise_mask.size != losses.size:
            raise ValueError(
                f"noise_mask has {self.noise_mask.size} entries but {losses.size} training "
                "samples were tracked."
            )
        observed = losses[seen]
        bad = ~np.isfinite(observed)
        if bad.any():
            first = int(np.flatnonzero(seen)[np.flatnonzero(bad)[0]])
            raise ValueError(
                f"Epoch {epoch}: {int(bad.sum())} per-sample loss(es) are NaN or infinite "
                f"(first at sample {first}); training has diverged. Lower the learning "
                "rate or check the inputs for NaN."
            )
        mixture, bounds = fit_losses(
            observed, self.max_iters, self.tol, self.lower_percentile, self.upper_percentile
        )
        self.model.set_noise_model(mixture, bounds)
        posterior = np.full(losses.shape, np.nan)
        posterior[seen] = self.model.noise_posterior(observed).numpy()
        self.mixture, self.bounds, self.losses, self.posterior = mixture, bounds, losses, posterior

        clean, noisy = mixture.clean_component, mixture.noisy_component
        entries = {
            "bmm_alpha_clean": float(mixture.alphas[clean]),
            "bmm_beta_clean": float(mixture.betas[clean]),
            "bmm_alpha_noisy": float(mixture.alphas[noisy]),
            "bmm_beta_noisy": float(mixture.betas[noisy]),
            "bmm_weight_noisy": float(mixture.weights[noisy]),
            "bmm_noise_fraction": float(posterior[seen].mean()),
        }
        if self.noise_mask is not None:
            entries.update(detection_metrics(self.noise_mask[seen], posterior[seen]))
        self.epoch_logs.append({"epoch": epoch, **entries})
        if logs is not None:
            logs.update(entries)
