"""The label suggestions and the noise estimate, against plain-Python transcriptions."""

import numpy as np
import pytest

from keras_bmm.noise_estimate import confident_joint_noise, estimate_noise
from keras_bmm.suggestions import suggest_labels


def rows_of(given, predicted, confidence, p_given, p_noisy):
    return [
        {
            "index": i,
            "given_label": int(g),
            "predicted_label": int(k),
            "confidence": float(c),
            "p_given": float(pg),
            "p_noisy": float(pn),
            "corrected_label": int(g),
            "suggestion_confidence": "",
        }
        for i, (g, k, c, pg, pn) in enumerate(zip(given, predicted, confidence, p_given, p_noisy))
    ]


def random_report(n=600, classes=4, seed=0, accuracy=0.8):
    rng = np.random.default_rng(seed)
    given = rng.integers(0, classes, n)
    predicted = np.where(rng.random(n) < accuracy, given, rng.integers(0, classes, n))
    confidence = rng.uniform(0.3, 1.0, n)
    p_given = np.where(predicted == given, confidence, rng.uniform(0, 1 - confidence))
    p_noisy = rng.uniform(0, 1, n)
    return given, predicted, confidence, p_given, p_noisy


def test_a_label_changes_only_where_every_condition_holds():
    report = random_report()
    rows = rows_of(*report)
    verdict = suggest_labels(rows, 4, min_p_noisy=0.5, min_confidence=0.45, min_kappa=0.2)
    given, predicted, confidence, p_given, p_noisy = report
    # Oracle: the rule sample by sample, the class thresholds summed by hand.
    threshold = {}
    for c in range(4):
        own = [p_given[i] for i in range(len(given)) if given[i] == c]
        threshold[c] = sum(own) / len(own)
    changed = kept_by_the_gain = 0

    def strong_before_the_gain(i):
        return (
            predicted[i] != given[i]
            and p_noisy[i] >= 0.5
            and confidence[i] >= max(0.45, threshold[predicted[i]])
        )

    for i, row in enumerate(rows):
        strong = (
            predicted[i] != given[i]
            and p_noisy[i] >= 0.5
            # more likely to fix than to break: P(wrong and new right) > P(right)
            and p_noisy[i] * confidence[i] > 1 - p_noisy[i]
            and confidence[i] >= max(0.45, threshold[predicted[i]])
        )
        assert row["corrected_label"] == (predicted[i] if strong else given[i])
        if strong_before_the_gain(i) and not strong:
            kept_by_the_gain += 1
        if strong:
            changed += 1
            assert row["suggestion_confidence"] == pytest.approx(p_noisy[i] * confidence[i])
        else:
            assert row["suggestion_confidence"] == ""
    assert verdict.supported and verdict.count == changed > 0
    assert kept_by_the_gain > 0  # the data exercise the expected-gain condition
    assert verdict.judged_on == "training samples" and f"{changed} label changes" in verdict.reason


def test_a_change_must_be_likelier_to_fix_the_label_than_to_break_it():
    # Labels 0 and predictions 1; class 1's threshold (its samples' mean p_given) is 0.45.
    given = [0, 0, 0, 0, 1, 1]
    predicted = [1, 1, 1, 1, 1, 1]
    confidence = [0.6, 0.6, 0.9, 0.45, 0.4, 0.5]
    p_given = [0.1, 0.1, 0.05, 0.2, 0.4, 0.5]
    p_noisy = [0.6, 0.7, 0.55, 0.95, 0.0, 0.0]
    rows = rows_of(given, predicted, confidence, p_given, p_noisy)
    suggest_labels(rows, 2, held_out_kappa=0.9, min_confidence=0.4)
    # 0.6 x 0.6 = 0.36 < 0.40: breaking is likelier; 0.7 x 0.6 = 0.42 > 0.30;
    # 0.55 x 0.9 = 0.495 > 0.45; 0.95 x 0.45 = 0.4275 > 0.05.
    assert [r["corrected_label"] for r in rows] == [0, 1, 1, 1, 1, 1]
    assert rows[0]["suggestion_confidence"] == ""
    assert [r["suggestion_confidence"] for r in rows[1:4]] == pytest.approx([0.42, 0.495, 0.4275])


def test_a_network_near_chance_suggests_nothing_and_says_why():
    given, _, confidence, p_given, p_noisy = random_report(seed=1)
    rng = np.random.default_rng(2)
    chance = rng.integers(0, 4, given.size)  # predictions unrelated to the labels
    rows = rows_of(given, chance, confidence, p_given, np.ones(given.size))
    verdict = suggest_labels(rows, 4)
    assert not verdict.supported and verdict.count == 0
    assert all(r["corrected_label"] == r["given_label"] for r in rows)
    assert "no label changes are suggested" in verdict.reason and "chance" in verdict.reason
    # The held-out samples' kappa, when given, is what the verdict reads.
    rows = rows_of(*random_report(seed=3))
    verdict = suggest_labels(rows, 4, held_out_kappa=0.05)
    assert not verdict.supported and verdict.judged_on == "held-out samples"
    # The bar is the automatic warm-up's (0.35 per label estimated right): a network
    # whose held-out kappa is 0.26 with 40% of labels estimated wrong (0.43) passes it.
    assert suggest_labels(rows_of(*random_report(seed=3)), 4, 0.26, 0.4).supported
    assert not suggest_labels(rows_of(*random_report(seed=3)), 4, 0.26, 0.2).supported


def test_confident_joint_against_a_transcription_of_confident_learning():
    given, predicted, confidence, p_given, _ = random_report(n=400, seed=5)
    estimate = confident_joint_noise(given, predicted, confidence, p_given, 4)
    # Oracle: per-class thresholds, the confident joint, calibrated rows.
    t = [np.mean([p_given[i] for i in range(400) if given[i] == c]) for c in range(4)]
    joint = np.zeros((4, 4))
    for i in range(400):
        if confidence[i] >= t[predicted[i]]:
            joint[given[i], predicted[i]] += 1
        elif p_given[i] >= t[given[i]]:
            joint[given[i], given[i]] += 1
    counts = np.bincount(given, minlength=4)
    calibrated = joint / joint.sum(1, keepdims=True) * counts[:, None]
    assert estimate == pytest.approx(1 - np.trace(calibrated) / calibrated.sum())


def test_the_estimate_is_the_median_of_its_estimates_and_spans_them():
    given, predicted, confidence, p_given, p_noisy = random_report(seed=7)
    rows = rows_of(given, predicted, confidence, p_given, p_noisy)
    history = {"bootstrap_epoch": [np.nan, np.nan, 3.0, 3.0], "label_agreement": [0.2, 0.55]}
    found = estimate_noise(rows, 4, history)
    values = [
        p_noisy.mean(),
        confident_joint_noise(given, predicted, confidence, p_given, 4),
        np.mean(predicted != given),
        1 - 0.55,  # the agreement of the last warm-up epoch (epoch 2, counted from 1)
    ]
    assert found["at_start"] == pytest.approx(0.45)
    assert found["estimate"] == pytest.approx(np.median(values))
    assert found["low"] == pytest.approx(min(values)) and found["high"] == pytest.approx(
        max(values)
    )


def test_the_verdict_weighs_kappa_by_the_share_of_labels_estimated_right():
    """At 80% noise even a perfect network agrees little with the labels: its
    kappa is judged per label estimated right, not against 1."""
    rng = np.random.default_rng(8)
    true = rng.integers(0, 10, 2000)
    given = np.where(rng.random(2000) < 0.8, rng.integers(0, 10, 2000), true)
    predicted = true  # a network right on every sample
    confidence = np.full(2000, 0.9)
    p_given = np.where(given == true, 0.9, 0.01)
    rows = rows_of(given, predicted, confidence, p_given, (given != true).astype(float))
    raw = suggest_labels([dict(r) for r in rows], 10)
    assert not raw.supported and 0.1 < raw.kappa < 0.3
    weighed = suggest_labels(rows, 10, noise_estimate=0.72)
    assert weighed.supported and weighed.kappa == pytest.approx(raw.kappa / 0.28)
    fixed = sum(r["corrected_label"] == t for r, t in zip(rows, true))
    assert fixed > sum(given == true) + 1000


def calibrated_report(n, flip_rate, seed):
    """A calibrated network (true class drawn from its probabilities) and labels flipped
    to a random other class at `flip_rate`; p(noisy) as a mixture would give it: high
    wherever the given label's probability is low, whatever the cause."""
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(4, 0.5), size=n)
    true = np.array([rng.choice(4, p=row) for row in probabilities])
    flipped = rng.random(n) < flip_rate
    given = np.where(flipped, (true + rng.integers(1, 4, n)) % 4, true)
    predicted = probabilities.argmax(axis=1)
    p_given = probabilities[np.arange(n), given]
    p_noisy = 1.0 - p_given
    report = (given, predicted, probabilities.max(axis=1), p_given, p_noisy)
    return rows_of(*report), probabilities, true


def test_a_network_whose_own_errors_explain_its_disagreements_changes_no_label():
    rows, probabilities, true = calibrated_report(3000, 0.0, seed=0)
    alone = suggest_labels(rows, 4, min_kappa=0.0)
    broken = sum(r["corrected_label"] != t for r, t in zip(rows, true))
    assert alone.count > 50 and broken == alone.count  # every change breaks a right label
    rows, probabilities, true = calibrated_report(3000, 0.0, seed=0)
    gated = suggest_labels(rows, 4, min_kappa=0.0, probabilities=probabilities)
    assert gated.count <= alone.count // 10
    assert "% of labels flipped" in gated.reason


def test_with_flipped_labels_the_gate_keeps_changes_that_fix_more_than_they_break():
    def wrong_after(gated):
        rows, probabilities, true = calibrated_report(3000, 0.4, seed=1)
        verdict = suggest_labels(
            rows, 4, min_kappa=0.0, probabilities=probabilities if gated else None
        )
        corrected = np.array([r["corrected_label"] for r in rows])
        given = np.array([r["given_label"] for r in rows])
        return verdict.count, np.sum(corrected != true), np.sum(given != true)

    count, wrong, given_wrong = wrong_after(gated=True)
    assert count > 100 and wrong < given_wrong
    assert wrong < wrong_after(gated=False)[1]  # the condition keeps the better changes
