"""Trains on the digits under MirroredStrategy with 2 logical CPU devices; prints JSON.

Two experiments:

- `m-dyr-h` on all 1,347 digits, 2 replicas: how often each sample's loss is
  gathered per epoch, the final loss and the noise-detection AUC;
- `ce` on the first 1,280 digits (20 batches of 64, split 32/32 between the
  replicas), once on 2 replicas and once on one device, with the same initial
  weights and batches: each run's own per-sample losses and fitted mixture. A
  backbone without batch norm makes the replicas' forward passes equal to
  the single device's (batch norm would use per-replica batch statistics).

Run as a separate process: logical devices must be set before TensorFlow starts.
"""

import json

import tensorflow as tf

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
from counts import Counts  # noqa: E402

import keras_bmm  # noqa: E402
from keras_bmm.data import load_digits, train_pipeline  # noqa: E402
from keras_bmm.networks import small_cnn  # noqa: E402

EPOCHS = 2
CE_SAMPLES = 1280  # a multiple of the batch size: every batch splits evenly


class RecordedLosses(keras.callbacks.Callback):
    """Each epoch's per-sample losses as the train steps recorded them."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.losses.append(self.model.noise_state.recorded_losses()[0].tolist())


def plain_cnn(num_classes=10):
    """A convolution and a hidden dense layer, no batch norm."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Dense(64, activation="relu")(keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def bootstrapping_run(strategy, method, images, labels, backbone, callbacks, mask, epochs):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras_bmm.BootstrappingModel(
            backbone(10), method=method, num_samples=len(labels), warmup_epochs=1, seed=0
        )
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    bmm = keras_bmm.BMMCallback(noise_mask=mask)
    history = model.fit(
        train_pipeline(images, labels, 64, seed=0),
        epochs=epochs,
        callbacks=[*callbacks, bmm],
        verbose=0,
    )
    mixture = [bmm.mixture.alphas.tolist(), bmm.mixture.betas.tolist()]
    return history.history, mixture + [bmm.mixture.weights.tolist()]


def main():
    data = load_digits()
    noise = keras_bmm.symmetric_noise(data.train_labels, 0.5, 10, seed=0)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    counts = Counts()
    history, _ = bootstrapping_run(
        mirrored,
        "m-dyr-h",
        data.train_images,
        noise.labels,
        small_cnn,
        [counts],
        noise.noise_mask,
        epochs=3,
    )
    images, labels = data.train_images[:CE_SAMPLES], noise.labels[:CE_SAMPLES]
    mask = noise.noise_mask[:CE_SAMPLES]
    ce = {}
    for name, strategy in (("distributed", mirrored), ("single", tf.distribute.get_strategy())):
        recorded = RecordedLosses()
        _, mixture = bootstrapping_run(
            strategy, "ce", images, labels, plain_cnn, [recorded], mask, EPOCHS
        )
        ce[name] = {"losses": recorded.losses, "mixture": mixture}
    print(
        json.dumps(
            {
                "replicas": mirrored.num_replicas_in_sync,
                "counts_min": [int(c.min()) for c in counts.counts],
                "counts_max": [int(c.max()) for c in counts.counts],
                "auc": history["bmm_auc"][-1],
                "loss": history["loss"][-1],
                "ce": ce,
            }
        )
    )


if __name__ == "__main__":
    main()
