"""Accuracy of every method on the embedded digits, over seeds; prints a table.

Example:
    python scripts/benchmark_digits.py --noise 0.8 --seeds 0 1 2
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import start_epoch  # noqa: E402
from keras_bmm import METHODS, TrainConfig, train  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.8)
    parser.add_argument("--noise-type", default="symmetric")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--warmup-epochs", default=None, help="N or auto (default: the dataset's, 25)"
    )
    parser.add_argument("--json", help="write the per-run figures to this file")
    args = parser.parse_args(argv)

    runs = []
    for method in args.methods:
        for seed in args.seeds:
            start = time.perf_counter()
            warmup = args.warmup_epochs
            warmup = None if warmup is None else ("auto" if warmup == "auto" else int(warmup))
            config = TrainConfig(
                warmup_epochs=warmup,
                noise=args.noise,
                noise_type=args.noise_type,
                method=method,
                seed=seed,
                run_dir=tempfile.mkdtemp(prefix="keras-bmm-run-"),
                verbose=0,
            )
            result = train(config, export=False)
            runs.append(
                dict(
                    method=method,
                    seed=seed,
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

    print(f"\ndigits, {args.noise_type} noise {args.noise:g}, seeds {args.seeds} (medians)")
    print(
        f"{'method':<8} {'best %':>7} {'last %':>7} {'start':>5} {'AUC@warmup':>10} "
        f"{'AUC last':>8} {'s/run':>6}"
    )
    for method in args.methods:
        rows = [r for r in runs if r["method"] == method]

        def med(key, rows=rows):
            return statistics.median(r[key] for r in rows)

        print(
            f"{method:<8} {100 * med('best'):7.1f} {100 * med('last'):7.1f} {med('start_epoch'):5} "
            f"{med('auc_warmup'):10.3f} {med('auc_last'):8.3f} {med('seconds'):6.0f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=2)


if __name__ == "__main__":
    main()
