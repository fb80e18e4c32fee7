"""Worker faults under MultiWorkerMirroredStrategy: a killed worker restarted, the
epoch the workers agree to resume from, and the error naming a lost worker."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_bmm.training.recovery import agree_on_epoch, lost_worker_message

HELPER = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "helpers", "multiworker_fault_run.py"
)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tf_config(workers, index):
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


class Recorder(keras.callbacks.Callback):
    """The weights at each epoch's end, by completed epochs."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [w.copy() for w in self.model.get_weights()]


def small_fit(backup, epochs, callbacks=()):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = np.random.default_rng(0).normal(size=(2, 32, 4)).astype("float32")
    restore = keras.callbacks.BackupAndRestore(
        str(backup), double_checkpoint=True, delete_checkpoint=False
    )
    history = model.fit(
        x, y[:, :3], epochs=epochs, batch_size=8, verbose=0, callbacks=[restore, *callbacks]
    )
    return model, history


def test_a_worker_ahead_rolls_back_to_the_epoch_all_saved(tmp_path):
    """Killed between the others' checkpoint of epoch 3 and its own, a worker restarts
    at epoch 2 while they hold 3: each worker ahead restores its checkpoint of
    epoch 2 (Keras keeps it with double_checkpoint), which Keras then loads."""
    recorder = Recorder()
    small_fit(tmp_path / "backup", 3, [recorder])
    assert agree_on_epoch(3, [3, 2], str(tmp_path / "backup")) == 2
    with open(tmp_path / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 2
    model, history = small_fit(tmp_path / "backup", 2)  # restores, then has nothing to do
    assert history.history == {}
    for restored, saved in zip(model.get_weights(), recorder.weights[2]):
        np.testing.assert_array_equal(restored, saved)


def test_agreement_without_a_roll_back_or_without_the_epoch(tmp_path):
    small_fit(tmp_path / "backup", 3)
    assert agree_on_epoch(3, [3, 3], str(tmp_path / "backup")) == 3
    assert agree_on_epoch(3, [3, 0], str(tmp_path / "backup")) == 0  # all start afresh
    with open(tmp_path / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 3  # untouched: the caller starts afresh
    with pytest.raises(
        ValueError, match=r"hold epochs \[1, 3\]: .* holds epoch 3 and, before it, epoch 2, "
    ):
        agree_on_epoch(3, [3, 1], str(tmp_path / "backup"))  # its previous is epoch 2
    with pytest.raises(ValueError, match=r"before it, none, not epoch 1"):
        agree_on_epoch(2, [2, 1], str(tmp_path / "no-backup"))


def test_the_lost_worker_is_named_from_the_error_or_its_closed_port():
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with socket.socket() as listening:  # worker 1 is up: named from TensorFlow's error
        listening.bind(("127.0.0.1", int(workers[1].rsplit(":")[1])))
        listening.listen()
        text = (
            "Graph execution error:\n\n{{function_node __wrapped__CollectiveReduceV2_Nordering"
            "_token_1_device_/job:worker/replica:0/task:0/device:CPU:0}} "
            "Collective ops is aborted by: Error reported from "
            "/job:worker/task:1: The following tasks are unhealthy (stopped sending "
            "heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed."
        )
        message = lost_worker_message(RuntimeError(text), tf_config(workers, 0))
    assert message.startswith(f"Worker 0 lost worker 1 ({workers[1]}): Collective ops is aborted")
    assert "--resume" in message
    # Worker 0 is gone (nothing listens at its port) and the error does not say who.
    text = "Graph execution error:\nCollective ops is aborted by: recvmsg:Connection reset by peer"
    message = lost_worker_message(RuntimeError(text), tf_config(workers, 1))
    assert message.startswith(f"Worker 1 lost worker 0 ({workers[0]}): ")
    assert "Connection reset by peer" in message


def test_auto_resume_starts_a_run_then_resumes_it(tmp_path):
    """`resume="auto"` (`--auto-resume`): the one command a supervisor restarts.
    It starts the run, resumes it after a crash, and leaves it once finished."""
    from test_training import Crash, config

    from keras_bmm import train

    settings = dict(epochs=2, warmup_epochs=1, model="small_cnn", width=8, lr_milestones=())
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config(run, **settings), export=False, resume="auto", callbacks=[Crash(1)])
    first = Recorder()
    train(config(run, **settings), export=False, resume="auto", callbacks=[first])
    assert sorted(first.weights) == [2]  # resumed at epoch 1 (0-based)
    again = Recorder()
    train(config(run, **settings), export=False, resume="auto", callbacks=[again])
    assert again.weights == {}  # finished: nothing trained again


def test_auto_resume_and_resume_exclude_each_other(capsys):
    from keras_bmm.commands.train import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--resume", "--auto-resume"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert parse_args(["--auto-resume"])[1]["auto_resume"]


#: Worker 1 kills itself after batch 10 (of 22) of epoch 2 (of 3), while bootstrapping.
KILL_EPOCH, KILL_BATCH = 2, 10
#: Seconds within which the surviving worker must fail, naming the lost one.
DETECTION_BOUND = 60


def start(tmp_path, workers, index, name, kill=None):
    log = open(tmp_path / f"{name}.log", "w")
    command = [sys.executable, HELPER, str(tmp_path / name), str(tmp_path / name.split("-")[0])]
    return subprocess.Popen(
        command + ([f"{KILL_EPOCH}:{KILL_BATCH}"] if kill else []),
        env=dict(ENV, TF_CONFIG=tf_config(workers, index)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stamp(tmp_path, name, word):
    """`(time, rest of the line)` of the helper's line `WORD <time> ...` in a log."""
    found = re.search(rf"^{word} ([\d.]+)(.*)$", (tmp_path / f"{name}.log").read_text(), re.M)
    assert found, (tmp_path / f"{name}.log").read_text()[-3000:]
    return float(found[1]), found[2].strip()


@pytest.mark.slow
def test_a_worker_killed_mid_epoch_rejoins_and_the_run_ends_as_an_uninterrupted_one(tmp_path):
    """SIGKILL to worker 1 in the middle of a bootstrapping epoch: worker 0 fails at
    its next collective, naming worker 1, within DETECTION_BOUND seconds; both are
    restarted (as a supervisor would) and resume from the epoch all saved, and the
    run ends with the uninterrupted run's weights, optimizer and noise-model state,
    noise report and losses, every sample's loss recorded once in each epoch."""
    whole_workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    procs = [start(tmp_path, whole_workers, i, f"whole-{i}") for i in range(2)]
    faulty = [start(tmp_path, workers, i, f"faulty-{i}", kill=i == 1) for i in range(2)]
    procs += faulty
    try:
        assert faulty[1].wait(timeout=900) == -signal.SIGKILL
        killed, _ = stamp(tmp_path, "faulty-1", "KILLED")
        assert faulty[0].wait(timeout=DETECTION_BOUND) == 1
        failed = time.time()
        log = (tmp_path / "faulty-0.log").read_text()
        assert f"worker: error: Worker 0 lost worker 1 ({workers[1]})" in log, log[-3000:]
        restarted = [start(tmp_path, workers, i, f"faulty-{i}-restarted") for i in range(2)]
        procs += restarted
        for p in [*procs[:2], *restarted]:
            p.wait(timeout=900)
    finally:
        for p in procs:  # bounded: never leave a worker behind
            p.kill()
    logs = {p.args[2]: open(p.args[2] + ".log").read()[-3000:] for p in procs}
    assert all(p.returncode == 0 for p in [*procs[:2], *restarted]), logs
    resumed = [stamp(tmp_path, f"faulty-{i}-restarted", "TRAINING") for i in range(2)]
    assert {epoch for _, epoch in resumed} == {f"epoch {KILL_EPOCH}"}  # not from scratch
    print(
        f"\nworker 0 exited {failed - killed:.1f} s after the kill; training resumed "
        f"{max(t for t, _ in resumed) - killed:.1f} s after it"
    )
    for i in range(2):
        whole = np.load(tmp_path / f"whole-{i}.npz")
        faulted = np.load(tmp_path / f"faulty-{i}-restarted.npz")
        assert len(whole.files) == len(faulted.files) > 10
        for key in whole.files:
            np.testing.assert_array_equal(faulted[key], whole[key], err_msg=key)
        counts = json.loads((tmp_path / f"whole-{i}.json").read_text())["counts"]
        assert counts == [[1, 1, 1347]] * 3
        counts = json.loads((tmp_path / f"faulty-{i}-restarted.json").read_text())["counts"]
        assert counts == [[1, 1, 1347]]  # the epoch redone from its start
    for folder in ("", "worker-1"):
        report = (tmp_path / "whole" / folder / "noise_report.csv").read_text()
        assert (tmp_path / "faulty" / folder / "noise_report.csv").read_text() == report
    histories = [
        json.loads((tmp_path / r / "history.json").read_text()) for r in ("whole", "faulty")
    ]
    assert set(histories[1]) == set(histories[0])
    for key in set(histories[0]) - {"epoch_seconds"}:
        np.testing.assert_equal(histories[1][key], histories[0][key], err_msg=key)
