"""One worker of a 2-worker MultiWorkerMirroredStrategy run on the digits (TF_CONFIG set).

Usage: `multiworker_run.py OUT.json [CLUSTER_TIMEOUT [DELAY]]`. Writes the final BMM
parameters and per-epoch sample counts as JSON to OUT.json. The worker waits DELAY
seconds after building its model, before training (a worker still preparing
its data while the others wait at the first gradient all-reduce).
"""

import json
import sys
import time

import keras
import numpy as np
from counts import Counts

import keras_bmm
from keras_bmm.data import load_digits, train_pipeline
from keras_bmm.distribute import make_strategy
from keras_bmm.networks import small_cnn


def main(out_path, cluster_timeout=60.0, delay=0.0):
    strategy = make_strategy("multiworker", cluster_timeout=cluster_timeout)
    keras.utils.set_random_seed(0)
    data = load_digits()
    noise = keras_bmm.symmetric_noise(data.train_labels, 0.5, 10, seed=0)
    with strategy.scope():
        model = keras_bmm.BootstrappingModel(
            small_cnn(10), method="m-dyr-h", num_samples=data.num_train, warmup_epochs=1, seed=0
        )
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    counts, bmm = Counts(), keras_bmm.BMMCallback()
    time.sleep(delay)
    model.fit(
        train_pipeline(data.train_images, noise.labels, 64, seed=0),
        epochs=2,
        callbacks=[counts, bmm],
        verbose=0,
    )
    m = bmm.mixture
    with open(out_path, "w") as f:
        json.dump(
            {
                "workers": strategy.num_replicas_in_sync,
                "params": np.stack([m.alphas, m.betas, m.weights]).tolist(),
                "counts": [[int(c.min()), int(c.max()), int(c.sum())] for c in counts.counts],
                "trainable": [w.numpy().ravel()[:50].tolist() for w in model.trainable_weights],
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1], *(float(a) for a in sys.argv[2:]))
