"""`train`: one noisy-label experiment end to end, as `scripts/train.py` runs it."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import keras

from keras_bmm.atomic import write_json
from keras_bmm.backbones.freeze import FreezeBackbone
from keras_bmm.bootstrapping.methods import WARMUP_RULES, uses_mixture
from keras_bmm.callbacks.bad_file_log import BadFileLog
from keras_bmm.callbacks.bmm_callback import BMMCallback
from keras_bmm.callbacks.epoch_line import EpochLine
from keras_bmm.callbacks.epoch_timer import EpochTimer
from keras_bmm.callbacks.held_out_evaluation import HeldOutEvaluation
from keras_bmm.callbacks.history_logger import HistoryLogger, read_history
from keras_bmm.callbacks.plot_callback import PlotCallback
from keras_bmm.data.pipeline_epoch import PipelineEpoch
from keras_bmm.distribute import is_chief, make_strategy
from keras_bmm.export import check_model_folder, export_classifier
from keras_bmm.extras import require
from keras_bmm.noise_estimate import estimate_noise
from keras_bmm.training.builders import build_model, dataset_of, uses_mixed_precision
from keras_bmm.training.recovery import agree_on_epoch, gather_epochs, worker_faults
from keras_bmm.training.result import TrainResult
from keras_bmm.training.run_folder import RunFolder
from keras_bmm.training.saved_run import (
    labels_of_run,
    training_split,
    write_corrected_labels,
    write_run_report,
)


def train(
    config,
    export: bool = True,
    resume: bool | str = False,
    overwrite: bool = False,
    callbacks: list | None = None,
    plots: bool = False,
) -> TrainResult:
    """Runs one experiment: noise, training, evaluation, report, export.

    The run folder (`config.run_dir`, see `RunFolder`) receives the settings,
    the labels, a checkpoint after every epoch, the history, the noise
    report and, for datasets of files, the corrected labels as a manifest
    (`corrected_labels.csv`) and the files left out (`bad_files.csv`).
    With `val_split`, a seeded part of the training set is held out and
    its accuracy against the noisy labels logged (`noisy_val_accuracy`);
    the test split is evaluated when the dataset has one. Under
    `strategy="multiworker"` only the first worker writes the run folder and
    exports; worker `i` writes `<run_dir>/worker-i/`.

    Args:
        config: the run's `TrainConfig` (validated before any data is loaded).
        export: whether to export the SavedModel.
        resume: continue the run in `config.run_dir` from its last completed
            epoch, with the same labels; the settings must match. A finished
            run is neither trained nor exported again (to the same `output`).
            `"auto"`: resume if the folder holds a run, else start it (the one
            command for a supervisor that restarts a failed worker). Under
            `"multiworker"` every worker resumes from the last epoch all
            workers saved; with none, all start afresh.
        overwrite: replace an existing run in `config.run_dir`.
        callbacks: extra Keras callbacks.
        plots: write PNG plots to `<run_dir>/plots/` (the `plots` extra).

    Returns:
        A `TrainResult`.

    Raises:
        WorkerLost: under `"multiworker"`, when another worker stopped (or
            restarted) during the run; the message names it.

    Example:

    ```python
    result = keras_bmm.train(keras_bmm.TrainConfig(dataset="digits", noise=0.8))
    print(result.summary())
    ```
    """
    config = config.resolved()
    if plots:
        require("matplotlib", "plots")  # before any training, not at the first plot
    # A multi-worker strategy must exist before TensorFlow runs anything else.
    strategy = make_strategy(config.strategy)
    with worker_faults(config.strategy):  # a lost worker: an error naming it
        return _train(config, strategy, export, resume, overwrite, callbacks, plots)


def _train(config, strategy, export, resume, overwrite, callbacks, plots):
    """`train` once the strategy exists."""
    if not is_chief(config.strategy):
        worker = f"worker-{strategy.cluster_resolver.task_id}"
        config = dataclasses.replace(config, run_dir=os.path.join(config.run_dir, worker))
        export = False
    folder = RunFolder(config.run_dir)
    if resume == "auto":
        resume = folder.holds_run()
    initial_epoch = folder.check(config, resume, overwrite)
    if config.strategy == "multiworker":
        # Every worker resumes from the last epoch all of them saved (a collective).
        initial_epoch = agree_on_epoch(
            initial_epoch, gather_epochs(strategy, initial_epoch), folder.backup_dir
        )
        resume = resume and initial_epoch > 0  # none all saved: every worker starts afresh
    if resume and folder.holds_run():
        config = folder.choices_of(config)  # e.g. streamed, as when it started
    keras.utils.set_random_seed(config.seed)
    data = dataset_of(config)
    if config.stream is None and getattr(data, "train_files", None) is not None:
        # Chosen by the memory free now: saved with the run, so a resume reads alike.
        config = dataclasses.replace(config, stream=bool(data.streams))
        if resume and folder.holds_run():
            folder.record_choices(config)  # a run that saved no choice keeps this one
    if export:  # before training: a model of other classes may not replace the served one
        check_model_folder(os.path.join(config.output, config.name), data.class_names)
    noise = labels_of_run(config, data, folder, resume)
    with folder.started(config, resume):  # a failure before the first epoch leaves nothing
        result = _run(config, data, noise, folder, strategy, initial_epoch, callbacks, plots)
    model_dir = os.path.join(config.output, config.name)
    if export and initial_epoch >= config.epochs:
        # A finished run resumed: its export, if it made one there, is this model.
        result.export_path = folder.recorded_export(model_dir)
    if export and result.export_path is None:
        result.export_path = export_classifier(
            result.model,
            model_dir,
            data.image_shape,
            extra_files={"config.json": json.dumps(config.as_dict(), indent=2)},
            input_dtype=data.input_dtype,
            class_names=data.class_names,
        )
    write_json(folder.file("metrics.json"), result.metrics())
    return result


def _run(config, data, noise, folder, strategy, initial_epoch, callbacks, plots):
    """Trains (or restores a finished run) and writes the report: the `TrainResult`."""
    noise.save(folder.labels_path)
    if config.verbose:
        print(noise.summary())
    # With val_split, part of the training set is held out; indices stay the full set's.
    train_data, held_out = training_split(config, data)
    ids = train_data.sample_ids
    labels = noise.labels[ids]
    noise_mask = noise.noise_mask[ids] if noise.truth_known else None
    model = _build(config, train_data, strategy, pretrained=initial_epoch == 0)
    batches, epoch_variable = train_data.distributed_train_batches(
        strategy,
        labels,
        config.batch_size,
        seed=config.seed,
        augment=config.augment,
        initial_epoch=initial_epoch,
    )
    position = PipelineEpoch(epoch_variable)  # each epoch reads its own batches
    plot_callback = PlotCallback(
        folder.file("plots"),
        epochs={0, config.earliest_start() - 1, config.epochs - 1},
        warmup_end=config.warmup_epochs in WARMUP_RULES,
        noise_mask=noise_mask,
    )
    mixture_fit = BMMCallback(
        data=_tracking_pass(config, train_data, labels), noise_mask=noise_mask
    )
    run_callbacks = [
        position,
        *([FreezeBackbone(config.freeze_epochs)] if config.freeze_epochs else []),
        # Held-out figures first: the start rule reads their kappa.
        *_data_callbacks(config, data, held_out, noise, folder),
        mixture_fit,
        *([plot_callback] if plots else []),
        EpochTimer(),  # after the mixture fit, before the history is written
        HistoryLogger(folder.history_path),  # before the checkpoint: see HistoryLogger
        keras.callbacks.BackupAndRestore(
            folder.backup_dir,
            delete_checkpoint=False,
            # The checkpoint before the last, for a worker ahead of the others
            # after a fault (see `agree_on_epoch`).
            double_checkpoint=config.strategy == "multiworker",
        ),
        keras.callbacks.TensorBoard(folder.file("tensorboard")),
        EpochLine(),  # the few figures a person reads; all go to the history
        *(callbacks or []),
    ]
    if not data.has_test and not held_out and config.verbose:
        print("No test split and no val_split: nothing is evaluated during training.")
    if initial_epoch >= config.epochs:
        # Nothing left to train: restore the last checkpoint (fit would have).
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(folder.backup_dir, "latest.weights.h5"))
    else:
        with data.naming_bad_files():  # every file, the held-out ones too
            model.fit(
                batches,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                validation_data=data.eval_batches(500),
                validation_freq=config.eval_every,
                callbacks=run_callbacks,
                shuffle=False,  # the pipeline shuffles
                verbose=_verbosity(config.verbose),
            )
    history = read_history(folder.history_path)
    write_json(folder.file("history.json"), history)
    result = TrainResult.from_history(config, noise, history)
    result.model = model
    result.report_path = folder.file("noise_report.csv")
    held_out_kappa = _last(history.get("noisy_val_kappa", [])) if held_out else None
    with data.naming_bad_files():
        rows, result.suggestions = write_run_report(
            model,
            train_data,
            noise,
            result.report_path,
            data.class_names,
            held_out_kappa,
            history=history,
        )
    result.report_rows = rows
    result.noise_estimate = estimate_noise(rows, data.num_classes, history)
    if mixture_fit.model is None:  # a finished run, read back without fitting
        mixture_fit.set_model(model)
    result.start_reason = (
        mixture_fit.start_reason
        or mixture_fit.replay_start_reason(config.epochs)
        or model.noise_state.start_description()
    )
    result.corrected_labels_path = write_corrected_labels(
        rows, data.class_names, folder.file("corrected_labels.csv")
    )
    if data.bad_files is not None and len(data.bad_files):
        result.bad_files_path = data.bad_files.write(folder.file("bad_files.csv"))
    if plots:
        from keras_bmm.plots import plot_training_curves

        curves = plot_training_curves(
            history,
            folder.file(os.path.join("plots", "training.png")),
            bootstraps=uses_mixture(config.method),
        )
        result.plot_paths = [*plot_callback.paths, curves]
    return result


def _last(values) -> float | None:
    """The last finite value, or `None`."""
    finite = [v for v in values if v == v]
    return finite[-1] if finite else None


def _verbosity(verbose: int) -> int:
    """Keras verbosity: the progress bar (1) only in a terminal, else a line per epoch."""
    isatty = getattr(sys.stdout, "isatty", None)
    if verbose == 1 and not (isatty and isatty()):
        return 2
    return verbose


def _data_callbacks(config, data, held_out, noise, folder) -> list:
    """The held-out evaluation (`val_split`) and the log of files left out (`skip_bad_files`)."""
    found = []
    if held_out is not None:
        found.append(
            HeldOutEvaluation(
                held_out.tracking_batches(noise.labels[held_out.sample_ids], 500),
                every=config.eval_every,
                epochs=config.epochs,
            )
        )
    if data.bad_files is not None:
        found.append(BadFileLog(data.bad_files, folder.file("bad_files.csv")))
    return found


def _build(config, data, strategy, pretrained: bool = True):
    """The compiled model, under the strategy and the run's dtype policy (a resumed
    run's pretrained backbone starts from its checkpoint, not its `weights`)."""
    policy = keras.config.dtype_policy()
    if uses_mixed_precision(config):
        keras.config.set_dtype_policy("mixed_float16")
    try:
        with strategy.scope():
            return build_model(
                config,
                data.num_classes,
                data.image_shape,
                data.num_train,
                data.mean,
                data.std,
                pretrained=pretrained,
            )
    finally:
        keras.config.set_dtype_policy(policy)


def _tracking_pass(config, data, labels):
    """The training set, by epoch, for the mixture fit when the steps record no losses.

    As the reference code's `trainset_track`, it carries the training
    augmentation, drawn anew each epoch (independently of the training
    batches' own), so the mixture is fitted on the same kind of losses the
    step reads B from. Each pass is one epoch's pipeline (`epochs=None`,
    starting at `epoch`): with `skip_bad_files` its number of batches is
    not known in advance.
    """
    if not config.epoch_loss_pass:
        return None

    def epoch_pass(epoch: int):
        return data.train_batches(
            labels, 500, seed=config.seed + 1, augment=config.augment, initial_epoch=epoch
        )

    return epoch_pass
