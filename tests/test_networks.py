"""Backbones: the PreAct ResNet-18 against the reference's parameter count."""

import numpy as np
import pytest

from keras_bmm.networks import preact_resnet18, small_cnn


def reference_parameter_count(num_classes, width=64):
    """Parameters of the reference PreResNet.py ResNet18, module by module
    (conv weights, and weight+bias of each BatchNorm2d and the Linear)."""
    conv = lambda cin, cout, k: cin * cout * k * k  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    total = conv(3, width, 3) + bn(width)  # conv1, bn1
    in_planes = width
    for stage, planes in enumerate([width, 2 * width, 4 * width, 8 * width]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            total += (
                bn(in_planes) + conv(in_planes, planes, 3) + bn(planes) + conv(planes, planes, 3)
            )
            if stride != 1 or in_planes != planes:
                total += conv(in_planes, planes, 1)
            in_planes = planes
    return total + 8 * width * num_classes + num_classes


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_preact_resnet18_matches_reference_parameter_count():
    model = preact_resnet18(10)
    assert trainable_count(model) == reference_parameter_count(10) == 11_171_274
    assert trainable_count(preact_resnet18(100)) == reference_parameter_count(100)


@pytest.mark.parametrize("width", [8, 16])
def test_preact_resnet18_width_and_output(width):
    model = preact_resnet18(7, width=width)
    assert trainable_count(model) == reference_parameter_count(7, width)
    logits = model(np.zeros((2, 32, 32, 3), np.float32), training=False)
    assert logits.shape == (2, 7)


def test_backbone_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        preact_resnet18(1)
    with pytest.raises(ValueError, match="width"):
        preact_resnet18(10, width=0)
    assert small_cnn(10).output.shape == (None, 10)
