"""Trains on the digits under MirroredStrategy with 2 logical CPU devices; prints JSON.

Run as a separate process: logical devices must be set before TensorFlow starts.
"""

import json
import sys

import tensorflow as tf

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
from counts import Counts  # noqa: E402

import keras_bmm  # noqa: E402
from keras_bmm.data import load_digits, train_pipeline  # noqa: E402
from keras_bmm.mixture import loss_bounds, normalize_losses, trim_to_bounds  # noqa: E402
from keras_bmm.models import small_cnn  # noqa: E402


def main(method):
    keras.utils.set_random_seed(0)
    data = load_digits()
    noise = keras_bmm.symmetric_noise(data.train_labels, 0.5, 10, seed=0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras_bmm.BootstrappingModel(
            small_cnn(10), method=method, num_samples=data.num_train, warmup_epochs=1, seed=0
        )
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    counts = Counts()
    bmm = keras_bmm.BMMCallback(noise_mask=noise.noise_mask)
    history = model.fit(
        train_pipeline(data.train_images, noise.labels, 64, seed=0),
        epochs=3,
        callbacks=[counts, bmm],
        verbose=0,
    )
    # A single-device fit of the same gathered losses.
    losses = model.noise_state.last_fit.losses
    bounds = loss_bounds(losses)
    single = keras_bmm.BetaMixture().fit(
        normalize_losses(trim_to_bounds(losses, bounds), bounds).numpy()
    )
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "counts_min": [int(c.min()) for c in counts.counts],
                "counts_max": [int(c.max()) for c in counts.counts],
                "distributed": [
                    bmm.mixture.alphas.tolist(),
                    bmm.mixture.betas.tolist(),
                    bmm.mixture.weights.tolist(),
                ],
                "single": [single.alphas.tolist(), single.betas.tolist(), single.weights.tolist()],
                "auc": history.history["bmm_auc"][-1],
                "loss": history.history["loss"][-1],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "m-dyr-h")
