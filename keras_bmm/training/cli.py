"""The command-line flags of `TrainConfig`, made from its fields (no TensorFlow here)."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import re

from keras_bmm.training.config import ConfigError, TrainConfig


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors print the error and a hint, not the usage.

    A mistyped flag's hint names the closest flags.
    """

    def error(self, message):
        hint = f"Run '{self.prog} -h' for every flag."
        if message.startswith("unrecognized arguments:"):
            flags = [f for action in self._actions for f in action.option_strings]
            typed = [a.split("=")[0] for a in message.split(":", 1)[1].split() if a[:1] == "-"]
            close = [m for a in typed for m in difflib.get_close_matches(a, flags, n=2)]
            if close:
                hint = f"Did you mean {' or '.join(dict.fromkeys(close))}? " + hint
        self.exit(2, f"{self.prog}: error: {message}\n{hint}\n")


def quiet_tensorflow() -> None:
    """Silences TensorFlow's C++ start-up messages (CUDA, oneDNN, rendezvous) before it loads.

    The command line sets `TF_CPP_MIN_LOG_LEVEL=3` unless the user set it
    (`TF_CPP_MIN_LOG_LEVEL=0` shows every message again); errors still
    reach the user as Python exceptions.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def flag_of(field: str) -> str:
    """The command-line flag of a `TrainConfig` field (`learning_rate` -> `--lr`)."""
    metadata = TrainConfig.__dataclass_fields__[field].metadata
    return metadata.get("flag") or "--" + field.replace("_", "-")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds `--config FILE` and one flag per `TrainConfig` field, none with a default.

    Only the flags given override the `--config` file, the preset and the
    dataset's defaults, in that order.
    """
    suppress = argparse.SUPPRESS
    parser.add_argument(
        "--config", default=suppress, help="JSON file of settings (e.g. tune.py's best_config.json)"
    )
    for field in dataclasses.fields(TrainConfig):
        meta = field.metadata
        # Help and choices may be functions (the dataset table's, read now).
        help_text = meta["help"]() if callable(meta["help"]) else meta["help"]
        options = dict(default=suppress, dest=field.name, help=help_text)
        if meta["type"] is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = meta["type"]
            for key in ("choices", "nargs", "metavar"):
                value = meta.get(key)
                if value is not None:
                    options[key] = value() if callable(value) else value
        parser.add_argument(flag_of(field.name), **options)


def config_from_args(args: dict) -> TrainConfig:
    """The resolved `TrainConfig` of parsed flags (a dict).

    Raises:
        ConfigError: for an unreadable `--config` file or an invalid setting.
    """
    args = dict(args)
    values = {}
    path = args.pop("config", None)
    if path:
        try:
            with open(path) as f:
                values = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError("config", f"config {path}: cannot read settings ({error}).") from None
        unknown = sorted(set(values) - set(TrainConfig.__dataclass_fields__))
        if unknown:
            raise ConfigError("config", f"config {path}: unknown settings {unknown}.")
    values.update(args)
    return TrainConfig(**values).resolved()


def with_flags(message: str) -> str:
    """A library message with each setting named by its flag (`noise` -> `--noise`)."""
    names = sorted(TrainConfig.__dataclass_fields__, key=len, reverse=True)
    names = [n for n in names if "_" in n] + ["config"]
    message = re.sub(rf"\b({'|'.join(names)})\b", lambda m: _flag(m.group(1)), message)
    return message


def _flag(name: str) -> str:
    return "--config" if name == "config" else flag_of(name)


def parse_config(parser: argparse.ArgumentParser, argv=None, options=()):
    """Parses `argv`: `(config, {option: value})`, or exits with the error (status 2).

    Args:
        parser: a parser with `add_config_arguments` and the script's own options.
        argv: the arguments (default `sys.argv[1:]`).
        options: the script's own option names, returned apart from the settings.
    """
    args = vars(parser.parse_args(argv))
    own = {name: args.pop(name) for name in options if name in args}
    try:
        return config_from_args(args), own
    except ConfigError as error:
        message = str(error)
        if message.startswith(f"{error.field} "):
            message = _flag(error.field) + message[len(error.field) :]
        parser.error(with_flags(message))
