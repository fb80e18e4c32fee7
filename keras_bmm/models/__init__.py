"""Backbones that output logits."""

from keras_bmm.models.small_cnn import small_cnn

__all__ = ["small_cnn"]
