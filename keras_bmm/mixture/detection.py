"""How well p(noisy) finds the truly mislabelled samples (synthetic noise only)."""

from __future__ import annotations

import numpy as np


def detection_auc(noise_mask, scores) -> float:
    """ROC AUC of `scores` as a detector of `noise_mask`; NaN if one class is absent."""
    from sklearn.metrics import roc_auc_score

    noise_mask = np.asarray(noise_mask, dtype=bool)
    if noise_mask.all() or not noise_mask.any():
        return float("nan")
    return float(roc_auc_score(noise_mask, scores))


def detection_metrics(noise_mask, posterior, threshold: float = 0.5) -> dict:
    """How well p(noisy) finds the truly noisy samples.

    Args:
        noise_mask: bool array, `True` for truly mislabelled samples.
        posterior: p(noisy) per sample.
        threshold: a sample is flagged noisy when p(noisy) > threshold.

    Returns:
        A dict with `bmm_auc` (ROC AUC; NaN if all or no samples are noisy),
        `bmm_precision` and `bmm_recall` of the flagged samples (NaN when
        undefined: nothing flagged, or nothing noisy) and
        `true_noise_fraction`.
    """
    noise_mask = np.asarray(noise_mask, dtype=bool)
    flagged = np.asarray(posterior) > threshold
    hits = float(np.sum(flagged & noise_mask))
    return {
        "bmm_auc": detection_auc(noise_mask, posterior),
        "bmm_precision": hits / flagged.sum() if flagged.any() else float("nan"),
        "bmm_recall": hits / noise_mask.sum() if noise_mask.any() else float("nan"),
        "true_noise_fraction": float(noise_mask.mean()) if noise_mask.size else float("nan"),
    }
