"""One worker of a 2-worker `train()` over streamed image files (TF_CONFIG set).

Writes, as JSON to argv[1], how often each sample's loss was recorded per
epoch and which files this worker decoded in each epoch.
Usage: multiworker_stream_run.py OUT.json DATA_ROOT RUN_DIR [skip]
(`skip`: with skip_bad_files).
"""

import json
import sys
import threading

import keras
import numpy as np
import tensorflow as tf
from counts import Counts

import keras_bmm.data.source as source_module
from keras_bmm import TrainConfig, train

reads, lock, training, epoch = [], threading.Lock(), threading.Event(), [None]
decode_resized = source_module.decode_resized


def recording_decode(path, size):
    def note(p):
        if training.is_set():
            with lock:
                reads.append((epoch[0], p.numpy().decode()))
        return True

    with tf.control_dependencies([tf.py_function(note, [path], tf.bool)]):
        return decode_resized(path, size)


source_module.decode_resized = recording_decode


class Training(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        training.set()

    def on_epoch_begin(self, index, logs=None):
        epoch[0] = index

    def on_train_end(self, logs=None):
        training.clear()


def main(out_path, data_root, run_dir, mode=""):
    counts = Counts()
    config = TrainConfig(
        dataset="folder",
        data_dir=data_root,
        image_size=(16, 16),
        stream=True,
        val_split=0.2,
        model="small_cnn",
        width=8,
        method="m-dyr-h",
        epochs=2,
        warmup_epochs=1,
        batch_size=8,
        lr_milestones=(),
        noise=0.3,
        strategy="multiworker",
        skip_bad_files=mode == "skip",
        run_dir=run_dir,
        verbose=0,
    )
    result = train(config, export=False, callbacks=[Training(), counts])
    with open(out_path, "w") as f:
        json.dump(
            {
                "replicas": result.model.distribute_strategy.num_replicas_in_sync,
                "counts": [[int(c.min()), int(c.max()), int(c.sum())] for c in counts.counts],
                "unrecorded": [np.flatnonzero(c == 0).tolist() for c in counts.counts],
                "reads": reads,
                "noisy_val_accuracy": result.history["noisy_val_accuracy"],
                "skipped_files": result.history.get("skipped_files"),
                "report_rows": sum(1 for _ in open(result.report_path)) - 1,
            },
            f,
        )


if __name__ == "__main__":
    main(*sys.argv[1:5])
