"""`estimate_noise`: the share of wrong labels, estimated from what a run knows."""

from __future__ import annotations

import numpy as np


def confident_joint_noise(given, predicted, confidence, p_given, num_classes: int) -> float:
    """Confident learning's estimate of the share of wrong labels.

    Each class `j` gets a threshold `t_j`, the mean probability the network
    gives class `j` on the samples labelled `j`. A sample is counted as
    class `j` when its arg-max `j` reaches `t_j` (or, failing that, as its
    given class when that reaches its threshold); the counts by (given,
    counted) class, each row scaled to its label's count, give the share of
    labels counted as another class.

    Args:
        given: given labels `(N,)`.
        predicted: arg-max classes `(N,)`.
        confidence: the arg-max class's probability `(N,)`.
        p_given: the given label's probability `(N,)`.
        num_classes: number of classes.

    Returns:
        The estimated share in [0, 1] (NaN when no sample is counted).

    Reference:
        Northcutt, Jiang, Chuang. "Confident Learning: Estimating
        Uncertainty in Dataset Labels", JAIR 2021, Section 3.1.
    """
    given = np.asarray(given, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    confidence = np.asarray(confidence, dtype=np.float64)
    p_given = np.asarray(p_given, dtype=np.float64)
    counts = np.bincount(given, minlength=num_classes).astype(np.float64)
    sums = np.bincount(given, weights=p_given, minlength=num_classes)
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    counted = np.where(confidence >= thresholds[predicted], predicted, -1)
    counted = np.where((counted < 0) & (p_given >= thresholds[given]), given, counted)
    keep = counted >= 0
    if not keep.any():
        return float("nan")
    joint = np.zeros((num_classes, num_classes))
    np.add.at(joint, (given[keep], counted[keep]), 1.0)
    rows = joint.sum(axis=1, keepdims=True)
    calibrated = np.where(rows > 0, joint / np.maximum(rows, 1.0) * counts[:, None], 0.0)
    total = calibrated.sum()
    return float(1.0 - np.trace(calibrated) / total) if total > 0 else float("nan")


def estimate_noise(rows: list[dict], num_classes: int, history: dict | None = None) -> dict:
    """The estimated share of wrong labels of a run, with an interval.

    Three estimates from the final network's noise report: the mixture's
    mean p(noisy), confident learning's (`confident_joint_noise`), and the
    share of samples whose arg-max is not their given label; and, from the
    run's history, the share of training predictions that disagreed with
    the given labels at the epoch bootstrapping started. The estimate is
    their median; the interval spans them, since their spread, not sampling,
    is what the estimate is uncertain by.

    Args:
        rows: the noise report's rows (`keras_bmm.report.noise_report`).
        num_classes: number of classes.
        history: the run's per-epoch logs, for the estimate at the start.

    Returns:
        `{"estimate", "low", "high"}` and each estimate by name.
    """
    given = np.array([r["given_label"] for r in rows], dtype=np.int64)
    predicted = np.array([r["predicted_label"] for r in rows], dtype=np.int64)
    confidence = np.array([r["confidence"] for r in rows], dtype=np.float64)
    p_given = np.array([r["p_given"] for r in rows], dtype=np.float64)
    p_noisy = np.array([r["p_noisy"] for r in rows], dtype=np.float64)
    found = {
        "mixture": float(p_noisy.mean()) if rows else float("nan"),
        "confident_joint": confident_joint_noise(
            given, predicted, confidence, p_given, num_classes
        ),
        "disagreement": float(np.mean(predicted != given)) if rows else float("nan"),
        "at_start": _disagreement_at_start(history or {}),
    }
    values = np.array([v for v in found.values() if v == v])
    if values.size == 0:
        return {"estimate": float("nan"), "low": float("nan"), "high": float("nan"), **found}
    return {
        "estimate": float(np.median(values)),
        "low": float(values.min()),
        "high": float(values.max()),
        **found,
    }


def _disagreement_at_start(history: dict) -> float:
    """1 - the training predictions' agreement with the labels when bootstrapping started."""
    starts = [e for e in history.get("bootstrap_epoch", []) if e == e]
    agreement = history.get("label_agreement", [])
    if not starts or not agreement:
        return float("nan")
    epoch = int(starts[-1]) - 2  # the last warm-up epoch, 0-based (the log counts from 1)
    if not 0 <= epoch < len(agreement) or agreement[epoch] != agreement[epoch]:
        return float("nan")
    return float(1.0 - agreement[epoch])
