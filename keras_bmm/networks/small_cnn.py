"""A small CNN for the embedded 8x8 digits."""

from __future__ import annotations

import keras


def small_cnn(num_classes: int, input_shape=(8, 8, 1), width: int = 32) -> keras.Model:
    """Three conv blocks, global pooling and a linear classifier; outputs logits.

    Batch-norm momentum is 0.9, PyTorch's default, as in the reference code.

    Args:
        num_classes: number of output logits.
        input_shape: image shape `(H, W, C)`.
        width: channels of the first block (doubled in each later block).

    Returns:
        A functional `keras.Model`.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, channels in enumerate((width, 2 * width, 4 * width)):
        x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        if i == 1:
            x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="small_cnn")
