"""Resuming a run: after a kill at any point of an epoch's end, and from another path."""

import csv
import os
import shutil

import keras
import numpy as np
import pytest
from test_training import Crash, config

from keras_bmm import train

#: A 4-epoch run whose warm-up AUC is read from the row of epoch 2 (the third).
SETTINGS = dict(epochs=4, warmup_epochs=3, lr_milestones=(3,))


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted run."""
    return train(config(tmp_path_factory.mktemp("whole") / "run", **SETTINGS), export=False)


def history_epochs(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def assert_same_history(resumed, whole, skip=()):
    for key in ("loss", "bmm_auc", "bmm_alpha_noisy"):
        a, b = np.array(resumed.history[key]), np.array(whole.history[key])
        keep = [i for i in range(len(b)) if i not in skip]
        np.testing.assert_allclose(a[keep], b[keep], rtol=1e-3, err_msg=key)
    assert resumed.auc_after_warmup == pytest.approx(whole.auc_after_warmup, abs=1e-3)


def test_kill_between_the_history_row_and_the_checkpoint(tmp_path, monkeypatch, whole):
    """Epoch 1's row is written, its checkpoint is not: the resumed run redoes
    epoch 1 and the history keeps one row for it."""
    save = keras.callbacks.BackupAndRestore.on_epoch_end

    def killed_before_saving(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("killed before the checkpoint")
        save(self, epoch, logs)

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end", killed_before_saving)
        with pytest.raises(KeyboardInterrupt):
            train(config(run, **SETTINGS), export=False)
    assert history_epochs(run) == [1, 2]  # the row of the epoch without a checkpoint
    resumed = train(config(run, **SETTINGS), export=False, resume=True)
    assert history_epochs(run) == [1, 2, 3, 4]
    assert_same_history(resumed, whole)


def test_kill_between_the_checkpoint_and_the_history_row(tmp_path, whole):
    """The opposite order (a checkpoint written before the history, as with
    `BackupAndRestore` placed first): epoch 1 is checkpointed but its row is
    lost. The resumed run does not redo it; its row reads NA and every later
    row stays at its epoch's position, so the warm-up AUC is epoch 2's."""
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config(run, **SETTINGS), export=False, callbacks=[Crash(2)])
    path = run / "history.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert [row[0] for row in rows] == ["epoch", "1", "2"]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows[:2])  # epoch 1's row never written
    resumed = train(config(run, **SETTINGS), export=False, resume=True)
    assert history_epochs(run) == [1, 2, 3, 4]
    assert np.isnan(resumed.history["loss"][1]) and np.isnan(resumed.history["bmm_auc"][1])
    assert_same_history(resumed, whole, skip=(1,))


def test_resume_from_an_absolute_path_a_trailing_slash_a_copy_and_a_move(
    tmp_path, monkeypatch, whole
):
    """The run folder is where the run is, not one of its settings: a run started
    as `runs/a` resumes as its absolute path, with a trailing slash, copied
    elsewhere and moved, and ends as the uninterrupted run."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        train(config("runs/a", **SETTINGS), export=False, callbacks=[Crash(1)])
    with pytest.raises(KeyboardInterrupt):
        train(
            config(str(tmp_path / "runs" / "a"), **SETTINGS),
            export=False,
            resume=True,
            callbacks=[Crash(2)],
        )
    shutil.copytree(tmp_path / "runs" / "a", tmp_path / "copy")
    with pytest.raises(KeyboardInterrupt):
        train(config("copy/", **SETTINGS), export=False, resume=True, callbacks=[Crash(3)])
    os.rename(tmp_path / "copy", tmp_path / "moved")
    resumed = train(config("moved", **SETTINGS), export=False, resume=True)
    assert history_epochs(tmp_path / "moved") == [1, 2, 3, 4]
    assert_same_history(resumed, whole)
    np.testing.assert_array_equal(resumed.noise.labels, whole.noise.labels)
    # The original folder, left at epoch 2, still resumes where it is.
    original = train(config("runs/a/", **SETTINGS), export=False, resume=True)
    assert_same_history(original, whole)


def test_path_settings_are_compared_as_paths(tmp_path, monkeypatch):
    """`data_dir` and `noisy_labels` name files: the same file written as a relative
    or an absolute path, or with a trailing slash, is the same setting."""
    from keras_bmm import TrainConfig
    from keras_bmm.training.run_folder import RunFolder

    monkeypatch.chdir(tmp_path)
    first = TrainConfig(dataset="folder", data_dir="data/images", noisy_labels="labels.npz")
    folder = RunFolder(str(tmp_path / "run"))
    folder.start(first.resolved(), resume=False)
    same = TrainConfig(
        dataset="folder",
        data_dir=str(tmp_path / "data" / "images") + os.sep,
        noisy_labels=str(tmp_path / "labels.npz"),
    )
    assert folder.settings_differ(same.resolved()) == []
    other = TrainConfig(dataset="folder", data_dir="data/other", noisy_labels="labels.npz")
    assert folder.settings_differ(other.resolved()) == ["data_dir"]


def test_resuming_a_finished_run_does_not_export_it_again(tmp_path):
    """A finished run resumed (e.g. by a retrying job) keeps its one export; an
    export folder the run has not exported to yet receives it."""
    settings = dict(epochs=1, warmup_epochs=0, method="ce", lr_milestones=())
    run, out = tmp_path / "run", tmp_path / "exported"
    first = train(config(run, output=str(out), **settings))
    for _ in range(2):
        again = train(config(run, output=str(out), **settings), resume=True)
        assert again.export_path == first.export_path
    assert os.listdir(out / first.config.name) == ["1"]
    elsewhere = train(config(run, output=str(tmp_path / "other"), **settings), resume=True)
    assert elsewhere.export_path == str(tmp_path / "other" / first.config.name / "1")


def test_a_fresh_chief_leaves_the_workers_folders_alone(tmp_path):
    """Under a multi-worker strategy worker i writes <run_dir>/worker-i/ while the
    chief starts <run_dir>: the chief's fresh start must not pull it away."""
    from keras_bmm.training.run_folder import RunFolder

    run = tmp_path / "run"
    (run / "worker-1").mkdir(parents=True)
    (run / "worker-1" / "config.json").write_text("{}")
    (run / "history.csv").write_text("stale")
    RunFolder(str(run)).start(config(run, **SETTINGS).resolved(), resume=False)
    assert (run / "worker-1" / "config.json").exists()
    assert not (run / "history.csv").exists() and (run / "config.json").exists()
