"""What the automatic warm-up reads after each epoch: numbers a user has, from the training."""

from __future__ import annotations

import numpy as np

#: The per-epoch signals `NoiseModelState` keeps for the start rules, by column.
SIGNALS = (
    "prediction_changes",
    "label_kappa",
    "held_out_kappa",
    "noise_fraction",
    "settling",
    "clean_agreement",
)


def average_ranks(values) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of the ranks they span (as `scipy.stats.rankdata`)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    ranks = np.empty(values.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def rank_stability(losses, previous_losses) -> float:
    """Spearman's correlation of the per-sample losses of two consecutive epochs.

    Early in training the order of the samples by loss changes from epoch to
    epoch; once the network has learned what it can from the clean samples,
    the order settles. Tied losses share their average rank, so many equal
    losses do not inflate the correlation.

    Args:
        losses: per-sample losses of one epoch.
        previous_losses: the same samples' losses one epoch earlier.

    Returns:
        The correlation of their ranks, in [-1, 1] (NaN for fewer than 3
        samples or a constant epoch).
    """
    a = np.asarray(losses, dtype=np.float64).ravel()
    b = np.asarray(previous_losses, dtype=np.float64).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = average_ranks(a[keep]), average_ranks(b[keep])
    if a.size < 3:
        return float("nan")
    a -= a.mean()
    b -= b.mean()
    denominator = np.sqrt(np.sum(a**2) * np.sum(b**2))
    return float(np.sum(a * b) / denominator) if denominator > 0 else float("nan")


def prediction_changes(predicted, previous) -> float:
    """Share of the samples whose arg-max prediction changed since the last epoch.

    Label Wave's signal (Yuan et al., ICLR 2024), as a share rather than a
    count. Samples unknown in either epoch (`-1`) are left out.

    Args:
        predicted: per sample, this epoch's arg-max class, or -1.
        previous: the same one epoch earlier.

    Returns:
        The share in [0, 1], or NaN when no sample is known in both.
    """
    predicted = np.asarray(predicted)
    previous = np.asarray(previous)
    both = (predicted >= 0) & (previous >= 0)
    return float(np.mean(predicted[both] != previous[both])) if both.any() else float("nan")


def kappa(predicted, labels, num_classes: int | None = None) -> float:
    """Cohen's kappa of predictions against the given labels: agreement beyond chance.

    `(p_o - p_e) / (1 - p_e)`, `p_o` the share of predictions equal to their
    label and `p_e` the share a predictor with the same class frequencies
    would match by chance. It is 0 for a network that predicts one class, or
    at random, and `1 - r` for one that predicts the true class of every
    sample under symmetric noise at rate `r` (over all classes): above 0
    means the network has learned something of the labels.

    Args:
        predicted: arg-max classes (-1: unknown, left out).
        labels: the given labels.
        num_classes: number of classes (default: from the values).

    Returns:
        Kappa in [-1, 1], or NaN with no known prediction.
    """
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    known = predicted >= 0
    predicted, labels = predicted[known], labels[known]
    if predicted.size == 0:
        return float("nan")
    size = int(num_classes or max(predicted.max(), labels.max()) + 1)
    observed = float(np.mean(predicted == labels))
    chance = float(
        np.dot(np.bincount(predicted, minlength=size), np.bincount(labels, minlength=size))
    ) / (predicted.size**2)
    return (observed - chance) / (1.0 - chance) if chance < 1.0 else 0.0


def clean_agreement(hits, posterior) -> float:
    """Share of the samples the mixture calls clean whose arg-max is their given label.

    A diagnostic: a loss below ln 2 is always an arg-max hit, so it partly
    reflects where the mixture's boundary falls.

    Args:
        hits: per sample, 1 where the arg-max prediction was the given label
            (NaN where unknown).
        posterior: per sample, p(noisy | loss).

    Returns:
        The mean of `hits` over samples with `posterior < 0.5` (NaN when
        there are none, or the hits are unknown).
    """
    hits = np.asarray(hits, dtype=np.float64)
    clean = np.asarray(posterior) < 0.5
    if not clean.any() or not np.all(np.isfinite(hits[clean])):
        return float("nan")
    return float(np.mean(hits[clean]))


def moving_average(values, window: int) -> np.ndarray:
    """Trailing means over `window` values (NaN until `window` finite values are in)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.size, np.nan)
    for i in range(window - 1, values.size):
        block = values[i - window + 1 : i + 1]
        if np.all(np.isfinite(block)):
            out[i] = block.mean()
    return out
