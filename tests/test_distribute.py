"""tf.distribute: MirroredStrategy on 2 logical CPUs, and 2 real workers on 127.0.0.1."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from keras_bmm.distribute import make_strategy, parse_tf_config

HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def last_json_line(text):
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def test_mirrored_two_devices_gather_each_loss_once_and_match_a_single_device_run():
    proc = subprocess.run(
        [sys.executable, os.path.join(HELPERS, "mirrored_run.py")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = last_json_line(proc.stdout)
    assert out["replicas"] == 2
    # Every sample's loss gathered exactly once per epoch, across both replicas.
    assert out["counts_min"] == [1, 1, 1] and out["counts_max"] == [1, 1, 1]
    assert np.isfinite(out["loss"]) and out["auc"] > 0.5
    # The 2-replica run's own per-sample losses, and the mixture fitted to them,
    # are a single-device run's up to float32 summation order: the gradient
    # all-reduce adds the replicas' halves where one device sums the whole batch
    # (float32 epsilon 1.2e-7 per operation). Measured over 40 steps: at most
    # 1e-6 relative, losses and mixture alike; the tolerance, 1e-4, leaves a
    # factor of 100. A loss recorded at another sample's index, a replica's half
    # of a batch lost or counted twice, or a gradient scaled by the number of
    # replicas moves losses by tenths to units (they range over 0.2-4.8).
    distributed, single = out["ce"]["distributed"], out["ce"]["single"]
    for epoch, (a, b) in enumerate(zip(distributed["losses"], single["losses"])):
        np.testing.assert_allclose(a, b, rtol=1e-4, err_msg=f"epoch {epoch}")
    assert np.ptp(single["losses"][-1]) > 1.0  # the losses do tell samples apart
    np.testing.assert_allclose(distributed["mixture"], single["mixture"], rtol=1e-4)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Seconds within which the cluster must form, and the delay of worker 1 after it formed.
CLUSTER_TIMEOUT, LATE = 20, 30


def test_two_workers_end_with_identical_bmm_though_one_is_late(tmp_path):
    """Worker 1 starts training 30 s after worker 0 (still preparing its data), longer
    than the 20 s within which the cluster had to form: the formation bound must not
    bound the collective (the first gradient all-reduce) worker 0 waits at meanwhile."""
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.join(HELPERS, "multiworker_run.py"),
                    str(tmp_path / f"worker{index}.json"),
                    str(CLUSTER_TIMEOUT),
                    str(LATE if index == 1 else 0),
                ],
                env=dict(ENV, TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        logs = [p.communicate(timeout=600)[0] for p in procs]
    finally:
        for p in procs:  # bounded: never leave a worker behind
            p.kill()
    assert all(p.returncode == 0 for p in procs), "\n".join(log[-3000:] for log in logs)
    results = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]
    assert results[0]["workers"] == 2
    assert results[0]["params"] == results[1]["params"]
    for counts in results[0]["counts"]:  # each of the 1,347 samples once per epoch
        assert counts == [1, 1, 1347]
    for a, b in zip(results[0]["trainable"], results[1]["trainable"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "text,message",
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("{not json", "TF_CONFIG is not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        ('{"cluster": {"worker": ["a:1"]}}', '"task"'),
        (
            '{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}',
            "is not host:port",
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
            "is not in the cluster",
        ),
    ],
)
def test_malformed_tf_config_is_a_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        parse_tf_config(text)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="Unknown strategy 'tpu'"):
        make_strategy("tpu")


def test_worker_whose_peer_never_starts_exits_with_a_clear_message(tmp_path):
    """TensorFlow would wait forever for the missing worker; the timer ends it."""
    missing = f"127.0.0.1:{free_port()}"
    tf_config = {
        "cluster": {"worker": [f"127.0.0.1:{free_port()}", missing]},
        "task": {"type": "worker", "index": 0},
    }
    code = "from keras_bmm.distribute import make_strategy; make_strategy('multiworker', 3)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(ENV, TF_CONFIG=json.dumps(tf_config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert f"not reachable yet: ['{missing}']" in err and "within 3 s" in err


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_non_zero_task_without_multiworker_trains_and_writes_its_run(
    tmp_path, monkeypatch, strategy
):
    """Managed clusters set TF_CONFIG for every job: a job that is task 1 of a cluster
    but trains alone (default or mirrored strategy) is its own chief."""
    from keras_bmm import TrainConfig, train

    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    run = tmp_path / "run"
    result = train(
        TrainConfig(
            noise=0.5,
            method="ce",
            epochs=1,
            warmup_epochs=0,
            strategy=strategy,
            run_dir=str(run),
            output=str(tmp_path / "exported"),
            verbose=0,
        )
    )
    for name in ("config.json", "history.csv", "metrics.json", "noise_report.csv"):
        assert (run / name).exists(), name
    assert not list(run.glob("worker-*"))
    assert result.export_path and os.path.exists(result.export_path)


def run_stream_workers(tmp_path, root, *mode, timeout=600):
    """Runs `multiworker_stream_run.py` as 2 workers on 127.0.0.1; returns their JSON."""
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.join(HELPERS, "multiworker_stream_run.py"),
                    str(tmp_path / f"worker{index}.json"),
                    root,
                    str(tmp_path / "run"),
                    *mode,
                ],
                env=dict(ENV, TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        logs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:  # bounded: never leave a worker behind
            p.kill()
    assert all(p.returncode == 0 for p in procs), "\n".join(log[-3000:] for log in logs)
    return [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]


def test_two_workers_stream_their_own_files_and_record_every_sample_once(tmp_path):
    """train() over streamed files on 2 workers: in each epoch each worker decodes
    only its part of every global batch, and every sample's loss is recorded once."""
    from collections import Counter

    from helpers.images import write_folder

    root = write_folder(tmp_path / "ds", ["a", "b", "c"], per_class=10)
    results = run_stream_workers(tmp_path, root)
    assert results[0]["replicas"] == 2
    for result in results:  # 24 training samples (6 held out), each once per epoch
        assert result["counts"] == [[1, 1, 24], [1, 1, 24]]
        assert len(result["noisy_val_accuracy"]) == 2 and result["report_rows"] == 24
    with open(tmp_path / "run" / "noise_report.csv") as f:
        trained = {row["file"] for row in csv.DictReader(f)}
    assert len(trained) == 24
    # In each epoch each worker decodes its own part of every global batch, once:
    # no file twice, none by both (the held-out evaluation reads its own files).
    for epoch in range(2):
        reads = [Counter(p for e, p in r["reads"] if e == epoch and p in trained) for r in results]
        assert not set(reads[0]) & set(reads[1])
        assert set(reads[0]) | set(reads[1]) == trained
        assert set(reads[0].values()) == set(reads[1].values()) == {1}
        assert len(reads[0]) == len(reads[1]) == 12
    assert os.path.exists(tmp_path / "run" / "worker-1" / "noise_report.csv")


@pytest.mark.parametrize("target_refresh", [1, 2])
def test_mirrored_train_with_a_last_batch_smaller_than_the_replicas(tmp_path, target_refresh):
    """9 images in batches of 4 on 2 replicas: the last batch of 1 would leave a
    replica an empty batch (an error in the step, NaN in batch norm's statistics);
    it joins the batch before, and every sample is trained and recorded once.
    With target_refresh=2 (4 epochs, start 1), epoch 2 is between refreshes:
    its steps skip the pass (inside a branch, batch norm and all) and record
    nothing."""
    from helpers.images import write_folder

    root = write_folder(tmp_path / "ds", ["a", "b", "c"], per_class=3)
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(HELPERS, "mirrored_train_run.py"),
            root,
            str(tmp_path / "run"),
            str(target_refresh),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = last_json_line(proc.stdout)
    assert out["replicas"] == 2 and out["batch_norm"] > 0
    if target_refresh == 1:
        assert out["counts"] == [[1] * 9, [1] * 9]
    else:
        assert out["counts"] == [[1] * 9, [1] * 9, [0] * 9, [1] * 9]
    assert all(out["finite"].values()), [p for p, ok in out["finite"].items() if not ok]
    assert np.isfinite(out["loss"]).all()


def test_two_workers_skipping_bad_files_agree_on_them(tmp_path):
    """With skip_bad_files, files left out as a worker meets them would leave the
    workers different numbers of batches in an epoch (here 4 of worker 1's 12
    samples of epoch 0: 2 batches against worker 0's 3), and each worker would count
    and list only its own. The files are checked before training, each worker its
    share: both workers leave out the same files in every epoch, and list all."""
    from helpers.images import corrupt, write_folder

    from keras_bmm.data import load_dataset
    from keras_bmm.data.pipeline import epoch_order, worker_parts
    from keras_bmm.data.splits import held_out_seed

    root = write_folder(tmp_path / "ds", ["a", "b", "c"], per_class=10)
    data = load_dataset("folder", root, image_size=(16, 16), stream=True)
    trained, _ = data.holdout(0.2, seed=held_out_seed(0))  # the helper's val_split, seed 0
    # 4 of the files worker 1 reads in epoch 0 (batches of 8: 4 per worker and step).
    positions = worker_parts(24, 8, 1, 2, 1)[0]
    bad_ids = sorted(int(i) for i in epoch_order(24, 0, 0).numpy()[positions][:4])
    bad = sorted(trained.train_files[i] for i in bad_ids)
    for path in bad:
        corrupt(path)
    results = run_stream_workers(tmp_path, root, "skip", timeout=420)
    good = sorted(set(trained.train_files) - set(bad))
    for result in results:  # the same 20 samples on both workers, each once per epoch
        assert result["counts"] == [[0, 1, 20], [0, 1, 20]]
        assert result["unrecorded"] == [bad_ids, bad_ids]
        assert result["skipped_files"] == [4, 4] and result["report_rows"] == 20
    for folder in ("run", os.path.join("run", "worker-1")):
        with open(tmp_path / folder / "bad_files.csv") as f:
            listed = list(csv.DictReader(f))
        assert sorted(r["path"] for r in listed) == bad, folder
        assert {r["split"] for r in listed} == {"train"}
        expected = sorted(int(trained.sample_ids[i]) for i in bad_ids)
        assert sorted(int(r["index"]) for r in listed) == expected
    # Training decodes only the good files, each once per epoch, by one worker.
    for epoch in range(2):
        reads = [p for r in results for e, p in r["reads"] if e == epoch]
        assert sorted(p for p in reads if p in trained.train_files) == good
