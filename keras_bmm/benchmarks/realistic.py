"""`realistic` benchmark: the automatic decisions on noise like users' noise.

A grid of datasets x noise kinds x methods, each cell on a set of seeds:
cross-entropy, mixup, and M-DYR-H started three ways (the dataset's fixed
warm-up, `warmup_epochs="auto"`, and Label Wave's published rule). Each row
reports best and last test accuracy, the start, the mixture's AUC there, the
estimated and true share of wrong labels, and how many wrong labels the
suggested corrections leave against the given labels. A 0%-noise
cross-entropy run per dataset and seed is the ceiling. Rows are written next
to each run (`cell.json`); a finished cell is read back, an interrupted one
resumed.

The seeds are split: `DESIGN_SEEDS` were used to choose the rules'
thresholds, `REPORT_SEEDS` only to report them.
"""

from __future__ import annotations

import dataclasses
import os
import statistics

#: Noise kinds and rates of each dataset's grid (`noise_type`, rate).
GRID = {
    "digits": (
        ("symmetric", 0.5),
        ("symmetric", 0.8),
        ("asymmetric", 0.2),
        ("asymmetric", 0.4),
        ("instance", 0.2),
        ("instance", 0.4),
        ("confusion", 0.3),
        ("open-set", 0.2),
    ),
    "transfer": (
        ("symmetric", 0.5),
        ("asymmetric", 0.4),
        ("instance", 0.4),
        ("confusion", 0.3),
        ("open-set", 0.2),
    ),
    "cpu": (("asymmetric", 0.4), ("instance", 0.4)),
}

#: Seeds the start rule, the suggestions and the noise estimate were designed on.
DESIGN_SEEDS = {"digits": (5, 6), "transfer": (5,), "cpu": (2,)}

#: Seeds the results are reported on (never used to choose a threshold).
REPORT_SEEDS = {"digits": (0, 1, 2), "transfer": (0, 1, 2), "cpu": (1,)}

from keras_bmm.benchmarks.realistic_configs import METHODS  # noqa: E402 (the compared methods)

COLUMNS = [
    "dataset",
    "noise",
    "method",
    "seeds",
    "last_%",
    "best_%",
    "gap_closed_%",
    "start",
    "auc_start",
    "est_wrong_%",
    "true_wrong_%",
    "wrong_given",
    "wrong_corrected",
]

RESULT_FILE = "cell.json"


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    dataset: str
    noise_type: str
    rate: float
    method: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.noise_type}-{self.rate:g}-{self.method}-s{self.seed}"

    @property
    def noise(self) -> str:
        return f"{self.noise_type} {self.rate:g}" if self.rate else "none"


def cells(datasets, methods, seeds=None, noises=None, ceiling: bool = True) -> list[Cell]:
    """The grid's cells, ceilings (cross-entropy without noise) first."""
    found = []
    for dataset in datasets:
        grid = GRID[dataset] if noises is None else noises
        chosen = REPORT_SEEDS[dataset] if seeds is None else seeds
        for seed in chosen:
            if ceiling:
                found.append(Cell(dataset, "symmetric", 0.0, "ce", seed))
            for noise_type, rate in grid:
                found += [Cell(dataset, noise_type, rate, m, seed) for m in methods]
    return found


def run_cell(cell: Cell, run_root: str, archive: str | None = None, verbose: int = 0) -> dict:
    """Trains (or resumes, or reads back) one cell; returns its row."""
    from keras_bmm.benchmarks.common import train_or_read
    from keras_bmm.benchmarks.realistic_configs import cell_config

    run_dir = os.path.join(run_root, cell.dataset, cell.name)
    config = cell_config(cell, run_dir, run_root, archive, verbose)
    return train_or_read(
        config, run_dir, RESULT_FILE, lambda result, seconds, _: cell_row(cell, result, seconds)
    )


def cell_row(cell: Cell, result, seconds: float) -> dict:
    """A finished run's figures."""
    import numpy as np

    from keras_bmm.benchmarks.common import start_epoch

    rows = result.report_rows or []
    given = np.array([r["given_label"] for r in rows], dtype=np.int64)
    # A 0%-noise folder run does not claim to know its labels' truth; the
    # benchmark does: they are CIFAR-10's own.
    clean = np.array(
        [given[i] if r["clean_label"] == "" else r["clean_label"] for i, r in enumerate(rows)],
        dtype=np.int64,
    )
    corrected = np.array([r["corrected_label"] for r in rows], dtype=np.int64)
    estimate = result.noise_estimate or {}
    candidates = ("mixture", "confident_joint", "disagreement", "at_start")
    return {
        **dataclasses.asdict(cell),
        "best_%": 100 * result.best_test_accuracy,
        "last_%": 100 * result.last_test_accuracy,
        "start": start_epoch(result.history, result.config.method),
        "auc_start": result.auc_after_warmup,
        "est_wrong": estimate.get("estimate"),
        "est_low": estimate.get("low"),
        "est_high": estimate.get("high"),
        **{f"est_{name}": estimate.get(name) for name in candidates},
        "true_wrong": float(np.mean(given != clean)) if rows else None,
        "wrong_given": int(np.sum(given != clean)),
        "wrong_corrected": int(np.sum(corrected != clean)),
        "suggested": int(np.sum(corrected != given)),
        "epochs": len(result.history.get("loss", [])),
        "minutes": seconds / 60,
        "run_dir": result.run_dir,
    }


def collect(run_root: str, datasets=None) -> list[dict]:
    """Every finished cell under `run_root`."""
    from keras_bmm.benchmarks.common import read_row

    rows = []
    for dataset in datasets or GRID:
        folder = os.path.join(run_root, dataset)
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name, RESULT_FILE)
                if os.path.exists(path):
                    rows.append(read_row(path))
    return rows


def summarize(rows: list[dict], seeds=None) -> list[dict]:
    """One line per dataset, noise and method: medians over the seeds, as in the docs."""
    ceilings = {
        (r["dataset"], r["seed"]): r["last_%"]
        for r in rows
        if r["rate"] == 0 and r["method"] == "ce"
    }
    ce = {
        (r["dataset"], r["noise_type"], r["rate"], r["seed"]): r["last_%"]
        for r in rows
        if r["method"] == "ce"
    }
    groups = {}
    for r in rows:
        if r["rate"] == 0 or (seeds is not None and r["seed"] not in seeds):
            continue
        groups.setdefault((r["dataset"], r["noise_type"], r["rate"], r["method"]), []).append(r)
    order = {m: i for i, m in enumerate(METHODS)}
    lines = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], order.get(k[3], 9))):
        group = sorted(groups[key], key=lambda r: r["seed"])
        dataset, noise_type, rate, method = key
        closed = []
        for r in group:
            top, base = ceilings.get((dataset, r["seed"])), ce.get((*key[:3], r["seed"]))
            if top is not None and base is not None and top > base:
                closed.append(100 * (r["last_%"] - base) / (top - base))
        lines.append(
            {
                "dataset": dataset,
                "noise": f"{noise_type} {rate:g}",
                "method": method,
                "seeds": ",".join(str(r["seed"]) for r in group),
                "last_%": _median(r["last_%"] for r in group),
                "best_%": _median(r["best_%"] for r in group),
                "gap_closed_%": _median(closed),
                "start": "/".join("-" if r["start"] is None else str(r["start"]) for r in group),
                "auc_start": _median(r["auc_start"] for r in group),
                "est_wrong_%": _median(
                    100 * r["est_wrong"] for r in group if r["est_wrong"] is not None
                ),
                "true_wrong_%": _median(100 * r["true_wrong"] for r in group),
                "wrong_given": _median(r["wrong_given"] for r in group),
                "wrong_corrected": _median(r["wrong_corrected"] for r in group),
            }
        )
    return lines


def _median(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else None
