"""`BMMCallback`: fits the beta mixture to all per-sample losses after each epoch."""

from __future__ import annotations

import logging
import warnings

import keras
import numpy as np

from keras_bmm.bootstrapping.noise_model_state import MixtureFit, NoiseModelState
from keras_bmm.bootstrapping.passes import dataset_losses
from keras_bmm.bootstrapping.warmup_signals import (
    SIGNALS,
    clean_agreement,
    kappa,
    prediction_changes,
    rank_stability,
)
from keras_bmm.mixture.beta_mixture import BetaMixture, fit_losses, noisy_component
from keras_bmm.mixture.detection import detection_metrics
from keras_bmm.mixture.normalization import loss_bounds

logger = logging.getLogger(__name__)


class BMMCallback(keras.callbacks.Callback):
    """Fits a fresh two-component beta mixture to every sample's loss each epoch.

    At the end of each epoch it gathers each training sample's cross-entropy
    against its given label, drops values outside the 5th-95th percentiles,
    min-max scales with those percentiles, fits a `BetaMixture`, and stores
    the mixture and the bounds in the model's `noise_state`, where the next
    epoch's train steps read p(noisy | loss). At the start of each epoch it
    tells the model the epoch number (for the warm-up).

    Losses come from one of two places:

    - with no `data` (the default), from the model's own record: the train
      step of a `BootstrappingModel(num_samples=N)` stores every sample's
      training-mode loss on its un-mixed input by the `"index"` in its inputs;
    - with `data`, from a separate inference-mode pass over that dataset at
      the epoch's end, as the reference code does.

    With `warmup_epochs="auto"`, it also computes the start rule's signals
    (`keras_bmm.bootstrapping.warmup_signals`), keeps them in the model's
    state, asks the model's `AutoWarmup` whether to start, and prints the
    start and its reason (`start_reason`) when it does.

    The epoch `logs` receive the mixture's parameters (`bmm_alpha_clean`,
    `bmm_beta_clean`, `bmm_alpha_noisy`, `bmm_beta_noisy`, `bmm_weight_noisy`),
    `bmm_noise_fraction` (the mean p(noisy)), the signals
    `prediction_changes` (the share of samples whose arg-max changed since
    the last epoch), `label_kappa` (Cohen's kappa of the arg-max against the
    given labels), `held_out_kappa` (the same on held-out samples, read from
    the logs' `noisy_val_kappa` when a `HeldOutEvaluation` placed before this
    callback wrote it), `warmup_signal` (the rank correlation of the losses
    with the last epoch's) and `clean_agreement` (the share of the samples
    the mixture calls clean whose arg-max is their given label), then
    `label_agreement`, `bootstrap_epoch` (the first epoch of bootstrapping,
    counted from 1 as Keras counts epochs, once known) and, given
    `noise_mask`, `bmm_auc`, `bmm_precision`, `bmm_recall` and
    `true_noise_fraction`. Place this callback before others
    that read the logs (e.g. `CSVLogger`). A model with `target_refresh`
    above 1 records nothing between refreshes: those epochs keep the
    mixture, log its entries again and no signal (NaN).

    Args:
        data: optional `tf.data.Dataset` of `(x, y)` batches over the training
            set, `x` being images or `{"image", "index"}`, or a function of
            the epoch that returns one (e.g. to augment each epoch anew); its
            losses are recomputed in inference mode after each epoch.
        noise_mask: optional bool array, `True` for truly mislabelled samples
            (known only for synthetic noise), indexed like the training set.
        max_iters: EM iterations per fit (the paper uses 10).
        tol: optional early-stopping tolerance of the EM.
        lower_percentile: lower normalisation percentile (default 5).
        upper_percentile: upper normalisation percentile (default 95).

    Example:

    ```python
    history = model.fit(train_ds, epochs=30, callbacks=[keras_bmm.BMMCallback()])
    history.history["bmm_noise_fraction"][-1]
    ```
    """

    #: Marks a callback that fits the model's noise model (see `BootstrappingModel.fit`).
    updates_noise_model = True

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
        self.epoch_logs = []
        self.start_reason = None
        self._unseen = 0
        self._warned_records = False

    @property
    def state(self) -> NoiseModelState:
        """The model's `NoiseModelState`."""
        return self.model.noise_state

    @property
    def mixture(self):
        """The last fitted `BetaMixture` (None before the first epoch's end)."""
        fit = self.state.last_fit if self.model is not None else None
        return None if fit is None else fit.mixture

    def on_train_begin(self, logs=None):
        if not isinstance(getattr(self.model, "noise_state", None), NoiseModelState):
            raise TypeError(
                "BMMCallback needs a keras_bmm.BootstrappingModel, got "
                f"{type(self.model).__name__}."
            )
        state = self.state
        if self.data is None and state.num_samples is None:
            raise ValueError(
                "BMMCallback() without data= reads the losses the model records during "
                "training: build BootstrappingModel(..., num_samples=N) and feed inputs as "
                '{"image": images, "index": sample_indices}, or pass BMMCallback(data=...).'
            )
        if state.warmup_rule is not None and state.previous_losses is None:
            raise ValueError(
                'warmup_epochs="auto" compares each sample\'s loss and prediction with the '
                "previous epoch's: build BootstrappingModel(..., num_samples=N)."
            )
        if self.data is None and not state.records_losses:
            raise ValueError(
                "BootstrappingModel(fast=False) records no losses during training, as the "
                "reference code: pass the training set in order as BMMCallback(data=...) "
                "(e.g. keras_bmm.data.train_pipeline(..., shuffle=False, epochs=None))."
            )
        if (
            self.noise_mask is not None
            and state.num_samples is not None
            and self.noise_mask.size != state.num_samples
        ):
            raise ValueError(
                f"noise_mask has {self.noise_mask.size} entries but the model has "
                f"num_samples={state.num_samples}."
            )
        self.epoch_logs = []
        self.start_reason = None
        self._unseen = 0
        self._warned_records = False

    def on_epoch_begin(self, epoch, logs=None):
        self.state.set_epoch(epoch, (self.params or {}).get("epochs"))
        self.state.reset_losses()

    def _gather(self, epoch):
        """`(losses, seen, predicted, labels)` by sample index; -1 where a class is unknown."""
        if self.data is not None:
            data = self.data(epoch) if callable(self.data) else self.data
            losses, index, predicted, labels = dataset_losses(self.model, data)
            size = self.state.num_samples or int(index.max()) + 1
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
            by_index = np.full((2, size), -1, dtype=np.int64)
            full[index], seen[index] = losses, True
            by_index[0, index], by_index[1, index] = predicted, labels
            return full, seen, by_index[0], by_index[1]
        losses, counts = self.state.recorded_losses()
        seen = counts > 0
        if not seen.any():
            raise ValueError(
                "No per-sample loss was recorded this epoch: the training inputs carry "
                'no "index". Feed {"image": images, "index": sample_indices} or pass '
                "BMMCallback(data=...)."
            )
        predicted, labels = self.state.recorded_predictions()
        return losses.astype(np.float64), seen, predicted, labels

    def on_epoch_end(self, epoch, logs=None):
        if not self.state.is_refreshing():
            self._log(epoch, self._kept_mixture_entries(), logs)
            return
        losses, seen, predicted, labels = self._gather(epoch)
        unseen = int((~seen).sum())
        if unseen != self._unseen:  # said once, and again only if the count changes
            self._unseen = unseen
            logger.warning(
                "BMMCallback: %d of %d samples have no loss recorded (e.g. image files "
                "left out because they did not decode); the mixture is fitted on the %d seen.",
                unseen,
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
        self.state.set_mixture(mixture, bounds)
        self.state.last_fit = MixtureFit(epoch, mixture, bounds, losses, seen)
        posterior = self.state.posterior(observed).numpy()
        entries = _mixture_entries(mixture.alphas, mixture.betas, mixture.weights, posterior)
        known = predicted[seen] >= 0
        self._warn_unusable_records(epoch, predicted)
        hits = np.where(known, predicted[seen] == labels[seen], np.nan)
        signals = {
            "clean_agreement": clean_agreement(hits, posterior),
            "label_kappa": kappa(predicted, labels),
            "held_out_kappa": float((logs or {}).get("noisy_val_kappa", np.nan)),
            "noise_fraction": entries["bmm_noise_fraction"],
        }
        entries["label_agreement"] = float(np.mean(hits[known])) if known.any() else np.nan
        if self.state.previous_losses is not None:
            losses_seen = np.where(seen, losses, np.nan)
            previous_losses, previous = self.state.remember(losses_seen, predicted)
            signals["settling"] = rank_stability(losses_seen, previous_losses)
            signals["prediction_changes"] = prediction_changes(predicted, previous)
        self.state.store_signals(epoch, signals)
        self._decide_start(epoch)
        entries.update({n: signals.get(n, np.nan) for n in SIGNALS if n != "noise_fraction"})
        entries["warmup_signal"] = entries.pop("settling")
        if self.noise_mask is not None:
            entries.update(detection_metrics(self.noise_mask[seen], posterior))
        self._log(epoch, entries, logs)

    def _log(self, epoch: int, entries: dict, logs) -> None:
        """Adds the start (`bootstrap_epoch`) and writes the epoch's entries."""
        start = self.state.chosen_start()
        # 1-based, as Keras counts epochs: the first epoch that bootstraps.
        entries["bootstrap_epoch"] = float("nan") if start is None else float(start + 1)
        self.epoch_logs.append({"epoch": epoch, **entries})
        if logs is not None:
            logs.update(entries)

    def _warn_unusable_records(self, epoch: int, predicted) -> None:
        """With `target_refresh`, says (once) when many samples have no single
        record to bootstrap from until the next refresh."""
        if self.state.target_refresh == 1 or self._warned_records:
            return
        unusable = int((predicted < 0).sum())
        if unusable > 0.1 * predicted.size:
            self._warned_records = True
            warnings.warn(
                f"Epoch {epoch + 1}: {unusable} of {predicted.size} samples were not trained "
                "exactly once this epoch; with target_refresh they keep their given labels "
                "until the next refresh. Feed each sample once per epoch (e.g. "
                "keras_bmm.data.train_pipeline(..., epochs=None), no steps_per_epoch).",
                stacklevel=2,
            )

    def _kept_mixture_entries(self) -> dict:
        """An epoch between refreshes (`target_refresh`) recorded nothing: the
        entries of the mixture it kept, read from the model's state (so a
        resumed run logs the same); no new signal."""
        state = self.state
        alphas, betas, weights = keras.ops.convert_to_numpy(state.parameters).astype(np.float64)
        losses = keras.ops.convert_to_numpy(state.previous_losses)
        seen = np.isfinite(losses)
        posterior = state.posterior(losses[seen]).numpy()
        entries = _mixture_entries(alphas, betas, weights, posterior)
        entries["label_agreement"] = np.nan
        entries.update({n: np.nan for n in SIGNALS if n not in ("noise_fraction", "settling")})
        entries["warmup_signal"] = np.nan
        if self.noise_mask is not None:
            entries.update(detection_metrics(self.noise_mask[seen], posterior))
        return entries

    def replay_start_reason(self, epochs: int | None = None) -> str | None:
        """Why the start rule chose the model's start, asked again of the signals it keeps.

        A resumed run chose its start before it stopped, so this callback
        never heard the reason; the rule is a function of the signals the
        model keeps, and asking it again gives the same sentence.

        Args:
            epochs: the run's epochs (default: those `fit` was given).

        Returns:
            The sentence, or `None` when no model is set, no rule chose the
            start or its signals are no longer kept.
        """
        if self.model is None or self.state.warmup_rule is None:
            return None
        start = self.state.chosen_start()
        if start is None:
            return None
        decision = self._ask_rule(start - 1, epochs)  # chosen at the last warm-up epoch's end
        return decision.reason if decision.start else None

    def _ask_rule(self, epoch: int, epochs: int | None = None):
        """The start rule's decision on the signals kept up to `epoch`."""
        state = self.state
        epochs = epochs or (self.params or {}).get("epochs")
        return state.warmup_rule.decide(
            state.signal_history(epoch), epoch, epochs, state.reserve_epochs
        )

    def _decide_start(self, epoch: int) -> None:
        """Asks the model's start rule while the start is open, and says what it chose."""
        state, rule = self.state, self.state.warmup_rule
        if rule is None or state.chosen_start() is not None:
            return
        decision = self._ask_rule(epoch)
        if decision.start:
            state.choose_start(epoch + 1, decision.signal, decision.value)
            self.start_reason = decision.reason
            if (self.params or {}).get("verbose", 1):
                print(
                    f"Epoch {epoch + 1}: bootstrapping starts at epoch {epoch + 2}: "
                    f"{decision.reason}.",
                    flush=True,
                )
        elif decision.gave_up:
            warnings.warn(
                f"Epoch {epoch + 1}: the network is not ready to bootstrap from by the latest "
                f"start: {decision.reason}. Bootstrapping will not start; training keeps the "
                "warm-up (mixup) to the end. Set warmup_epochs to a number of epochs to force "
                "a start.",
                stacklevel=2,
            )


def _mixture_entries(alphas, betas, weights, posterior) -> dict:
    """The epoch logs' entries of a mixture and its p(noisy) of the samples seen."""
    noisy = noisy_component(alphas, betas)
    clean = 1 - noisy
    return {
        "bmm_alpha_clean": float(alphas[clean]),
        "bmm_beta_clean": float(betas[clean]),
        "bmm_alpha_noisy": float(alphas[noisy]),
        "bmm_beta_noisy": float(betas[noisy]),
        "bmm_weight_noisy": float(weights[noisy]),
        "bmm_noise_fraction": float(np.mean(posterior)),
    }
