"""`NoiseModelState`: the fitted mixture, the per-sample loss record and the epoch."""

from __future__ import annotations

import collections

import keras
import numpy as np
import tensorflow as tf

from keras_bmm.bootstrapping.schedule import refreshes
from keras_bmm.bootstrapping.warmup_signals import SIGNALS
from keras_bmm.mixture.normalization import normalize_losses
from keras_bmm.mixture.posterior_table import TABLE_SIZE, table_lookup

#: Columns of the loss record: loss sum, count, hits on the given label, arg-max
#: class sum, given label sum.
RECORD_COLUMNS = 5

#: Epochs whose warm-up signal the state keeps (`AutoWarmup`).
MAX_SIGNAL_EPOCHS = 1000

#: A mixture fit as `BMMCallback` made it: what plots and reports read.
MixtureFit = collections.namedtuple("MixtureFit", ["epoch", "mixture", "bounds", "losses", "seen"])


class NoiseModelState(keras.layers.Layer):
    """What the train step and `BMMCallback` share: the noise model and the loss record.

    A `BootstrappingModel` owns one as `model.noise_state`. The callback
    writes the fitted mixture (`set_mixture`), the epoch, the start rule's
    signals (`store_signals`) and the start it chose (`choose_start`), and
    reads the losses and predictions the train step recorded
    (`recorded_losses`, `recorded_predictions`); the train step reads
    p(noisy | loss) (`posterior`) and records (`record`). Nothing else
    passes between them. The state only stores: the start rule itself is
    `warmup_rule` (an `AutoWarmup`), which the callback consults.

    The mixture's posterior table, its parameters, the normalisation bounds,
    the epoch, the start rule's signals and the previous epoch's losses and
    predictions are saved with the model's weights, so checkpoints and
    `.keras` files keep them. The loss record is emptied at every epoch's
    start and is not saved. Under a `tf.distribute` strategy each replica
    adds the losses of the samples it saw; the record is summed across
    replicas and workers as it is written, so reading it gives every sample's
    loss on every worker. A step writes O(batch) values, whatever the number
    of samples.

    Args:
        num_samples: training samples the record holds, by index; `None`
            records nothing.
        records_losses: whether the owning model's train step records
            losses (`False` for the reference arrangement, whose mixture is
            fitted on a separate pass).
        start_epoch: the epoch bootstrapping starts, or -1 when an
            `AutoWarmup` chooses it during training.
        warmup_rule: the `AutoWarmup` that chooses it (with `start_epoch=-1`).
        reserve_epochs: epochs the rule keeps after the start it chooses.
        target_refresh: bootstrapping epochs between refreshes of the
            targets (`schedule.refreshes`); 1 refreshes every epoch.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    ```python
    state = model.noise_state
    losses, counts = state.recorded_losses()
    state.set_mixture(*keras_bmm.mixture.fit_losses(losses[counts > 0]))
    ```
    """

    def __init__(
        self,
        num_samples: int | None = None,
        records_losses: bool = True,
        start_epoch: int = 0,
        warmup_rule=None,
        reserve_epochs: int = 1,
        target_refresh: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(start_epoch) < 0 and warmup_rule is None:
            raise ValueError("start_epoch=-1 (chosen during training) needs a warmup_rule.")
        if num_samples is not None and int(num_samples) < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples}.")
        self.num_samples = None if num_samples is None else int(num_samples)
        self.records_losses = bool(records_losses) and self.num_samples is not None
        self.last_fit = None
        self.warmup_rule = warmup_rule
        self.reserve_epochs = int(reserve_epochs)
        self.target_refresh = int(target_refresh)
        if self.target_refresh > 1 and self.num_samples is None:
            raise ValueError(
                "target_refresh > 1 reuses each sample's recorded loss and prediction "
                "between refreshes: it needs num_samples."
            )

        def weight(name, shape, dtype="float32", initializer="zeros"):
            return self.add_weight(
                name=name,
                shape=shape,
                dtype=dtype,
                initializer=initializer,
                trainable=False,
                autocast=False,
            )

        self.table = weight("posterior_table", (TABLE_SIZE,))
        self.parameters = weight("parameters", (3, 2))  # alphas, betas, weights
        self.bounds = weight("loss_bounds", (2,), initializer=keras.initializers.Constant([0, 1]))
        self.fitted = weight("fitted", (), dtype="int32")
        self.epoch = weight("epoch", (), dtype="int32")
        self.start_epoch = weight(
            "start_epoch", (), dtype="int32", initializer=keras.initializers.Constant(start_epoch)
        )
        # The start rule's per-epoch signals, by column (`SIGNALS`): the last
        # MAX_SIGNAL_EPOCHS epochs, epoch e in row e % MAX_SIGNAL_EPOCHS.
        self.signals = weight(
            "warmup_signals",
            (MAX_SIGNAL_EPOCHS, len(SIGNALS)),
            initializer=keras.initializers.Constant(np.nan),
        )
        # Which signal chose the start (its index in SIGNALS, or -1) and its value.
        self.start_reason = weight(
            "start_reason", (2,), initializer=keras.initializers.Constant([-1.0, np.nan])
        )
        # With target_refresh: whether this epoch's steps make their un-mixed
        # pass; set with the epoch, so not saved.
        self.refreshing = None
        if self.target_refresh > 1:
            self.refreshing = weight("refreshing", (), dtype="int32", initializer="ones")
        self.previous_losses = None
        if self.num_samples is not None:
            # The last epoch's losses, for the next epoch's signal (saved: a
            # resumed run computes the same one).
            self.previous_losses = weight(
                "previous_losses",
                (self.num_samples,),
                initializer=keras.initializers.Constant(np.nan),
            )
        self.previous_predictions = None
        if self.num_samples is not None:
            # The last epoch's arg-max predictions (-1: unknown), for the next
            # epoch's prediction changes (saved, as the losses).
            self.previous_predictions = weight(
                "previous_predictions",
                (self.num_samples,),
                initializer=keras.initializers.Constant(-1.0),
            )
        self.record_table = None
        if self.num_samples is not None:
            # Column 0 sums each sample's losses, column 1 counts them, column 2
            # counts the times its arg-max prediction was its given label,
            # column 3 sums its arg-max class and column 4 its given label. SUM
            # aggregation across replicas and workers happens at each write.
            self.record_table = keras.Variable(
                np.zeros((self.num_samples, RECORD_COLUMNS), np.float32),
                trainable=False,
                autocast=False,
                aggregation="sum",
                name="loss_record",
            )
        self.built = True

    # Saved: the mixture and the epoch, not the loss record (emptied each epoch).
    def _saved_variables(self) -> dict:
        return {
            "table": self.table,
            "parameters": self.parameters,
            "bounds": self.bounds,
            "fitted": self.fitted,
            "epoch": self.epoch,
            "start_epoch": self.start_epoch,
            "warmup_signals": self.signals,
            "start_reason": self.start_reason,
            **(
                {
                    "previous_losses": self.previous_losses,
                    "previous_predictions": self.previous_predictions,
                }
                if self.previous_losses is not None
                else {}
            ),
        }

    def save_own_variables(self, store):
        for name, variable in self._saved_variables().items():
            store[name] = variable

    def load_own_variables(self, store):
        # `store.keys()`, not `in store`: Keras 3.8's H5 entry has no `__contains__`.
        saved = set(store.keys())
        for name, variable in self._saved_variables().items():
            if name in saved:  # (older checkpoints lack the warm-up's)
                variable.assign(store[name])

    def posterior(self, losses) -> tf.Tensor:
        """p(noisy | loss) from the last fitted mixture, for raw per-sample losses."""
        normalized = normalize_losses(tf.cast(losses, tf.float32), self.bounds)
        return table_lookup(tf.convert_to_tensor(self.table), normalized)

    def is_fitted(self) -> tf.Tensor:
        """Scalar bool tensor: a mixture has been fitted."""
        return tf.convert_to_tensor(self.fitted) > 0

    def set_mixture(self, mixture, bounds) -> None:
        """Stores a fitted `BetaMixture` and its normalisation bounds.

        Args:
            mixture: a fitted `keras_bmm.BetaMixture`.
            bounds: `(low, high)` of the loss normalisation.
        """
        self.table.assign(np.asarray(mixture.table, np.float32))
        self.parameters.assign(
            np.stack([mixture.alphas, mixture.betas, mixture.weights]).astype(np.float32)
        )
        self.bounds.assign(np.asarray(bounds, np.float32))
        self.fitted.assign(1)

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Tells the train step which epoch it is in, and whether it refreshes.

        Args:
            epoch: the (0-based) epoch.
            epochs: the run's epochs, when known (its last epoch refreshes).
        """
        self.epoch.assign(int(epoch))
        if self.refreshing is None:
            return
        fresh = refreshes(epoch, self.chosen_start(), self.target_refresh, epochs)
        if not fresh:  # nothing to reuse (e.g. a new model given initial_epoch): refresh
            fresh = not np.isfinite(keras.ops.convert_to_numpy(self.previous_losses)).any()
        self.refreshing.assign(int(fresh))

    def is_refreshing(self) -> tf.Tensor:
        """Scalar bool tensor: this epoch's steps make fresh targets (`schedule.refreshes`)."""
        if self.refreshing is None:
            return tf.constant(True)
        return tf.convert_to_tensor(self.refreshing) > 0

    def chosen_start(self) -> int | None:
        """The epoch bootstrapping starts at, or `None` while it is still to be chosen."""
        start = int(keras.ops.convert_to_numpy(self.start_epoch))
        return None if start < 0 else start

    def choose_start(self, epoch: int, signal: str | None = None, value: float = np.nan):
        """Sets the epoch bootstrapping starts at, and the signal that chose it.

        Args:
            epoch: the (0-based) start epoch.
            signal: the name of the signal that decided (e.g. one of `SIGNALS`).
            value: its value.
        """
        self.start_epoch.assign(int(epoch))
        index = SIGNALS.index(signal) if signal in SIGNALS else len(SIGNALS)
        self.start_reason.assign(np.array([index, value], np.float32))

    def start_description(self) -> str | None:
        """The signal that chose the start and its value, in words (`None`: not chosen by one)."""
        index, value = keras.ops.convert_to_numpy(self.start_reason)
        if self.chosen_start() is None or not 0 <= int(index) < len(SIGNALS):
            return None
        return f"{SIGNALS[int(index)].replace('_', ' ')} {float(value):.3f}"

    def store_signals(self, epoch: int, values: dict) -> None:
        """Keeps one epoch's signals (`SIGNALS`; missing ones are NaN) for the start rule."""
        table = keras.ops.convert_to_numpy(self.signals).copy()
        table[int(epoch) % MAX_SIGNAL_EPOCHS] = [values.get(name, np.nan) for name in SIGNALS]
        self.signals.assign(table)

    def signal_history(self, epoch: int) -> dict:
        """The signals of epochs `0..epoch` by name (NaN for those no longer kept)."""
        table = keras.ops.convert_to_numpy(self.signals)
        epochs = np.arange(int(epoch) + 1)
        kept = epochs > int(epoch) - MAX_SIGNAL_EPOCHS
        history = {}
        for column, name in enumerate(SIGNALS):
            values = np.full(epochs.size, np.nan)
            values[kept] = table[epochs[kept] % MAX_SIGNAL_EPOCHS, column]
            history[name] = values
        return history

    def remember(self, losses, predicted) -> tuple:
        """Swaps in this epoch's losses and predictions; returns the previous epoch's.

        Args:
            losses: per-sample losses by index (NaN: not seen).
            predicted: per-sample arg-max classes (-1: unknown).

        Returns:
            `(previous_losses, previous_predictions)` as numpy arrays.
        """
        previous = (
            keras.ops.convert_to_numpy(self.previous_losses),
            keras.ops.convert_to_numpy(self.previous_predictions).astype(np.int64),
        )
        self.previous_losses.assign(np.asarray(losses, np.float32))
        self.previous_predictions.assign(np.asarray(predicted, np.float32))
        return previous

    def reset_losses(self) -> None:
        """Forgets the recorded losses, at the start of an epoch."""
        if self.record_table is not None:
            self.record_table.assign(np.zeros((self.num_samples, RECORD_COLUMNS), np.float32))

    def record(self, index, losses, logits=None, labels=None, include=None):
        """Adds a batch's per-sample losses and predictions to the record (inside the train step).

        Args:
            index: int tensor `(batch,)`, each sample's position in the
                training set, or `None` (nothing is recorded).
            losses: float tensor `(batch,)`.
            logits: optional `(batch, C)` predictions on the un-mixed batch,
                whose arg-max is recorded (and compared with `labels`).
            labels: the batch's given labels (with `logits`).
            include: optional scalar bool tensor; False adds nothing (a step
                between refreshes of the targets).
        """
        if index is None or self.record_table is None:
            return
        index = tf.reshape(tf.cast(index, tf.int32), [-1])
        with tf.control_dependencies(self.index_checks(index)):
            losses = tf.cast(losses, tf.float32)
            if logits is None:
                hits, predicted, given = tf.zeros_like(losses), -tf.ones_like(losses), None
            else:
                predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
                labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
                hits = tf.cast(tf.equal(predicted, labels), tf.float32)
                predicted, given = tf.cast(predicted, tf.float32), tf.cast(labels, tf.float32)
            given = -tf.ones_like(losses) if given is None else given
            rows = tf.stack([losses, tf.ones_like(losses), hits, predicted, given], 1)
            if include is not None:
                rows = rows * tf.cast(include, tf.float32)
            # The backend variable's sparse update: O(batch), summed across replicas.
            self.record_table.value.scatter_add(tf.IndexedSlices(rows, index))

    def index_checks(self, index) -> list:
        """The asserts that `index` lies in `[0, num_samples)`; none when nothing is recorded."""
        if index is None or self.record_table is None:
            return []
        index = tf.reshape(tf.cast(index, tf.int32), [-1])
        return [
            tf.debugging.assert_non_negative(index, message="Sample index below 0."),
            tf.debugging.assert_less(
                index,
                self.num_samples,
                message=f"Sample index out of range: must be < num_samples={self.num_samples}.",
            ),
        ]

    def recorded_losses(self):
        """Returns `(losses, counts)` recorded since the last reset, as numpy arrays.

        Summed over all replicas and workers; a sample recorded more than
        once in the epoch gets the mean of its losses.
        """
        if self.record_table is None:
            raise ValueError("This model records no losses: it was built without num_samples.")
        table = keras.ops.convert_to_numpy(self.record_table.value)
        counts = np.rint(table[:, 1]).astype(np.int64)
        return table[:, 0] / np.maximum(counts, 1), counts

    def recorded_predictions(self):
        """`(predicted, labels)`: each sample's arg-max class and given label this epoch.

        -1 where unknown: unseen, seen more than once, or recorded without
        predictions.
        """
        table = keras.ops.convert_to_numpy(self.record_table.value)
        once = (np.rint(table[:, 1]) == 1) & (table[:, 3] >= 0) & (table[:, 4] >= 0)
        predicted = np.where(once, np.rint(table[:, 3]), -1).astype(np.int64)
        return predicted, np.where(once, np.rint(table[:, 4]), -1).astype(np.int64)

    def recorded_hits(self) -> np.ndarray:
        """Each sample's share of records whose arg-max was its given label (NaN: unseen)."""
        table = keras.ops.convert_to_numpy(self.record_table.value)
        counts = np.rint(table[:, 1])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, table[:, 2] / counts, np.nan)
