"""Backbones that output logits."""

from keras_bmm.models.preact_resnet import preact_resnet18
from keras_bmm.models.small_cnn import small_cnn

__all__ = ["preact_resnet18", "small_cnn"]
