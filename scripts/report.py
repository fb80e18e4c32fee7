"""Write the per-sample noise report of a saved run, most suspicious samples first.

Example:
    python scripts/report.py --run-dir runs/digits-m-dyr-h-0.8
"""

import argparse
import os
import sys

from keras_bmm.report import noise_report, write_report
from keras_bmm.training import load_run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a run folder written by train.py")
    parser.add_argument("--output", help="CSV file (default <run-dir>/noise_report.csv)")
    parser.add_argument("--sort", choices=("p_noisy", "index"), default="p_noisy", help="row order")
    args = parser.parse_args(argv)
    try:
        _, data, noise, model = load_run(args.run_dir)
        rows = noise_report(
            model,
            data.train_images,
            noise.labels,
            clean_labels=noise.clean_labels,
            files=data.train_files,
            sort_by=None if args.sort == "index" else "p_noisy",
        )
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"report.py: error: {error}")
    path = write_report(rows, args.output or os.path.join(args.run_dir, "noise_report.csv"))
    noisy = sum(row["p_noisy"] > 0.5 for row in rows)
    print(f"{len(rows)} samples, {noisy} with p(noisy) > 0.5; report: {path}")


if __name__ == "__main__":
    main()
