"""The hyperparameter search's settings and their checks (no TensorFlow here).

`scripts/tune.py` checks a search with `check_search` before TensorFlow and
keras-tuner are imported; `keras_bmm.tuning` runs it.
"""

from __future__ import annotations

import numpy as np

from keras_bmm.data.splits import holdout_split  # noqa: F401 (re-exported)

#: The searchable settings: `(low, high)` defaults and whether sampled on a log scale.
SEARCH_SPACE = {
    "mixup_alpha": ((0.5, 32.0), "log"),
    "reg_weight": ((0.0, 2.0), "linear"),
    "warmup_epochs": ((1, 10), "int"),
    "learning_rate": ((0.005, 0.2), "log"),
}

OBJECTIVES = {"noisy": "val_accuracy", "clean": "val_clean_accuracy"}


def max_warmup_epochs(epochs: int, method: str | None = None, dynamic_epochs: int = 0) -> int:
    """The most warm-up epochs after which `method` still bootstraps within `epochs`.

    `epochs - 1`, and for `md-dyr-sh`, whose dynamic mixup follows the warm-up,
    `epochs - 1 - dynamic_epochs`.
    """
    if method == "md-dyr-sh":
        return int(epochs) - 1 - int(dynamic_epochs or 0)
    return int(epochs) - 1


def validate_space(space: dict | None, epochs: int, max_warmup: int | None = None) -> dict:
    """Checks a search space `{name: (low, high)}`; returns it merged with the defaults.

    Args:
        space: the ranges to override.
        epochs: the trials' number of epochs.
        max_warmup: the largest valid warm-up (default `epochs - 1`; see
            `max_warmup_epochs`). The default warm-up range is cut to it.

    Returns:
        `{name: (low, high)}` for every setting of `SEARCH_SPACE`.

    Raises:
        ValueError: naming the setting for an unknown name, a range that is
            not two numbers with low < high, a non-positive bound of a
            log-scale setting, or warm-up epochs outside `[0, max_warmup]`.
    """
    limit = int(epochs) - 1 if max_warmup is None else int(max_warmup)
    if limit < 0:
        raise ValueError(
            f"No warm-up leaves an epoch to bootstrap: epochs ({epochs}) is too small."
        )
    limit_text = "epochs - 1" if limit == int(epochs) - 1 else "epochs - 1 - dynamic_epochs"
    ranges = {name: bounds for name, (bounds, _) in SEARCH_SPACE.items()}
    low, high = ranges["warmup_epochs"]
    ranges["warmup_epochs"] = (min(low, limit), max(0, min(high, limit)))
    for name, bounds in (space or {}).items():
        if name not in SEARCH_SPACE:
            raise ValueError(
                f"Unknown search-space setting {name!r}; expected one of {tuple(SEARCH_SPACE)}."
            )
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(
                f"Search range of {name} must be two numbers (low, high), got {bounds!r}."
            ) from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"Search range of {name} must have low < high, got {bounds!r}.")
        kind = SEARCH_SPACE[name][1]
        if kind == "log" and low <= 0:
            raise ValueError(f"Search range of {name} is log-scaled: low must be > 0, got {low}.")
        if name == "reg_weight" and low < 0:
            raise ValueError(f"Search range of reg_weight must be >= 0, got {bounds!r}.")
        if kind == "int":
            if low != int(low) or high != int(high) or low < 0 or high > limit:
                raise ValueError(
                    f"Search range of warmup_epochs must be integers in [0, {limit_text} = "
                    f"{limit}], got {bounds!r}."
                )
            low, high = int(low), int(high)
        ranges[name] = (low, high)
    return ranges


def check_holdout(fraction: float) -> None:
    """Raises `ValueError` unless the held-out fraction is in (0, 1)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}.")


def check_search(
    config, space: dict | None, max_trials: int, objective: str, holdout: float
) -> dict:
    """Checks a whole search before anything is loaded; returns the validated ranges.

    Args:
        config: the resolved base `TrainConfig`.
        space: ranges to override (see `validate_space`).
        max_trials: number of trials, >= 1.
        objective: a key of `OBJECTIVES`.
        holdout: the held-out fraction, in (0, 1).

    Raises:
        ValueError: naming the first invalid setting.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective {objective!r}; expected one of {tuple(OBJECTIVES)}.")
    if int(max_trials) < 1:
        raise ValueError(f"max_trials must be >= 1, got {max_trials}.")
    check_holdout(holdout)
    limit = max_warmup_epochs(config.epochs, config.method, config.dynamic_epochs)
    return validate_space(space, config.epochs, limit)
