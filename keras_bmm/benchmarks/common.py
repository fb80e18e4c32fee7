"""Timing and reporting helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

from keras_bmm.bootstrapping.methods import uses_mixture


def median_time(run, repeats: int, warmup: int = 1) -> float:
    """Median wall time of `run()` over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def format_table(rows: list[dict], columns: list[str], markdown: bool = False) -> str:
    """A plain-text (or Markdown) table of `rows` (dicts) with the given columns."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
        return "" if value is None else str(value)

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def start_epoch(history: dict, method: str):
    """The first epoch of bootstrapping (1-based), as the run logged it, or None.

    None for a method that does not bootstrap (ce, mixup), whose run logs the
    configured warm-up all the same, and for an automatic warm-up that never
    started.
    """
    from keras_bmm.training.result import logged_start

    start = logged_start(history) if uses_mixture(method) else None
    return None if start is None else start + 1


def settings_suffix(overrides: dict | None) -> str:
    """`-<key>=<value>` for each setting changed from the preset (a run folder's name)."""
    return "".join(f"-{key}={value}" for key, value in sorted((overrides or {}).items()))


def finished_row(config, run_dir: str, result_file: str) -> dict | None:
    """The row of a finished run in `run_dir`, or `None` to train (or resume) it.

    Raises:
        ValueError: `run_dir` holds a run with other settings than `config`'s.
    """
    from keras_bmm.training.run_folder import RunFolder

    folder = RunFolder(run_dir)
    if os.path.exists(folder.file("config.json")):
        differ = folder.settings_differ(config.resolved())
        if differ:
            raise ValueError(
                f"{run_dir!r} holds a run with other settings {differ}; choose another "
                "--run-root or delete that folder."
            )
    done = os.path.join(run_dir, result_file)
    return read_row(done) if os.path.exists(done) else None


def train_or_read(config, run_dir: str, result_file: str, row_of) -> dict:
    """A run's row: read back when finished, else trained (or resumed) and written.

    Args:
        config: the run's `TrainConfig` (its `run_dir` is `run_dir`).
        run_dir: the run folder.
        result_file: the row's file in `run_dir`.
        row_of: `row_of(result, seconds, resumed)` makes the row of a
            `TrainResult`, `seconds` this invocation's wall time.
    """
    import time

    from keras_bmm.atomic import write_json as write
    from keras_bmm.training import train
    from keras_bmm.training.run_folder import RunFolder

    row = finished_row(config, run_dir, result_file)
    if row is not None:
        return row
    resume = RunFolder(run_dir).holds_run()
    start = time.time()
    result = train(config, export=False, resume=resume)
    row = row_of(result, time.time() - start, resume)
    write(os.path.join(run_dir, result_file), row)
    return row


def read_row(path: str) -> dict:
    """A finished run's row, as its benchmark wrote it."""
    with open(path) as f:
        row = json.load(f)
    if "start_epoch" in row and not uses_mixture(row.get("method", "")):
        row["start_epoch"] = None  # rows written before the column ignored the method
    return row


def machine() -> dict:
    """Where and when a benchmark ran."""
    return {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def write_json(
    path: str | None, benchmark: str, rows: list[dict], settings: dict, meta: dict | None = None
) -> None:
    """Writes `{"benchmark", "meta", "settings", "rows"}` to `path` (atomically).

    `meta` is the machine (`machine()`), the TensorFlow and Keras versions,
    and the entries of `meta` (e.g. the device).
    """
    if not path:
        return
    import keras
    import tensorflow as tf

    from keras_bmm.atomic import write_json as write

    meta = {**machine(), "tensorflow": tf.__version__, "keras": keras.__version__, **(meta or {})}
    write(path, {"benchmark": benchmark, "meta": meta, "settings": settings, "rows": rows})


def cifar10_archive(data_dir: str | None) -> str:
    """The CIFAR-10 JPEG archive: `data_dir`, or `$KERAS_BMM_CIFAR10_ARCHIVE`."""
    from keras_bmm.training.train_presets import DATA_DIR_ENVIRONMENT

    env = DATA_DIR_ENVIRONMENT["cpu"]
    path = data_dir or os.environ.get(env)
    if not path:
        raise SystemExit(
            "This benchmark reads the real CIFAR-10 JPEG archive: pass --data-dir PATH or "
            f"set {env}."
        )
    return path
