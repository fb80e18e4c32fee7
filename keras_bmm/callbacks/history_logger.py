"""`HistoryLogger`: every epoch's logs in a CSV file that survives stops and resumes."""

from __future__ import annotations

import csv
import os

import keras
import numpy as np

from keras_bmm.atomic import atomic_write


def read_history(path: str) -> dict:
    """The per-epoch logs of a history CSV, as lists by key (without `epoch`).

    Missing values (`"NA"`, e.g. validation keys on epochs without
    validation) read as NaN.
    """
    return {key: values for key, values in _read_rows(path)[1].items() if key != "epoch"}


def _read_rows(path: str):
    """`(header, columns)`: the file's column names and values by column."""
    if not os.path.exists(path):
        return [], {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = [row for row in reader if len(row) == len(header)]
    columns = {key: [] for key in header}
    for row in rows:
        for key, value in zip(header, row):
            columns[key].append(float(value) if value not in ("", "NA") else float("nan"))
    return header, columns


class HistoryLogger(keras.callbacks.Callback):
    """Writes each epoch's logs as one row of a CSV file, atomically.

    The file is rewritten whole at each epoch's end (write to a temporary
    file, then rename), so it is never half-written. Its columns are fixed by
    the first epoch ever written: keys of later epochs that it lacks are
    dropped and missing ones are written as `"NA"`; validation keys are added
    up front when the first epoch had no validation (`validation_freq > 1`).
    When training starts at epoch `k` (a resumed run), rows of epochs `>= k`
    left by an interrupted run are dropped first, and an epoch whose row was
    lost gets a row of `"NA"`, so every epoch has exactly one row, at its
    position, whichever callback ran last before a stop. Place it before
    `BackupAndRestore`, so that a checkpointed epoch always has its row.

    Args:
        filename: the CSV file.

    Example:

    ```python
    model.fit(ds, epochs=10, callbacks=[HistoryLogger("runs/a/history.csv")])
    history = read_history("runs/a/history.csv")
    ```
    """

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename
        self._header = []
        self._columns = {}

    def on_train_begin(self, logs=None):
        self._header, self._columns = _read_rows(self.filename)
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started and self._header:
            keep = [i for i, e in enumerate(self._columns["epoch"]) if e <= epoch]
            self._columns = {k: [v[i] for i in keep] for k, v in self._columns.items()}
        self._started = True

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if not self._header:
            keys = sorted(logs)
            if not any(k.startswith("val_") for k in keys):
                keys += [f"val_{k}" for k in keys]
            self._header = ["epoch", *keys]
            self._columns = {key: [] for key in self._header}
        recorded = self._columns["epoch"]
        for missing in range(int(max(recorded, default=0)) + 1, epoch + 1):
            # Checkpointed before its row was written (a callback order with
            # `BackupAndRestore` first, then a kill): the epoch keeps its place.
            for key in self._header:
                self._columns[key].append(float(missing) if key == "epoch" else float("nan"))
        logs["epoch"] = epoch + 1  # counted from 1, as Keras prints epochs
        for key in self._header:
            value = logs.get(key, float("nan"))
            self._columns[key].append(float(np.asarray(value).reshape(-1)[0]))
        with atomic_write(self.filename, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(self._header)
            rows = zip(*(self._columns[key] for key in self._header))
            writer.writerows([_cell(key, v) for key, v in zip(self._header, row)] for row in rows)


def _cell(key: str, value: float):
    if value != value:  # NaN
        return "NA"
    return int(value) if key == "epoch" else repr(value)
