"""Write the per-sample noise report of a saved run, most suspicious samples first.

Example:
    python scripts/report.py --run-dir runs/digits-m-dyr-h-0.8
"""

import os
import sys

from keras_bmm.training.cli import ArgumentParser, quiet_tensorflow
from keras_bmm.training.run_folder import RunFolder


def main(argv=None, prog: str = "report.py"):
    """Writes a finished (or stopped) run's noise report again."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a run folder written by train.py")
    parser.add_argument("--output", help="CSV file (default <run-dir>/noise_report.csv)")
    parser.add_argument("--sort", choices=("p_noisy", "index"), default="p_noisy", help="row order")
    args = parser.parse_args(argv)
    try:
        RunFolder(args.run_dir).require_checkpoint()  # before TensorFlow is imported
    except FileNotFoundError as error:
        sys.exit(f"{prog}: error: {error}")
    quiet_tensorflow()
    from keras_bmm.callbacks.history_logger import read_history
    from keras_bmm.training.saved_run import load_run, write_run_report  # imports TensorFlow

    path = args.output or os.path.join(args.run_dir, "noise_report.csv")
    try:
        _, data, noise, model = load_run(args.run_dir)
        kappas = read_history(RunFolder(args.run_dir).history_path).get("noisy_val_kappa", [])
        kappas = [k for k in kappas if k == k]
        rows, verdict = write_run_report(
            model,
            data,
            noise,
            path,
            data.class_names,
            kappas[-1] if kappas else None,
            sort_by=None if args.sort == "index" else "p_noisy",
        )
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"{prog}: error: {error}")
    noisy = sum(row["p_noisy"] > 0.5 for row in rows)
    print(f"{len(rows)} samples, {noisy} with p(noisy) > 0.5; {verdict.reason}; report: {path}")
