"""`preact_resnet18`: the PreAct ResNet-18 of the paper's reference code."""

from __future__ import annotations

import keras


def _bn(name: str) -> keras.layers.Layer:
    # PyTorch's BatchNorm2d defaults (momentum 0.1 there is 0.9 here, eps 1e-5).
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _torch_default_init() -> keras.initializers.Initializer:
    # PyTorch's default for Conv2d/Linear (kaiming_uniform with a=sqrt(5)):
    # U(-b, b) with b = 1/sqrt(fan_in), i.e. variance 1/(3 fan_in).
    return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")


def _conv(filters: int, kernel: int, stride: int, name: str) -> keras.layers.Layer:
    return keras.layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer=_torch_default_init(),
        name=name,
    )


def _preact_block(x, filters: int, stride: int, name: str):
    """BN-ReLU, conv3x3-BN-ReLU-conv3x3, plus the BN-ReLU output (or its 1x1 projection)."""
    out = keras.layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(x))
    # As in the reference: the shortcut starts from the pre-activated input.
    shortcut = out
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, stride, f"{name}_shortcut")(out)
    out = _conv(filters, 3, stride, f"{name}_conv1")(out)
    out = keras.layers.ReLU(name=f"{name}_relu2")(_bn(f"{name}_bn2")(out))
    out = _conv(filters, 3, 1, f"{name}_conv2")(out)
    return keras.layers.Add(name=f"{name}_add")([out, shortcut])


def preact_resnet18(
    num_classes: int, width: int = 64, input_shape: tuple = (32, 32, 3)
) -> keras.Model:
    """PreAct ResNet-18 as in the paper's code; outputs logits.

    The layout follows `PreResNet.py` of the reference implementation: a 3x3
    stem convolution with batch norm and ReLU, four stages of two
    pre-activation basic blocks (`width`, 2x, 4x, 8x channels; stride 2 from
    the second stage on; the shortcut adds the block's BN-ReLU output, or its
    1x1 projection without batch norm when the shape changes), global
    average pooling (the reference's 4x4 average pool at 32x32) and a linear
    layer. Weights start from PyTorch's default initialisation, as in the
    reference. At `width=64` and 10 classes it has 11,171,274 trainable
    parameters, the reference's count.

    Args:
        num_classes: number of output logits.
        width: channels of the first stage; 64 is the paper's network, smaller
            values make CPU-sized runs.
        input_shape: image shape `(H, W, C)`.

    Returns:
        A functional `keras.Model` named `preact_resnet18`.

    Example:

    ```python
    backbone = keras_bmm.networks.preact_resnet18(num_classes=10, width=64)
    logits = backbone(np.zeros((2, 32, 32, 3), "float32"))
    ```

    Reference:
        He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016;
        Arazo et al., "Unsupervised Label Noise Modeling and Loss Correction",
        ICML 2019 (github.com/PaulAlbert31/LabelNoiseCorrection).
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}.")
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(width, 3, 1, "stem_conv")(inputs)
    x = keras.layers.ReLU(name="stem_relu")(_bn("stem_bn")(x))
    for stage, multiplier in enumerate((1, 2, 4, 8)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _preact_block(x, width * multiplier, stride, f"stage{stage + 1}_block{block + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    bound = 1.0 / (8 * width) ** 0.5
    outputs = keras.layers.Dense(
        num_classes,
        kernel_initializer=_torch_default_init(),
        bias_initializer=keras.initializers.RandomUniform(-bound, bound),
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name="preact_resnet18")
