"""The warm-up panel of training.png: where bootstrapping started, or that it did not."""

import math

import pytest

from keras_bmm.plots import plot_training_curves, start_marker

NAN = math.nan


def _history(starts):
    n = len(starts)
    return {
        "accuracy": [0.1 * i for i in range(n)],
        "loss": [2.0 - 0.1 * i for i in range(n)],
        "warmup_signal": [NAN] + [0.5 + 0.05 * i for i in range(1, n)],
        "bootstrap_epoch": starts,
    }


def test_marker_at_the_logged_start_on_a_one_based_axis():
    start, text = start_marker(_history([NAN, NAN, NAN, 4.0, 4.0, 4.0]))  # logged from 1
    assert start == 4
    assert "bootstrapping" in text


def test_marker_says_when_an_automatic_start_never_came():
    start, text = start_marker(_history([NAN] * 6))
    assert start is None
    assert "never started" in text


def test_no_marker_for_methods_without_bootstrapping():
    # ce and mixup log the configured warm-up all the same.
    start, text = start_marker(_history([1.0] * 6), bootstraps=False)
    assert start is None
    assert "no bootstrapping" in text


@pytest.mark.parametrize("starts", [[NAN] * 6, [NAN, NAN, 2.0, 2.0, 2.0, 2.0]])
def test_training_png_is_written_either_way(tmp_path, starts):
    path = plot_training_curves(_history(starts), str(tmp_path / "training.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_fixed_warmup_longer_than_the_run_is_not_drawn_past_its_end():
    start, text = start_marker(_history([30.0] * 6))
    assert start is None
    assert "whole run" in text


def test_logs_without_the_start_get_no_marker():
    history = _history([NAN] * 6)
    del history["bootstrap_epoch"]
    assert start_marker(history) == (None, "")
