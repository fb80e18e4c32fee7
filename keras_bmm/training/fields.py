"""How `TrainConfig` declares its fields (`setting`) and reports a bad one (`ConfigError`)."""

from __future__ import annotations

import dataclasses


class ConfigError(ValueError):
    """A setting is invalid; `field` names it.

    Args:
        field: the `TrainConfig` field at fault.
        message: what is wrong, naming settings by their field names.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def int_or_auto(text) -> int | str:
    """A flag's value that is an integer or a start rule's name (`--warmup-epochs auto`)."""
    from keras_bmm.bootstrapping.methods import WARMUP_RULES

    word = str(text).strip().lower()
    if word in WARMUP_RULES:
        return word
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a number of epochs or one of {WARMUP_RULES}") from None


def setting(help: str, type=str, choices=None, nargs=None, metavar=None, flag=None, **kw):
    """A `TrainConfig` field: unset (`None`) by default, with its flag's description.

    Args:
        help: the flag's help text, or a function that returns it.
        type: `str`, `int`, `float` or `bool` (a `--x/--no-x` switch).
        choices: the allowed values, or a function that returns them.
        nargs: for list-valued settings (`"*"`, or a count).
        metavar: the flag's value names.
        flag: the flag, when not `--<field-name>`.
        **kw: `resumable=True` for settings that may change when a run is
            resumed; `path=True` for file paths (compared as resolved paths).
    """
    metadata = dict(help=help, type=type, choices=choices, nargs=nargs, metavar=metavar, flag=flag)
    metadata.update(kw)
    return dataclasses.field(default=None, metadata=metadata)
