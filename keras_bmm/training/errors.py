"""`ConfigError`: an invalid setting, named by its `TrainConfig` field (no TensorFlow)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is invalid; `field` names it.

    Args:
        field: the `TrainConfig` field at fault.
        message: what is wrong, naming settings by their field names.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
