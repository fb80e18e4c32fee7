"""`BootstrappingModel`: mixup with BMM-guided dynamic bootstrapping in `train_step`."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bmm.bootstrapping import guards, objectives, passes
from keras_bmm.bootstrapping.auto_warmup import AutoWarmup
from keras_bmm.bootstrapping.methods import (
    BOOTSTRAP_MODES,
    WARMUP_RULES,
    check_dynamic_targets,
    check_method,
    check_method_settings,
    check_target_refresh,
    compiles_apart,
    uses_mixture,
)
from keras_bmm.bootstrapping.mixup_sampler import MixupSampler
from keras_bmm.bootstrapping.noise_model_state import NoiseModelState
from keras_bmm.bootstrapping.schedule import PhaseSchedule
from keras_bmm.bootstrapping.soft_target_model import SoftTargetModel
from keras_bmm.data.pipeline_epoch import with_pipeline_epoch


@keras.saving.register_keras_serializable(package="keras_bmm")
class BootstrappingModel(SoftTargetModel):
    """Wraps a logits classifier and trains it with the paper's methods.

    `method` selects the objective of `train_step`:

    - `"ce"`: cross-entropy on the given labels (baseline).
    - `"mixup"`: mixup with `lam ~ Beta(mixup_alpha, mixup_alpha)` (baseline,
      and the warm-up of the bootstrapping methods).
    - `"m-dyr-h"`: mixup with dynamic hard bootstrapping: each sample's target
      is `(1 - B) * y + B * z`, `z` the one-hot arg-max of the network's own
      prediction on the un-mixed input and `B` the mixture's p(noisy | loss),
      plus `reg_weight` times the class-balance regulariser.
    - `"m-dyr-s"`: the same with the softmax prediction as `z`.
    - `"md-dyr-sh"`: dynamic mixup (a likely-noisy sample is mostly replaced
      by its partner), then soft-to-hard bootstrapping as the softmax
      temperature falls (see `PhaseSchedule`).

    Bootstrapping starts at epoch `warmup_epochs` (0-based) once a
    `keras_bmm.BMMCallback` has fitted a mixture; before that the
    bootstrapping methods train with plain mixup. `fast=True` runs one
    training-mode pass on the un-mixed batch per step for targets, `B` and
    the recorded losses; `fast=False` arranges the passes as the reference
    code does and needs `BMMCallback(data=...)` (see `passes`). The mixture
    and the epoch live in `noise_state` (`NoiseModelState`), saved with the
    weights.

    Inputs are images, or `{"image": ..., "index": ...}` where `index` is
    each sample's position in the training set; labels are integer class
    indices.

    Args:
        backbone: a Keras model mapping images to logits `(batch, C)`.
        method: one of `"ce"`, `"mixup"`, `"m-dyr-h"`, `"m-dyr-s"`, `"md-dyr-sh"`.
        num_samples: training samples, to record per-sample losses by index;
            `None` records nothing (then pass `data=` to `BMMCallback`).
        mixup_alpha: `alpha` of the Beta distribution of mixup's `lam`.
        reg_weight: weight of the class-balance regulariser.
        warmup_epochs: epochs of plain mixup before bootstrapping starts, or
            a rule that chooses the start during training: `"auto"` (once the
            network's predictions have settled and learned the labels they
            can) or
            `"label-wave"` (Label Wave's minimum of prediction changes).
        auto_warmup: the `AutoWarmup` (or its config dict) of that rule;
            default `AutoWarmup(rule=warmup_epochs)`.
        weight_decay: coupled L2 weight decay, as PyTorch's SGD applies it:
            `weight_decay / 2 * sum(w**2)` over the trainable weights is
            added to the loss.
        dynamic_epochs: MD-DYR-SH: epochs of dynamic mixup before bootstrapping.
        temperature_epochs: MD-DYR-SH: epochs of the temperature's fall.
        final_temperature: MD-DYR-SH: the last temperature.
        posterior_clip: `B` is clipped into `[posterior_clip, 1 - posterior_clip]`.
        dynamic_targets: MD-DYR-SH: how the two targets of a dynamically
            mixed input are weighted: `"input"`, by the inputs' weights (the
            target describes the mixed input), or `"reference"`, as the
            reference code (a fresh `lam` during dynamic mixup, 0.5 each
            while bootstrapping).
        fast: the fast arrangement of passes (`True`) or the reference's.
        target_refresh: M-DYR-H with `fast=True`: bootstrapping epochs
            between fresh targets. Above 1, only every `target_refresh`-th
            bootstrapping epoch (and the last) makes the un-mixed pass and
            refits the mixture; the epochs between reuse each sample's
            arg-max class and p(noisy) of the last refresh, and train at
            about cross-entropy's cost. 1 (the default) is the paper's
            method.
        seed: seed of mixup's draws.
        **kwargs: passed on to `keras.Model`.

    Example:

    ```python
    model = keras_bmm.BootstrappingModel(backbone, method="m-dyr-h",
                                         num_samples=len(y_train), warmup_epochs=10)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit({"image": x_train, "index": np.arange(len(y_train))}, y_train,
              epochs=30, callbacks=[keras_bmm.BMMCallback()])
    ```

    Reference:
        Arazo, Ortego, Albert, O'Connor, McGuinness. "Unsupervised Label Noise
        Modeling and Loss Correction", ICML 2019.
    """

    def __init__(
        self,
        backbone: keras.Model,
        method: str = "m-dyr-h",
        num_samples: int | None = None,
        mixup_alpha: float = 32.0,
        reg_weight: float = 1.0,
        warmup_epochs: int | str = 10,
        weight_decay: float = 0.0,
        dynamic_epochs: int = 5,
        temperature_epochs: int = 89,
        final_temperature: float = 1e-3,
        posterior_clip: float = 1e-4,
        dynamic_targets: str = "input",
        fast: bool = True,
        target_refresh: int = 1,
        seed: int | None = None,
        auto_warmup: AutoWarmup | dict | None = None,
        **kwargs,
    ):
        super().__init__(weight_decay=weight_decay, **kwargs)
        check_method(method)
        check_method_settings(
            mixup_alpha,
            reg_weight,
            warmup_epochs,
            weight_decay,
            dynamic_epochs,
            temperature_epochs,
            final_temperature,
        )
        check_dynamic_targets(dynamic_targets)
        check_target_refresh(target_refresh, method, fast)
        self.backbone = backbone
        self.method = method
        self.num_samples = None if num_samples is None else int(num_samples)
        self.mixup_alpha = float(mixup_alpha)
        self.reg_weight = float(reg_weight)
        auto = warmup_epochs in WARMUP_RULES
        if auto and not isinstance(auto_warmup, AutoWarmup):
            auto_warmup = AutoWarmup(**{"rule": warmup_epochs, **(auto_warmup or {})})
        self.auto_warmup = auto_warmup if auto else None
        self.warmup_epochs = warmup_epochs if auto else int(warmup_epochs)
        self.dynamic_epochs = int(dynamic_epochs)
        self.temperature_epochs = int(temperature_epochs)
        self.final_temperature = float(final_temperature)
        self.posterior_clip = float(posterior_clip)
        self.dynamic_targets = dynamic_targets
        self.fast = bool(fast)
        self.target_refresh = int(target_refresh)
        self.seed = seed
        start = -1 if auto else self.warmup_epochs
        self.schedule = PhaseSchedule(
            method, max(start, 0), dynamic_epochs, temperature_epochs, final_temperature
        )
        self.noise_state = NoiseModelState(
            num_samples,
            records_losses=fast or method == "ce",
            start_epoch=start,
            warmup_rule=self.auto_warmup,
            reserve_epochs=self.dynamic_epochs + 1 if method == "md-dyr-sh" else 1,
            target_refresh=self.target_refresh,
            name="noise_state",
        )
        self.mixup_sampler = MixupSampler(mixup_alpha, seed, name="mixup_sampler")
        self._compiled_apart, self.xla_step = False, None  # see `compile`

    @property
    def uses_bmm(self) -> bool:
        """Whether the method needs a fitted beta mixture (bootstrapping)."""
        return uses_mixture(self.method)

    # ------------------------------------------------------------------
    # Keras plumbing.

    def build(self, input_shape=None):
        if not self.backbone.built and input_shape is not None:
            self.backbone.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        images, _ = passes.split_inputs(inputs)
        return self.backbone(images, training=training)

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`; a bootstrapping method needs a callback that fits the mixture.

        A dataset from `keras_bmm.data.train_pipeline(..., epochs=None)` gets a
        `keras_bmm.data.PipelineEpoch`, so each epoch reads its own batches.
        """
        updaters = [c for c in callbacks or [] if getattr(c, "updates_noise_model", False)]
        if self.uses_bmm and not updaters:
            raise ValueError(
                f"method={self.method!r} bootstraps with a beta mixture fitted at each epoch's "
                "end: pass callbacks=[keras_bmm.BMMCallback()] to fit()."
            )
        x = args[0] if args else kwargs.get("x")
        return super().fit(*args, callbacks=with_pipeline_epoch(x, callbacks), **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "method": self.method,
            "num_samples": self.num_samples,
            "mixup_alpha": self.mixup_alpha,
            "reg_weight": self.reg_weight,
            "warmup_epochs": self.warmup_epochs,
            "weight_decay": self.weight_decay,
            "dynamic_epochs": self.dynamic_epochs,
            "temperature_epochs": self.temperature_epochs,
            "final_temperature": self.final_temperature,
            "posterior_clip": self.posterior_clip,
            "dynamic_targets": self.dynamic_targets,
            "fast": self.fast,
            "target_refresh": self.target_refresh,
            "seed": self.seed,
            "auto_warmup": None if self.auto_warmup is None else self.auto_warmup.get_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    # ------------------------------------------------------------------
    # Steps.

    def compile(self, *args, jit_compile=False, **kwargs):
        """`SoftTargetModel.compile`; `jit_compile=True` compiles the step after its input checks.

        XLA drops `tf.debugging.Assert` and has no kernel for the Beta sampling
        of mixup's `lam`: with `jit_compile=True` the train step checks the
        batch's labels and pixels (see `guards`) and draws mixup's `lam` and
        permutation first, and the rest runs as one XLA-compiled function
        (Keras's own `jit_compile` then reads False; the saved compile config
        keeps True; `xla_step` is that function, else None). See
        `methods.compiles_apart` for several replicas.
        """
        replicas = self.distribute_strategy.num_replicas_in_sync
        self._compiled_apart = compiles_apart(self.method, jit_compile, replicas)
        self.xla_step = tf.function(self._step, jit_compile=True) if self._compiled_apart else None
        super().compile(*args, jit_compile=False if self._compiled_apart else jit_compile, **kwargs)

    def get_compile_config(self):
        """The compile config, with `jit_compile=True` when the step is compiled apart."""
        config = super().get_compile_config()
        if config and self._compiled_apart:
            config["jit_compile"] = True
        return config

    def train_step(self, data):
        images, index, labels, sample_weight = passes.unpack_batch(data)
        draws = None
        if self.method != "ce":
            draws = self.mixup_sampler.draw(tf.shape(labels)[0])
        if not self._compiled_apart:
            return self._step(images, index, labels, sample_weight, draws)
        # XLA drops the asserts of `_step`: check the input (and index) here, uncompiled.
        checks = guards.check_inputs(images, labels, self._num_classes(images), index)
        with tf.control_dependencies(checks + self.noise_state.index_checks(index)):
            images, labels = tf.identity(images), tf.identity(labels)
        return self.xla_step(images, index, labels, sample_weight, draws)

    def _step(self, images, index, labels, sample_weight, draws):
        """The train step after mixup's draws `(lam, permutation)` (`None` for `ce`)."""
        num_classes = self._num_classes(images)
        checks = guards.check_inputs(images, labels, num_classes, index)
        with tf.control_dependencies(checks):  # nothing reads a label before its check
            labels = tf.identity(labels)
        if self.method == "ce":
            return self._cross_entropy_step(images, index, labels, sample_weight, checks)
        targets = tf.one_hot(labels, num_classes, dtype=tf.float32)
        state = self.noise_state
        phase = self.schedule.phase(state.epoch, state.is_fitted(), state.start_epoch)
        batch = tf.shape(labels)[0]
        lam, permutation = draws
        target_lam = lam
        predictions = None
        if self.fast:
            refreshing = state.is_refreshing() if self.target_refresh > 1 else None
            # The mixup baseline records its losses without touching batch norm.
            predictions, clean_losses = passes.unmixed_or_last_refresh(
                self, images, index, labels, refreshing, num_classes, training=self.uses_bmm
            )
            target_logits = predictions
            checks.append(guards.check_losses(clean_losses, index))
            # Recorded outside the branch (a replica's write synchronises); an
            # epoch between refreshes adds nothing.
            state.record(index, clean_losses, predictions, labels, include=refreshing)
        elif self.uses_bmm:
            in_use = tf.logical_or(phase.bootstrapping, phase.dynamic_mixup)
            target_logits, clean_losses = passes.reference_passes(
                self, images, labels, phase.bootstrapping, in_use, num_classes
            )
        if self.uses_bmm:
            b = tf.clip_by_value(
                self.noise_state.posterior(clean_losses),
                self.posterior_clip,
                1.0 - self.posterior_clip,
            )
            bootstrapped = objectives.bootstrap_targets(
                targets, target_logits, b, BOOTSTRAP_MODES[self.method], phase.temperature
            )
            targets = tf.where(phase.bootstrapping, bootstrapped, targets)
            lam, target_lam = objectives.mixup_weights(
                self.method, lam, b, permutation, phase, self.dynamic_targets
            )
        if sample_weight is not None:
            # CE is linear in its target: weighting the targets weights each half.
            targets = targets * tf.reshape(tf.cast(sample_weight, tf.float32), [-1, 1])
        mixed_images = objectives.mix(images, permutation, lam)
        mixed_targets = objectives.mix(targets, permutation, target_lam)
        with tf.GradientTape() as tape:
            logits = self(mixed_images, training=True)
            loss = self.target_loss(mixed_targets, logits)
            if self.uses_bmm and self.reg_weight > 0:
                reg = objectives.class_balance_regularizer(tf.nn.softmax(logits))
                reg = reg * tf.cast(phase.bootstrapping, reg.dtype) * self.reg_weight
                loss = loss + tf.cast(reg, loss.dtype) / self._replicas()
            loss = loss + self._extra_losses(loss.dtype)
            scaled_loss = self.optimizer.scale_loss(loss)
        mixed_losses = tf.nn.softmax_cross_entropy_with_logits(
            mixed_targets, tf.cast(logits, tf.float32)
        )
        checks.append(guards.check_losses(mixed_losses, index))
        self._apply(tape, scaled_loss, checks)
        if predictions is None or self.target_refresh > 1:
            # No un-mixed pass (in every epoch): score the mixed pass against
            # each input's larger part.
            weights = tf.broadcast_to(tf.reshape(lam, [-1]), [batch])
            labels = tf.where(weights >= 0.5, labels, tf.gather(labels, permutation))
            predictions = tf.stop_gradient(logits)
        return self._update_trackers(loss, labels, predictions, sample_weight)

    def _cross_entropy_step(self, images, index, labels, sample_weight, checks):
        with tf.GradientTape() as tape:
            logits = self(images, training=True)
            one_hot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
            loss = self.target_loss(one_hot, logits, sample_weight=sample_weight)
            loss = loss + self._extra_losses(loss.dtype)
            scaled_loss = self.optimizer.scale_loss(loss)
        predictions = tf.stop_gradient(logits)
        losses = objectives.per_sample_cross_entropy(labels, predictions)
        checks.append(guards.check_losses(losses, index))
        self._apply(tape, scaled_loss, checks)
        self.noise_state.record(index, losses, predictions, labels)
        return self._update_trackers(loss, labels, predictions, sample_weight)

    # ------------------------------------------------------------------
    # Step helpers.
