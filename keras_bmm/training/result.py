"""`TrainResult`: what a run produced, and its summary."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.bootstrapping.methods import WARMUP_RULES, uses_mixture


def logged_start(history: dict) -> int | None:
    """The epoch bootstrapping started (0-based) as a run's history logged it, or `None`.

    The history counts epochs from 1, as Keras does.
    """
    chosen = [e for e in history.get("bootstrap_epoch", []) if e == e]
    return int(chosen[-1]) - 1 if chosen else None


@dataclasses.dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        config: the resolved configuration.
        noise: the `LabelNoise` trained on.
        history: per-epoch logs (lists by key), including resumed epochs.
        best_test_accuracy: best test accuracy over the evaluated epochs
            (NaN without a test split).
        last_test_accuracy: test accuracy after the last epoch.
        auc_after_warmup: ROC AUC of the BMM's p(noisy) against the true
            noise mask, from the fit at the end of the warm-up (NaN if undefined).
        auc_last: the same from the last epoch's fit.
        export_path: folder of the exported SavedModel (or None).
        run_dir: the run folder.
        model: the trained `BootstrappingModel`.
        report_path: the per-sample noise report (CSV, most suspicious first).
        plot_paths: the PNG files written with `plots=True`.
        best_noisy_val_accuracy: with `val_split`, the best accuracy on the
            held-out part against its noisy labels (NaN without).
        last_noisy_val_accuracy: the same after the last epoch.
        corrected_labels_path: the corrected labels as a manifest (datasets
            of files).
        bad_files_path: the files left out (`skip_bad_files`), if any.
        report_rows: the noise report's rows.
        noise_estimate: the estimated share of wrong labels and its
            interval (`keras_bmm.noise_estimate.estimate_noise`).
        suggestions: the `keras_bmm.suggestions.Verdict` on the label changes.
        start_reason: why bootstrapping started when it did (automatic
            warm-up).
    """

    config: object
    noise: object
    history: dict
    best_test_accuracy: float
    last_test_accuracy: float
    auc_after_warmup: float
    auc_last: float
    export_path: str | None = None
    run_dir: str | None = None
    model: object = None
    report_path: str | None = None
    plot_paths: list | None = None
    best_noisy_val_accuracy: float = float("nan")
    last_noisy_val_accuracy: float = float("nan")
    corrected_labels_path: str | None = None
    bad_files_path: str | None = None
    report_rows: list | None = None
    noise_estimate: dict | None = None
    suggestions: object = None
    start_reason: str | None = None

    @classmethod
    def from_history(cls, config, noise, history: dict) -> TrainResult:
        """The figures of a finished run, read from its history."""
        accuracy = history.get("val_accuracy", [float("nan")])
        held_out = history.get("noisy_val_accuracy", [float("nan")])
        aucs = history.get("bmm_auc", [])
        warmup = config.warmup_epochs
        if warmup in WARMUP_RULES:  # the epoch it chose, as logged (NaN until chosen)
            warmup = logged_start(history) or 0
        return cls(
            config=config,
            noise=noise,
            history=history,
            best_test_accuracy=_best(accuracy),
            last_test_accuracy=float(accuracy[-1]),
            auc_after_warmup=float(aucs[warmup - 1]) if 0 < warmup <= len(aucs) else float("nan"),
            auc_last=float(aucs[-1]) if aucs else float("nan"),
            run_dir=config.run_dir,
            best_noisy_val_accuracy=_best(held_out),
            last_noisy_val_accuracy=float(held_out[-1]),
        )

    def metrics(self) -> dict:
        """The final figures as a JSON-ready dict."""
        return {
            "best_test_accuracy": self.best_test_accuracy,
            "last_test_accuracy": self.last_test_accuracy,
            "auc_after_warmup": self.auc_after_warmup,
            "auc_last": self.auc_last,
            "best_noisy_val_accuracy": self.best_noisy_val_accuracy,
            "last_noisy_val_accuracy": self.last_noisy_val_accuracy,
            "epochs_run": len(self.history.get("loss", [])),
            "noise": self.noise.summary(),
            "export_path": self.export_path,
        }

    def summary(self) -> str:
        """A few lines for the terminal: what the run knows, and nothing it does not.

        Truth-dependent lines (the label noise drawn, the detection AUC) only
        when the true labels are known; test accuracy only with a test
        split; always the estimated share of wrong labels, when and why
        bootstrapping started, the label suggestions and where the report is.
        """
        c = self.config
        known = getattr(self.noise, "truth_known", True)
        lines = [f"dataset={c.dataset} method={c.method} epochs={c.epochs}"]
        if known:
            lines.append(f"label noise: {self.noise.summary()}")
        if self.best_test_accuracy == self.best_test_accuracy:  # NaN: no test split
            lines.append(
                f"test accuracy: best {100 * self.best_test_accuracy:.2f}%  "
                f"last {100 * self.last_test_accuracy:.2f}%"
            )
        lines += self._held_out_lines()
        lines += self._estimate_lines(known)
        lines += self._bootstrapping_lines()
        wrong = np.asarray(self.noise.noise_mask, dtype=bool)
        if known and wrong.any() and not wrong.all():
            auc = f"last epoch {self.auc_last:.4f}"
            if uses_mixture(c.method) and self.auc_after_warmup == self.auc_after_warmup:
                auc = f"at the start {self.auc_after_warmup:.4f}  " + auc
            lines.append(f"noise detection ROC AUC (against the true labels): {auc}")
        if self.suggestions is not None:
            lines.append(f"label suggestions: {self.suggestions.reason}")
        for name, path in (
            ("noise report (most suspicious first)", self.report_path),
            ("corrected labels (apply with --labels)", self.corrected_labels_path),
            ("files left out", self.bad_files_path),
            ("run folder", self.run_dir),
            ("exported SavedModel", self.export_path),
        ):
            if path:
                lines.append(f"{name}: {path}")
        return "\n".join(lines)

    def _estimate_lines(self, known: bool) -> list:
        estimate = self.noise_estimate or {}
        value = estimate.get("estimate", float("nan"))
        if value != value:
            return []
        line = (
            f"estimated share of wrong labels: {100 * value:.1f}% (the estimates range from "
            f"{100 * estimate['low']:.1f}% to {100 * estimate['high']:.1f}%)"
        )
        if known:
            line += f"; truly {100 * self.noise.achieved_rate:.1f}%"
        if self.config.method == "ce":
            line += " (cross-entropy fits wrong labels too: this is a floor)"
        return [line]

    def _bootstrapping_lines(self) -> list:
        c = self.config
        if not uses_mixture(c.method):
            return []
        start = logged_start(self.history)
        if c.warmup_epochs not in WARMUP_RULES:
            when = f"from epoch {c.warmup_epochs + 1} (fixed warm-up of {c.warmup_epochs} epochs)"
        elif start is None:
            when = "never started: the network was not ready (the run kept the warm-up, mixup)"
        else:
            why = f": {self.start_reason}" if self.start_reason else ""
            when = f"from epoch {start + 1} ({c.warmup_epochs}){why}"
        extra = f"; dynamic mixup {c.dynamic_epochs} epochs" if c.method == "md-dyr-sh" else ""
        return [f"bootstrapping: {when}{extra}"]

    def _held_out_lines(self) -> list:
        if self.best_noisy_val_accuracy != self.best_noisy_val_accuracy:  # NaN: no val_split
            return []
        return [
            f"held-out accuracy against the noisy labels: best "
            f"{100 * self.best_noisy_val_accuracy:.2f}%  last "
            f"{100 * self.last_noisy_val_accuracy:.2f}%"
        ]


def _best(values) -> float:
    """The largest finite value, or NaN."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else float("nan")
