"""A multi-worker run after a worker fault: the epoch every worker resumes from, and
a clear error naming the worker lost.

Under `MultiWorkerMirroredStrategy` a worker that dies makes the others fail at
their next collective (TensorFlow's coordination service stops them once the
worker's heartbeats stop, or at once when its connection drops); they cannot
carry on without it. The supervisor (a Kubernetes Job's `restartPolicy`, or
a shell loop) restarts every failed worker with `--resume` (or
`--auto-resume`), and each worker restores its own `BackupAndRestore`
checkpoint. The workers save their checkpoints independently at each epoch's
end, so one killed between the others' save and its own resumes an epoch
behind them: `agree_on_epoch` finds the last epoch every worker saved and
rolls a worker that is ahead back to its previous checkpoint (Keras's
`double_checkpoint`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys

from keras_bmm.distribute import parse_tf_config, unreachable_workers


class WorkerLost(ConnectionError):
    """A worker of a multi-worker run stopped (or restarted) while the run trained."""


#: A task as TensorFlow names it in its errors: `/job:worker/replica:0/task:1`.
_TASK = re.compile(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)")


def lost_worker_message(error: Exception, tf_config: str | None) -> str:
    """Names the worker(s) a collective failed on, from TensorFlow's error and the cluster.

    TensorFlow names a worker whose heartbeats stopped or that reconnected as
    a new process; a worker whose connection dropped is found by trying its
    address. The reason is TensorFlow's first line about it.

    Args:
        error: the `tf.errors.OpError` a collective raised.
        tf_config: the `TF_CONFIG` text of the run.

    Returns:
        One paragraph: the workers, the reason, and what to do.
    """
    info = parse_tf_config(tf_config)
    text = str(getattr(error, "message", "") or error)
    chief = "chief" in json.loads(tf_config)["cluster"]
    named = set()
    for job, task in _TASK.findall(text):
        index = int(task) + (1 if chief and job == "worker" else 0)
        if index != info["task_index"] and index < len(info["workers"]):
            named.add(index)
    others = [w for i, w in enumerate(info["workers"]) if i != info["task_index"]]
    named |= {info["workers"].index(w) for w in unreachable_workers(others)}
    who = (
        ", ".join(f"worker {i} ({info['workers'][i]})" for i in sorted(named))
        or "another worker (all are reachable now: it may have restarted)"
    )
    reason = _reason(text)
    return (
        f"Worker {info['task_index']} lost {who}: {reason}. Training cannot continue "
        "without it (MultiWorkerMirroredStrategy). Restart every worker with --resume "
        "(or --auto-resume): the run continues from the last epoch all of them saved."
    )


#: The function TensorFlow names before an error's text: `{{function_node __wrapped__...}}`.
_NODE = re.compile(r"\{\{function_node [^}]*\}\}")


def _reason(text: str) -> str:
    """TensorFlow's line that says what happened (without the graph's trace and the
    `{{function_node ...}}` that may lead it)."""
    lines = [_NODE.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if "aborted by" in line or "unhealthy" in line or "incarnation" in line:
            return line.rstrip(".:")
    return lines[0].rstrip(".:") if lines else "a collective failed"


@contextlib.contextmanager
def worker_faults(strategy_name: str):
    """Turns a collective failing on a lost worker into `WorkerLost`, naming the worker.

    Only under `"multiworker"`; elsewhere the block runs as it is.

    Args:
        strategy_name: the run's strategy (`TrainConfig.strategy`).

    Raises:
        WorkerLost: from TensorFlow's `UnavailableError`, `AbortedError` or
            `DeadlineExceededError`, the errors of a collective whose peer
            is gone.
    """
    if strategy_name != "multiworker":
        yield
        return
    import tensorflow as tf

    lost = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError)
    try:
        yield
    except lost as error:
        raise WorkerLost(lost_worker_message(error, os.environ.get("TF_CONFIG"))) from error


@contextlib.contextmanager
def exit_when_lost(prog: str):
    """Ends the process at once, with status 1 and the message, on `WorkerLost`.

    For a process that runs one training (the command line, a worker a
    supervisor restarts): TensorFlow cannot use its collectives again in
    this process ("Restart your program to reset"), and its teardown of the
    aborted step's input pipeline can block for minutes (measured here:
    from 2 s to over 80 s), which would delay the restart by as much. The
    checkpoints are written at each epoch's end, so nothing is lost.

    Args:
        prog: the program's name, before the message.
    """
    try:
        yield
    except WorkerLost as error:
        sys.stdout.flush()
        sys.stderr.write(f"{prog}: error: {error}\n")
        sys.stderr.flush()
        os._exit(1)


def gather_epochs(strategy, epoch: int) -> list[int]:
    """Every replica's `epoch` (a collective: every worker must call it).

    Args:
        strategy: the run's `MultiWorkerMirroredStrategy`.
        epoch: this worker's value.

    Returns:
        The values of all replicas, those of each worker alike.
    """
    import tensorflow as tf

    values = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant([epoch], tf.int64)
    )
    return [int(v) for v in strategy.gather(values, axis=0).numpy()]


def agree_on_epoch(mine: int, epochs: list[int], backup_dir: str) -> int:
    """The epoch every worker resumes from: the last one all of them saved.

    A worker whose checkpoint is one epoch ahead restores the checkpoint
    before it (`backup_dir`'s `.bkp` files, which `BackupAndRestore` keeps
    with `double_checkpoint=True`); when that is epoch 0, the caller starts
    the run afresh.

    Args:
        mine: the completed epochs of this worker's checkpoint.
        epochs: those of every worker's (`gather_epochs`).
        backup_dir: this worker's `BackupAndRestore` folder.

    Returns:
        The agreed epoch.

    Raises:
        ValueError: if this worker's checkpoints do not hold that epoch.
    """
    agreed = min(epochs)
    if mine == agreed or agreed == 0:
        return agreed
    weights = os.path.join(backup_dir, "latest.weights.h5")
    metadata = os.path.join(backup_dir, "training_metadata.json")
    previous = _epoch_of(metadata + ".bkp")
    if previous != agreed or not os.path.exists(weights + ".bkp"):
        raise ValueError(
            f"The workers' checkpoints hold epochs {sorted(set(epochs))}: this worker's "
            f"({backup_dir}) holds epoch {mine} and, before it, "
            f"{'none' if previous is None else f'epoch {previous}'}, not epoch {agreed}. "
            "Resume every worker from one copy of the run, or start it again (--overwrite)."
        )
    shutil.copyfile(weights + ".bkp", weights)
    shutil.copyfile(metadata + ".bkp", metadata)
    return agreed


def _epoch_of(path: str) -> int | None:
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return int(json.load(f)["epoch"])
