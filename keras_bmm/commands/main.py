"""`keras-bmm`: one command, with a sub-command per task."""

from __future__ import annotations

import difflib
import importlib
import sys

#: Sub-command -> (module with `main(argv, prog)`, one line of help).
COMMANDS = {
    "train": ("keras_bmm.commands.train", "train a classifier on noisy labels and export it"),
    "report": ("keras_bmm.commands.report", "write a run's noise report and suggestions again"),
    "tune": ("keras_bmm.commands.tune", "search settings on held-out noisy labels (keras-tuner)"),
    "benchmark": ("keras_bmm.commands.benchmark", "run a benchmark and print its table"),
}

USAGE = "usage: keras-bmm {train,report,tune,benchmark} [flags]  (keras-bmm COMMAND -h: its flags)"


def main(argv=None) -> int:
    """Runs `keras-bmm COMMAND ...`: the command's own `main` with the other arguments.

    Args:
        argv: the arguments (default `sys.argv[1:]`).

    Returns:
        The exit status (commands exit on their own errors).

    Example:

    ```
    keras-bmm train --dataset digits --noise 0.8
    ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = [USAGE, "", "commands:"]
        lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
        print("\n".join(lines))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        sys.exit(f"keras-bmm: error: unknown command {name!r}.{hint}\n{USAGE}")
    module = importlib.import_module(COMMANDS[name][0])
    module.main(rest, prog=f"keras-bmm {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
