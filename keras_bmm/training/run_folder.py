"""`RunFolder`: a run's folder on disk, from a fresh start to a resume."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil

from keras_bmm.atomic import write_json
from keras_bmm.data.splits import held_out_seed


class RunFolder:
    """The folder of one run: its settings, labels, checkpoints and history.

    Layout: `config.json` (the settings), `noisy_labels.npz`, `backup/`
    (Keras `BackupAndRestore` checkpoints), `history.csv`, `tensorboard/`,
    and at the end `history.json`, `metrics.json` and `noise_report.csv`.

    Args:
        path: the folder.

    Example:

    ```python
    folder = RunFolder("runs/digits-m-dyr-h-0.8")
    initial_epoch = folder.check(config, resume=True, overwrite=False)
    ```
    """

    def __init__(self, path: str):
        self.path = path

    def file(self, name: str) -> str:
        """The path of `name` inside the folder."""
        return os.path.join(self.path, name)

    @property
    def backup_dir(self) -> str:
        return self.file("backup")

    @property
    def history_path(self) -> str:
        return self.file("history.csv")

    @property
    def labels_path(self) -> str:
        return self.file("noisy_labels.npz")

    def holds_run(self) -> bool:
        """Whether the folder holds a started run (not just a failed start)."""
        return os.path.exists(self.file("config.json")) and any(
            os.path.exists(self.file(name)) for name in ("backup", "history.csv")
        )

    def saved_settings(self) -> dict:
        """The settings the run was started with (`config.json`)."""
        with open(self.file("config.json")) as f:
            return json.load(f)

    def choices_of(self, config):
        """`config` with the unset settings the saved run chose at its start (`stream`).

        A run saved before a setting existed keeps the value it ran with
        (`_SAVED_BEFORE`: a `val_seed`-less run, its `seed`'s split).
        """
        saved = self.saved_settings()
        chosen = {
            key: saved[key]
            for key in _CHOSEN_AT_START
            if getattr(config, key) is None and saved.get(key) is not None
        }
        for key, then in _SAVED_BEFORE.items():
            if key not in saved and then(saved) is not None and _ran_as_then(key, saved, config):
                chosen[key] = then(saved)
        return dataclasses.replace(config, **chosen) if chosen else config

    def record_choices(self, config) -> None:
        """Writes into `config.json` the choices of `config` the saved run left unset.

        A run saved before it recorded its choices (`"stream": null`) would
        choose again at every resume; the choice this resume made is written
        back (atomically), so that later resumes keep it.

        Args:
            config: the resumed run's `TrainConfig`, with its choices made.
        """
        saved = self.saved_settings()
        chosen = {
            key: getattr(config, key)
            for key in _CHOSEN_AT_START
            if saved.get(key) is None and getattr(config, key) is not None
        }
        if chosen:
            write_json(self.file("config.json"), {**saved, **chosen})

    def settings_differ(self, config) -> list[str]:
        """The settings in which `config` differs from the saved run, sorted.

        Settings that may change on a resume (`TrainConfig.resumable_fields`:
        the run folder itself, the name and folder of the export, verbosity,
        strategy, evaluation frequency) are not compared; paths
        (`TrainConfig.path_fields`) are compared as resolved paths.
        """
        return _differences(self.saved_settings(), config)

    def require_checkpoint(self) -> str:
        """The last checkpoint's weights file, checked before anything is loaded.

        Raises:
            FileNotFoundError: if the folder holds no run or no checkpoint yet.
        """
        weights = os.path.join(self.backup_dir, "latest.weights.h5")
        if not os.path.exists(self.file("config.json")):
            raise FileNotFoundError(f"{self.path!r} holds no keras-bmm run (no config.json).")
        if not os.path.exists(weights):
            raise FileNotFoundError(
                f"The run in {self.path!r} has no checkpoint yet (no completed epoch), so no "
                "beta mixture has been fitted."
            )
        return weights

    def recorded_export(self, model_dir: str) -> str | None:
        """The version folder of `model_dir` this run exported (`metrics.json`), if it exists.

        Returns:
            Its path, or `None` when the run recorded no export there (or
            the folder has gone).
        """
        path = self.file("metrics.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            exported = json.load(f).get("export_path")
        if not exported or not os.path.isdir(exported):
            return None
        same = os.path.realpath(os.path.dirname(exported)) == os.path.realpath(model_dir)
        return exported if same else None

    def completed_epochs(self) -> int:
        """Epochs the last checkpoint completed (0 without one)."""
        metadata = os.path.join(self.backup_dir, "training_metadata.json")
        if not os.path.exists(metadata):
            return 0
        with open(metadata) as f:
            return int(json.load(f)["epoch"])

    def check(self, config, resume: bool, overwrite: bool) -> int:
        """Checks the folder before anything is loaded; returns the epoch to start from.

        Raises:
            FileNotFoundError: `resume` without a run to resume.
            ValueError: `resume` with other settings than the run's.
            FileExistsError: a run (or other files) already there, without
                `resume` or `overwrite`.
        """
        if resume:
            if not self.holds_run():
                raise FileNotFoundError(self._no_run_message(config))
            before = self.saved_settings()
            differ = _differences(before, config)
            if differ:
                raise ValueError(
                    f"The settings differ from the run in {self.path!r}: "
                    f"{_as_flags(differ, before, config)}. Resume with the run's settings."
                )
            return self.completed_epochs()
        if self.holds_run() and not overwrite:
            raise FileExistsError(
                f"Run folder {self.path!r} already holds a run; resume it or overwrite it "
                "(scripts/train.py --resume or --overwrite)."
            )
        if (
            os.path.isdir(self.path)
            and os.listdir(self.path)
            and not os.path.exists(self.file("config.json"))
        ):
            raise FileExistsError(
                f"Run folder {self.path!r} is not empty and holds no keras-bmm run; choose "
                "another run folder."
            )
        return 0

    @contextlib.contextmanager
    def started(self, config, resume: bool):
        """Starts the run (see `start`) for the block, leaving nothing if it fails first.

        If the block fails (or is interrupted) before the run holds its first
        checkpoint, what a fresh start wrote is removed: a folder it created
        goes, a folder that was there is left empty. A resumed run, or one
        with a checkpoint, is kept as it is.

        Args:
            config: the run's `TrainConfig`.
            resume: whether the run is resumed.

        Yields:
            This `RunFolder`.
        """
        existed = os.path.isdir(self.path)
        self.start(config, resume)
        try:
            yield self
        except BaseException:
            if not resume and not self.holds_run():
                _clear(self.path)
                if not existed and not os.listdir(self.path):
                    os.rmdir(self.path)
            raise

    def _no_run_message(self, config) -> str:
        """Why there is no run to resume here, and the runs beside it that come closest."""
        message = f"No run to resume in {self.path!r}."
        default = os.path.join("runs", config.default_name())
        if config.run_dir == default and config.name == config.default_name():
            message += (
                " Without --run-dir or --name, the run folder is named from the settings "
                "(runs/<name>): --resume needs the flags the run was started with."
            )
        closest = self._closest_runs(config)
        if closest:
            described = [f"{p!r} with {_as_flags(d, before, config)}" for p, d, before in closest]
            message += (
                " Runs beside it, closest first: " + "; ".join(described) + ". Resume one "
                "with its flags, or with its --run-dir."
            )
        return message

    def _closest_runs(self, config, count: int = 3) -> list:
        """`(path, differing settings, saved settings)` of the runs beside this folder
        with the fewest differing settings, fewest first."""
        parent = os.path.dirname(os.path.normpath(self.path))
        if not os.path.isdir(parent or "."):
            return []
        found = []
        for entry in sorted(os.listdir(parent or ".")):
            other = RunFolder(os.path.join(parent, entry))
            if os.path.normpath(other.path) == os.path.normpath(self.path) or not (
                other.holds_run()
            ):
                continue
            try:
                before = other.saved_settings()
            except (OSError, ValueError):
                continue
            differ = _differences(before, config)
            if differ:
                found.append((len(differ), other.path, differ, before))
        found.sort(key=lambda item: item[:2])
        return [(path, differ, before) for _, path, differ, before in found[:count]]

    def start(self, config, resume: bool) -> None:
        """Creates (or, for a fresh start, clears) the folder and writes `config.json`."""
        if not resume and os.path.isdir(self.path):
            _clear(self.path)  # a previous run (overwrite) or a failed start
        os.makedirs(self.path, exist_ok=True)
        if not resume:
            write_json(self.file("config.json"), config.as_dict())


def _clear(path: str) -> None:
    """Empties a run folder, but for other workers' folders (`worker-<i>`, see `train`).

    Under a multi-worker strategy each worker writes `<run_dir>/worker-<i>/`
    while the chief starts `<run_dir>`: clearing those would pull the folder
    from under a running worker, which clears its own.
    """
    for name in os.listdir(path):
        if name.startswith("worker-"):
            continue
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
        else:
            os.remove(target)


#: Settings that default to a function of another, and then differ only through it.
_DERIVED = {
    "epoch_loss_pass": lambda settings: not settings.get("fast"),
    "noise_seed": lambda settings: settings.get("seed"),
    "val_seed": lambda settings: (
        held_out_seed(settings["seed"]) if settings.get("val_split") else None
    ),
}


#: Settings that, left unset, are chosen when a run starts (here: in memory or
#: streamed, by the memory free then): unset on a resume, the saved choice holds.
_CHOSEN_AT_START = ("stream",)


#: Settings added since runs were first saved, and the value a run saved before
#: then ran with (`None`: none): a run's split was drawn with its `seed`, and its
#: targets were fresh every epoch.
_SAVED_BEFORE = {
    "val_seed": lambda settings: settings.get("seed") if settings.get("val_split") else None,
    "target_refresh": lambda settings: 1,
}


def _ran_as_then(key: str, before: dict, config) -> bool:
    """Whether `config` resumes a run saved before `key` existed as it ran: its value
    is unset, or the one its settings derive, or the one the run then had."""
    value = getattr(config, key)
    derived = _DERIVED[key](before) if key in _DERIVED else None
    return value is None or value in (derived, _SAVED_BEFORE[key](before))


def _differences(before: dict, config) -> list[str]:
    """The settings of `config` that differ from the saved `before` (see `settings_differ`)."""
    current = config.as_dict()
    skip = set(config.resumable_fields())
    paths = set(config.path_fields())

    def same(key):
        a, b = before.get(key), current[key]
        if key in paths and isinstance(a, str) and isinstance(b, str):
            return os.path.realpath(a) == os.path.realpath(b)
        if key in _SAVED_BEFORE and key not in before:
            return _ran_as_then(key, before, config)  # `choices_of` keeps its value
        if key in _CHOSEN_AT_START and b is None:
            return True  # the resumed run keeps the saved run's choice (`choices_of`)
        if key in _DERIVED and a == _DERIVED[key](before) and b == _DERIVED[key](current):
            return True  # each follows its own run's setting, which is compared itself
        return a == b

    return sorted(k for k in current if k not in skip and not same(k))


def _as_flags(fields: list, before: dict, config, shown: int = 6) -> str:
    """The run's value of each field as its flag, with this run's value:
    `--method ce (here m-dyr-h)`."""
    current = config.as_dict()
    parts = [
        f"{_flag(config, f, before.get(f))} (here {_flag(config, f, current[f], bare=True)})"
        for f in fields[:shown]
    ]
    if len(fields) > shown:
        parts.append(f"and {len(fields) - shown} more ({', '.join(fields[shown:])})")
    return ", ".join(parts)


def _flag(config, field: str, value, bare: bool = False) -> str:
    """`--flag value` (`bare`: the value alone) as the command line would give it."""
    flag = config.__dataclass_fields__[field].metadata.get("flag")
    flag = flag or "--" + field.replace("_", "-")
    if isinstance(value, bool):
        switch = flag if value else "--no-" + flag[2:]
        return switch
    if value is None:
        text = "unset"
    elif isinstance(value, (list, tuple)):
        text = " ".join(str(v) for v in value) or "(none)"
    else:
        text = str(value)
    return text if bare else f"{flag} {text}"
