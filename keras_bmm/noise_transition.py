"""`flip_matrix` and the posteriors it gives: how labels flip, fitted by EM to a network."""

from __future__ import annotations

import numpy as np


def flip_matrix(
    probabilities, given, max_iters: int = 500, tol: float = 1e-8, start_rate: float = 0.1
) -> np.ndarray:
    """The label-flip matrix most likely given a network's class probabilities.

    Each sample's true class `k` is hidden, with the network's probability
    `p(k | x)` as its prior, and its given label `j` was drawn with
    probability `T[k, j]`. EM finds the `T` that maximises the likelihood of
    the given labels, `sum_n log sum_k p(k | x_n) T[k, y_n]`: the E-step
    gives each sample's posterior over its true class
    (`true_class_posterior`), the M-step counts, for each true class, the
    labels its samples were given.

    When the network's probabilities are calibrated, its disagreements with
    the labels that its own uncertainty explains leave `T` near the
    identity; only disagreements beyond them appear as flips. So does a
    network that has learned how likely each given label is, wrong ones
    included (one that fits the labels): it finds no flips at all. A
    network that trained on its own predictions as targets (bootstrapping)
    is no independent witness either way.

    Args:
        probabilities: `(N, C)` class probabilities, rows summing to 1.
        given: `(N,)` given labels.
        max_iters: EM iterations at most.
        tol: stop when the mean log-likelihood improves by less.
        start_rate: the start's share of flipped labels, spread evenly.

    Returns:
        `T`, `(C, C)`, rows summing to 1 (a class no sample is likely to be
        keeps its starting row; no samples: the start).

    Raises:
        ValueError: for shapes that do not match, labels outside the
            classes, a probability that is not finite (naming its row), or
            `start_rate` outside `(0, (C - 1) / C)`.

    Reference:
        Goldberger, Ben-Reuven. "Training deep neural-networks using a noise
        adaptation layer", ICLR 2017 (the EM fit of the noise channel), after
        Dawid, Skene. "Maximum likelihood estimation of observer error-rates
        using the EM algorithm", Applied Statistics 1979.

    Example:

    ```python
    flips = flip_matrix(probabilities, given_labels)
    posterior = true_class_posterior(probabilities, given_labels, flips)
    ```
    """
    p = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    if p.ndim != 2 or p.shape[0] != given.size:
        raise ValueError(
            f"probabilities must be (N, C) with N = {given.size} labels, got {p.shape}."
        )
    classes = p.shape[1]
    if given.size and (given.min() < 0 or given.max() >= classes):
        raise ValueError(f"given labels must lie in [0, {classes - 1}].")
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        raise ValueError(f"probabilities of row {int(np.flatnonzero(bad)[0])} are not finite.")
    if classes > 1 and not 0.0 < start_rate < (classes - 1) / classes:
        raise ValueError(
            f"start_rate must lie in (0, {(classes - 1) / classes:g}), got {start_rate}."
        )
    flips = np.full((classes, classes), start_rate / max(classes - 1, 1))
    np.fill_diagonal(flips, 1.0 - start_rate if classes > 1 else 1.0)
    if not given.size:
        return flips
    one_hot = np.eye(classes)[given]
    previous = -np.inf
    for _ in range(max_iters):
        joint = p * flips[:, given].T
        evidence = np.maximum(joint.sum(axis=1, keepdims=True), 1e-300)
        likelihood = float(np.mean(np.log(evidence)))
        counts = (joint / evidence).T @ one_hot
        totals = counts.sum(axis=1, keepdims=True)
        flips = np.where(totals > 0, counts / np.maximum(totals, 1e-300), flips)
        if likelihood - previous < tol:
            break
        previous = likelihood
    return flips


def true_class_posterior(probabilities, given, flips) -> np.ndarray:
    """Each sample's posterior over its true class: `p(k | x) T[k, y]`, normalised.

    Args:
        probabilities: `(N, C)` class probabilities.
        given: `(N,)` given labels.
        flips: `(C, C)` label-flip matrix (`flip_matrix`).

    Returns:
        `(N, C)` posteriors, rows summing to 1 (uniform where every class
        has zero posterior weight).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    joint = p * np.asarray(flips, dtype=np.float64)[:, np.asarray(given, dtype=np.int64)].T
    total = joint.sum(axis=1, keepdims=True)
    uniform = np.full_like(joint, 1.0 / joint.shape[1])
    return np.where(total > 0, joint / np.where(total > 0, total, 1.0), uniform)


def flipped_share(probabilities, given, flips) -> float:
    """The expected share of labels that are not their sample's true class, under `flips`.

    Args:
        probabilities: `(N, C)` class probabilities.
        given: `(N,)` given labels.
        flips: `(C, C)` label-flip matrix (`flip_matrix`).

    Returns:
        `1 - mean_n P(true class = y_n | x_n, y_n)`: at the EM fit, the
        flips' rate weighted by how many samples each true class has.
    """
    given = np.asarray(given, dtype=np.int64)
    if not given.size:
        return 0.0
    posterior = true_class_posterior(probabilities, given, flips)
    return float(1.0 - np.mean(posterior[np.arange(given.size), given]))
