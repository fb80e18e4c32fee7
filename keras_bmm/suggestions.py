"""`suggest_labels`: which labels of a noise report to change, and only where evidence is strong."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_bmm.bootstrapping.warmup_signals import kappa
from keras_bmm.noise_transition import flip_matrix, flipped_share, true_class_posterior

#: The least p(noisy) for a suggestion: the mixture finds the given label likely wrong.
MIN_P_NOISY = 0.5

#: The least probability of the suggested class (besides its class's own threshold).
MIN_CONFIDENCE = 0.4

#: The least kappa of the network against the noisy labels (held out when there are
#: some), per share of labels estimated right, for a run to suggest anything: the
#: bar at which the automatic warm-up trusts the network's predictions as targets
#: (`AutoWarmup`'s `min_kappa`); below it, they are too close to chance to correct
#: labels.
MIN_KAPPA = 0.35


@dataclasses.dataclass
class Verdict:
    """Whether a run's suggestions can be trusted, and why.

    Attributes:
        supported: whether suggestions are made at all.
        kappa: the network's kappa against the noisy labels it was judged on,
            divided by the share of labels estimated right.
        judged_on: `"held-out samples"` or `"training samples"`.
        reason: one sentence for the summary.
        count: how many labels are suggested.
    """

    supported: bool
    kappa: float
    judged_on: str
    reason: str
    count: int = 0


def suggest_labels(
    rows: list[dict],
    num_classes: int,
    held_out_kappa: float | None = None,
    noise_estimate: float | None = None,
    min_p_noisy: float = MIN_P_NOISY,
    min_confidence: float = MIN_CONFIDENCE,
    min_kappa: float = MIN_KAPPA,
    probabilities=None,
) -> Verdict:
    """Fills each report row's `corrected_label` and `suggestion_confidence`; returns the verdict.

    A label is changed to the network's arg-max class `k` only when all hold:

    - the mixture finds the given label likely wrong: `p_noisy >= min_p_noisy`;
    - the change is more likely to fix the label than to break it: the
      chance that the label is wrong and `k` is right, `p_noisy * p(k)`,
      exceeds the chance that the label is right, `1 - p_noisy` (a weak
      network's uncertain predictions then change fewer labels);
    - the network is confident in `k`: its probability is at least
      `min_confidence` and at least the network's mean probability of `k` on
      the samples labelled `k` (confident learning's per-class threshold,
      which adapts to how sharp the method's predictions are);
    - the run can support suggestions at all: the network's kappa against
      the noisy labels (on held-out samples when there are some, else on the
      training samples), divided by the share of labels estimated right
      (`1 - noise_estimate`: no network agrees with wrong labels), is at
      least `min_kappa`. A network near chance would relabel at random; then
      nothing is suggested and the verdict says why;
    - with `probabilities` (the class probabilities of a network that never
      trained on its own predictions: cross-entropy, mixup, or a run whose
      bootstrapping never started), the label-flip matrix fitted to them
      (`keras_bmm.noise_transition.flip_matrix`) makes `k` a likelier true
      class than the given label: a calibrated network's disagreements that
      its own uncertainty explains (a weak network's hard images) change no
      label.

    A suggestion's confidence is `p_noisy * p(k)`: the chance the given label
    is wrong times the network's probability of the new one. Rows without a
    suggestion keep their given label as `corrected_label`.

    Args:
        rows: noise report rows (`keras_bmm.report.noise_report`), changed in
            place.
        num_classes: number of classes.
        held_out_kappa: the network's kappa on held-out samples, if any.
        noise_estimate: the estimated share of wrong labels (default 0).
        min_p_noisy: the least p(noisy).
        min_confidence: the least probability of the suggested class.
        min_kappa: the least kappa for any suggestion.
        probabilities: `(N, C)` class probabilities of the rows, in their
            order, from a network that never bootstrapped (see above).

    Returns:
        A `Verdict`.

    Example:

    ```python
    verdict = suggest_labels(rows, num_classes=10)
    print(verdict.reason)
    ```
    """
    given = np.array([r["given_label"] for r in rows], dtype=np.int64)
    predicted = np.array([r["predicted_label"] for r in rows], dtype=np.int64)
    confidence = np.array([r["confidence"] for r in rows], dtype=np.float64)
    p_given = np.array([r["p_given"] for r in rows], dtype=np.float64)
    p_noisy = np.array([r["p_noisy"] for r in rows], dtype=np.float64)
    judged_on, raw = "held-out samples", held_out_kappa
    if raw is None or raw != raw:
        judged_on, raw = "training samples", kappa(predicted, given, num_classes)
    right = 1.0 - (noise_estimate if noise_estimate == noise_estimate and noise_estimate else 0.0)
    value = raw / max(right, 0.05)
    counts = np.bincount(given, minlength=num_classes)
    sums = np.bincount(given, weights=p_given, minlength=num_classes)
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    chosen = (
        (predicted != given)
        & (p_noisy >= min_p_noisy)
        & (p_noisy * confidence > 1.0 - p_noisy)
        & (confidence >= np.maximum(min_confidence, thresholds[predicted]))
    )
    flipped = None
    if probabilities is not None:
        flips = flip_matrix(probabilities, given)
        flipped = flipped_share(probabilities, given, flips)
        posterior = true_class_posterior(probabilities, given, flips)
        rows_at = np.arange(given.size)
        chosen &= posterior[rows_at, predicted] > posterior[rows_at, given]
    supported = bool(value == value and value >= min_kappa)
    if not supported:
        chosen[:] = False
        reason = (
            f"no label changes are suggested: the network agrees with the labels of the "
            f"{judged_on} too little beyond chance for its predictions to correct them (kappa "
            f"{raw:.2f}, {value:.2f} per label estimated right, below the {min_kappa:g} needed)"
        )
    else:
        reason = (
            f"{int(chosen.sum())} label changes are suggested where the mixture finds the "
            f"label likely wrong (p_noisy >= {min_p_noisy:g}), the network is confident in "
            "another class, and the change is more likely to fix the label than to break it "
            f"(p_noisy x p(new class) > 1 - p_noisy; kappa {raw:.2f} on the {judged_on}, "
            f"{value:.2f} per label estimated right)"
        )
        if flipped is not None:
            reason += (
                "; as this network trained on the given labels alone, a change also needs "
                "the new class to be likelier than the given one once the disagreements its "
                "own uncertainty explains are set aside (the flip matrix fitted to its "
                f"probabilities: {100 * flipped:.1f}% of labels flipped)"
            )
    for row, change, p, k in zip(rows, chosen, p_noisy * confidence, predicted):
        row["corrected_label"] = int(k) if change else row["given_label"]
        row["suggestion_confidence"] = float(p) if change else ""
    return Verdict(supported, float(value), judged_on, reason, int(chosen.sum()))
