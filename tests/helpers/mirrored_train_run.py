"""`train()` under MirroredStrategy on 2 logical CPUs, 9 images in batches of 4; prints JSON.

The last global batch holds one sample, fewer than the replicas. Prints, as
JSON, how often each sample's loss was recorded per epoch, whether every
weight (batch norm's moving statistics included) is finite, and the losses.
Usage: mirrored_train_run.py DATA_ROOT RUN_DIR [TARGET_REFRESH]
(with TARGET_REFRESH above 1: 4 epochs, so that epoch 2 is between refreshes)
Run as a separate process: logical devices must be set before TensorFlow starts.
"""

import json
import sys

import tensorflow as tf

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
from counts import Counts  # noqa: E402

from keras_bmm import TrainConfig, train  # noqa: E402


def main(data_root, run_dir, target_refresh="1"):
    counts = Counts()
    config = TrainConfig(
        dataset="folder",
        data_dir=data_root,
        image_size=(16, 16),
        stream=True,
        model="small_cnn",
        width=8,
        method="m-dyr-h",
        epochs=2 if int(target_refresh) == 1 else 4,
        warmup_epochs=1,
        target_refresh=int(target_refresh),
        batch_size=4,
        learning_rate=0.05,
        lr_milestones=(),
        noise=0.3,
        strategy="mirrored",
        run_dir=run_dir,
        verbose=0,
    )
    result = train(config, export=False, callbacks=[counts])
    model = result.model
    print(
        json.dumps(
            {
                "replicas": model.distribute_strategy.num_replicas_in_sync,
                "counts": [c.tolist() for c in counts.counts],
                "finite": {
                    w.path: bool(np.isfinite(w.numpy()).all()) for w in model.backbone.weights
                },
                "batch_norm": sum("moving_variance" in w.path for w in model.backbone.weights),
                "loss": result.history["loss"],
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
