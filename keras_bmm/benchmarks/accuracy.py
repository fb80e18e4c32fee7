"""`accuracy` benchmark: the `cpu` preset on the real CIFAR-10, one method per run."""

from __future__ import annotations

import dataclasses
import os

from keras_bmm.benchmarks.common import read_row, settings_suffix, start_epoch, train_or_read
from keras_bmm.bootstrapping.methods import METHODS

COLUMNS = [
    "noise",
    "method",
    "mode",
    "noise_seed",
    "settings",
    "best_%",
    "last_%",
    "start_epoch",
    "auc_warmup",
    "auc_last",
    "epochs",
    "train_min",
    "wall_min",
]

RESULT_FILE = "benchmark.json"


def run_name(
    method: str, noise: float, fast: bool, noise_seed: int = 1, overrides: dict | None = None
) -> str:
    """`cpu-<method>-<noise>-fast|-reference`; `cpu-ce-<noise>` for cross-entropy,
    which trains with one pass either way (`-reference` when its mixture is
    fitted on the reference's epoch pass instead of its own recorded losses);
    then `-noise<seed>` for another noise seed than 1 and `-<key>=<value>` for
    each other setting changed from the preset."""
    name = f"cpu-{method}-{noise:g}"
    if method == "ce":
        name = name if fast else name + "-reference"
    else:
        name += "-fast" if fast else "-reference"
    if noise_seed != 1:
        name += f"-noise{noise_seed}"
    return name + settings_suffix(overrides)


def accuracy_run(
    method: str,
    noise: float,
    fast: bool | None = None,
    run_root: str = os.path.join("runs", "benchmark"),
    data_dir: str | None = None,
    noise_seed: int = 1,
    verbose: int = 2,
    overrides: dict | None = None,
) -> dict:
    """Trains one method with the `cpu` preset and returns its row.

    Symmetric noise in the paper's definition (the new label is drawn over
    all classes, the true one included), noise seed 1. A finished run (its
    `benchmark.json` exists) is not trained again; an interrupted one is
    resumed from its last epoch.

    Args:
        method: one of `keras_bmm.METHODS`.
        noise: noise rate.
        fast: the fast train step (`True`), the reference code's passes
            (`False`), or the preset's choice (`None`).
        run_root: folder of the run folders.
        data_dir: the CIFAR-10 image folder or archive (default: the preset's).
        noise_seed: seed of the noise.
        verbose: Keras verbosity.
        overrides: other `TrainConfig` settings to change from the preset.

    Returns:
        A row: best and last test accuracy (%), BMM noise-detection AUC at
        the end of the warm-up and at the end, epochs, the epochs' summed
        time (`train_min`, resumed runs included) and this invocation's wall time.
    """
    from keras_bmm.training import TrainConfig

    config = TrainConfig(
        preset="cpu",
        method=method,
        noise=noise,
        noise_seed=noise_seed,
        fast=fast,
        data_dir=data_dir,
        verbose=verbose,
        **(overrides or {}),
    )
    fast = config.resolved().fast
    name = run_name(method, noise, fast, noise_seed, overrides)
    run_dir = os.path.join(run_root, name)
    config = dataclasses.replace(config, name=name, run_dir=run_dir)

    def row_of(result, wall_seconds, resume):
        seconds = result.history.get("epoch_seconds")
        return {
            "noise": noise,
            "method": method,
            "mode": ("one pass" if method == "ce" else "fast") if fast else "reference",
            "noise_seed": noise_seed,
            "settings": dict(overrides or {}),
            "wrong_labels_%": 100 * result.noise.achieved_rate,
            "best_%": 100 * result.best_test_accuracy,
            "last_%": 100 * result.last_test_accuracy,
            "auc_warmup": result.auc_after_warmup,
            "start_epoch": start_epoch(result.history, method),
            "auc_last": result.auc_last,
            "epochs": len(result.history.get("loss", [])),
            # Summed over every epoch, whichever invocation ran it; wall_min is
            # this invocation's time (start-up, data and report included).
            # (None for runs from before the history recorded epoch times.)
            "train_min": sum(seconds) / 60 if seconds else None,
            "wall_min": wall_seconds / 60,
            "resumed": resume,
            "run_dir": run_dir,
        }

    return train_or_read(config, run_dir, RESULT_FILE, row_of)


def collect(run_root: str = os.path.join("runs", "benchmark")) -> list[dict]:
    """The rows of every finished run under `run_root`, by noise and method."""
    rows = []
    if os.path.isdir(run_root):
        for name in sorted(os.listdir(run_root)):
            path = os.path.join(run_root, name, RESULT_FILE)
            if os.path.exists(path):
                rows.append(read_row(path))
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(
        rows,
        key=lambda r: (r["noise"], r.get("noise_seed", 1), order.get(r["method"], 99), r["mode"]),
    )
