"""`digits` benchmark: every method on the embedded digits, over seeds (medians)."""

from __future__ import annotations

import statistics
import tempfile
import time

COLUMNS = ["method", "runs", "best_%", "last_%", "start", "auc_warmup", "auc_last", "s_per_run"]


def digits_runs(
    noise, noise_type, methods, seeds, warmup_epochs=None, verbose: int = 0, overrides=None
):
    """One run per method and seed; returns a row per run (printed as it ends).

    `overrides`: other `TrainConfig` settings of every run (e.g.
    `{"target_refresh": 4}`).
    """
    import json

    from keras_bmm import TrainConfig, train
    from keras_bmm.benchmarks.common import start_epoch

    if warmup_epochs is not None and str(warmup_epochs).isdigit():
        warmup_epochs = int(warmup_epochs)
    overrides = dict(overrides or {})

    def config_of(method, seed, run_dir=None):
        settings = dict(warmup_epochs=warmup_epochs, noise=noise, noise_type=noise_type)
        settings.update(method=method, seed=seed, run_dir=run_dir, verbose=verbose)
        return TrainConfig(**{**settings, **overrides})

    for method in methods:  # a bad setting stops here, before any run
        config_of(method, seeds[0]).resolved()
    runs = []
    for method in methods:
        for seed in seeds:
            start = time.perf_counter()
            config = config_of(method, seed, tempfile.mkdtemp(prefix="keras-bmm-run-"))
            result = train(config, export=False)
            runs.append(
                dict(
                    method=method,
                    seed=seed,
                    settings=overrides,
                    wrong_labels=result.noise.achieved_rate,
                    best=result.best_test_accuracy,
                    last=result.last_test_accuracy,
                    auc_warmup=result.auc_after_warmup,
                    auc_last=result.auc_last,
                    start_epoch=start_epoch(result.history, method) or 0,
                    seconds=time.perf_counter() - start,
                )
            )
            print(json.dumps(runs[-1]), flush=True)
    return runs


def digits_table(runs: list[dict]) -> list[dict]:
    """Medians by method, in the order the methods ran."""
    rows = []
    for method in dict.fromkeys(r["method"] for r in runs):
        group = [r for r in runs if r["method"] == method]

        def med(key, group=group):
            return statistics.median(r[key] for r in group)

        rows.append(
            {
                "method": method,
                "runs": len(group),
                "best_%": 100 * med("best"),
                "last_%": 100 * med("last"),
                "start": med("start_epoch"),
                "auc_warmup": med("auc_warmup"),
                "auc_last": med("auc_last"),
                "s_per_run": med("seconds"),
            }
        )
    return rows
