"""`make_strategy`: the tf.distribute strategy of a run, with clear errors for bad clusters.

TensorFlow is imported only when a strategy is made.
"""

from __future__ import annotations

import faulthandler
import json
import os
import socket
import sys

STRATEGIES = ("default", "mirrored", "multiworker")


def parse_tf_config(text: str | None) -> dict:
    """Parses and checks `TF_CONFIG` for multi-worker training.

    Returns:
        `{"workers": ["host:port", ...], "task_type": str, "task_index": int}`.

    Raises:
        ValueError: naming what is missing or malformed.
    """
    if not text:
        raise ValueError(
            "--strategy multiworker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {text[:200]!r}") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {text[:200]!r}.")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster.get("worker"):
        raise ValueError('TF_CONFIG needs "cluster": {"worker": ["host:port", ...]}.')
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError('TF_CONFIG needs "task": {"type": "worker", "index": N}.')
    workers = cluster.get("chief", []) + cluster["worker"]
    for address in workers:
        host, _, port = str(address).rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"TF_CONFIG: worker address {address!r} is not host:port.")
    members = cluster.get(task["type"])
    if not isinstance(task["index"], int) or not members or not 0 <= task["index"] < len(members):
        raise ValueError(
            f"TF_CONFIG: task {task['type']}:{task['index']} is not in the cluster {cluster}."
        )
    index = task["index"] + (len(cluster.get("chief", [])) if task["type"] == "worker" else 0)
    return {"workers": workers, "task_type": task["type"], "task_index": index}


def is_chief(strategy: str) -> bool:
    """Whether this process writes the run's outputs.

    Always, except for the workers after the first of a `"multiworker"` run.
    `TF_CONFIG` is read only then: managed clusters set it for every job,
    whatever strategy the job uses.

    Args:
        strategy: the run's strategy name (see `STRATEGIES`).
    """
    if strategy != "multiworker":
        return True
    text = os.environ.get("TF_CONFIG")
    if not text:
        return True
    try:
        info = parse_tf_config(text)
    except ValueError:
        return True
    return info["task_index"] == 0


def make_strategy(name: str = "default", cluster_timeout: float = 120.0):
    """The `tf.distribute` strategy for `--strategy`.

    Args:
        name: `"default"` (no distribution), `"mirrored"` (all local devices,
            `MirroredStrategy`) or `"multiworker"` (`MultiWorkerMirroredStrategy`
            over the cluster in `TF_CONFIG`).
        cluster_timeout: seconds to wait for the other workers to join; after
            that the process exits with status 1, after a message naming the
            cluster and the workers not reachable at the start (TensorFlow's
            wait cannot be interrupted otherwise). It bounds only the
            cluster's formation, not the collectives of training: a worker
            may be late at any of them (e.g. still loading its data).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: unknown name or bad `TF_CONFIG`.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; expected one of {STRATEGIES}.")
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    info = parse_tf_config(os.environ.get("TF_CONFIG"))
    # Creating the strategy blocks inside TensorFlow (holding the interpreter)
    # until every worker has joined. faulthandler's C-level timer bounds that
    # wait: past `cluster_timeout` it ends the process, after the message below.
    others = [w for i, w in enumerate(info["workers"]) if i != info["task_index"]]
    missing = unreachable_workers(others)
    sys.stderr.write(
        f"keras-bmm: worker {info['task_index']} joining the cluster {info['workers']}"
        + (f"; not reachable yet: {missing}" if missing else "")
        + f". If the cluster has not formed within {cluster_timeout:g} s, this process "
        f"exits with status 1 (check TF_CONFIG and that every worker was started).\n"
    )
    sys.stderr.flush()
    faulthandler.dump_traceback_later(cluster_timeout, exit=True)
    # Only the formation is bounded: a collective timeout would also abort a
    # run whenever one worker is late at any later collective (still loading
    # data, writing a checkpoint). A worker that dies is detected by the
    # strategy's own peer health checks.
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    finally:
        faulthandler.cancel_dump_traceback_later()
    return strategy


def unreachable_workers(addresses: list[str]) -> list[str]:
    """The `host:port` addresses nothing listens at (tried for 1 s each).

    Args:
        addresses: workers' addresses, as in `TF_CONFIG`.
    """
    return [address for address in addresses if not _reachable(address)]


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False
