"""The paper's methods by name, and the checks of their settings (no TensorFlow here).

Both `BootstrappingModel` and `keras_bmm.training.TrainConfig` validate with
these functions, so that a setting has one rule and one message, and the
command line can check its flags before TensorFlow is imported.
"""

from __future__ import annotations

import numbers

#: The objectives of `BootstrappingModel`, by name.
METHODS = ("ce", "mixup", "m-dyr-h", "m-dyr-s", "md-dyr-sh")

#: The bootstrapping methods and the prediction each mixes into its targets.
BOOTSTRAP_MODES = {"m-dyr-h": "hard", "m-dyr-s": "soft", "md-dyr-sh": "soft"}


#: MD-DYR-SH's ways of weighting the two targets of a dynamically mixed input.
DYNAMIC_TARGETS = ("input", "reference")

#: The rules that choose when bootstrapping starts (`warmup_epochs`): keras-bmm's
#: own, and Label Wave's (Yuan et al., ICLR 2024); see `AutoWarmup`.
WARMUP_RULES = ("auto", "label-wave")

#: What an automatic warm-up does when its rule has not fired by its latest
#: start: keep the warm-up to the end, or start bootstrapping there.
IF_UNSETTLED = ("warmup", "start")


def uses_mixture(method: str) -> bool:
    """Whether `method` bootstraps with a fitted beta mixture."""
    return method in BOOTSTRAP_MODES


def check_method(method: str) -> None:
    """Raises `ValueError` unless `method` is one of `METHODS`."""
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; expected one of {METHODS}.")


def check_dynamic_targets(dynamic_targets: str) -> None:
    """Raises `ValueError` unless `dynamic_targets` is one of `DYNAMIC_TARGETS`."""
    if dynamic_targets not in DYNAMIC_TARGETS:
        raise ValueError(
            f"dynamic_targets must be one of {DYNAMIC_TARGETS}, got {dynamic_targets!r}."
        )


def check_method_settings(
    mixup_alpha: float,
    reg_weight: float,
    warmup_epochs: int,
    weight_decay: float,
    dynamic_epochs: int,
    temperature_epochs: int,
    final_temperature: float,
) -> None:
    """Checks the objective's settings; the message names the first bad one.

    Args:
        mixup_alpha: `alpha` of mixup's `Beta(alpha, alpha)`, > 0.
        reg_weight: weight of the class-balance regulariser, >= 0.
        warmup_epochs: epochs before bootstrapping, >= 0, or a rule of
            `WARMUP_RULES`.
        weight_decay: coupled L2 weight decay, >= 0.
        dynamic_epochs: MD-DYR-SH's dynamic-mixup epochs, >= 0.
        temperature_epochs: MD-DYR-SH's temperature epochs, >= 1.
        final_temperature: MD-DYR-SH's last temperature, in (0, 1].

    Raises:
        ValueError: naming the setting and its value.
    """
    if not mixup_alpha > 0:
        raise ValueError(f"mixup_alpha must be > 0, got {mixup_alpha}.")
    if not reg_weight >= 0:
        raise ValueError(f"reg_weight must be >= 0, got {reg_weight}.")
    if warmup_epochs not in WARMUP_RULES and (
        isinstance(warmup_epochs, str) or int(warmup_epochs) < 0
    ):
        raise ValueError(
            f"warmup_epochs must be >= 0 or one of {WARMUP_RULES}, got {warmup_epochs!r}."
        )
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
    if int(dynamic_epochs) < 0:
        raise ValueError(f"dynamic_epochs must be >= 0, got {dynamic_epochs}.")
    if int(temperature_epochs) < 1:
        raise ValueError(f"temperature_epochs must be >= 1, got {temperature_epochs}.")
    if not 0 < final_temperature <= 1:
        raise ValueError(f"final_temperature must be in (0, 1], got {final_temperature}.")


def check_target_refresh(target_refresh, method: str, fast: bool) -> None:
    """Checks `target_refresh`, the bootstrapping epochs between fresh targets.

    Above 1 the step reuses, between refreshes, each sample's arg-max class
    and loss of the last refresh epoch: that is a hard target, so only
    `"m-dyr-h"` with the fast arrangement (whose pass records them) takes it.

    Args:
        target_refresh: a whole number >= 1 (1: every epoch, the paper's).
        method: one of `METHODS`.
        fast: whether the fast arrangement of passes is used.

    Raises:
        ValueError: naming the setting and what it needs.
    """
    whole = isinstance(target_refresh, numbers.Integral) and not isinstance(target_refresh, bool)
    if not whole or target_refresh < 1:
        raise ValueError(f"target_refresh must be a whole number >= 1, got {target_refresh!r}.")
    if target_refresh > 1 and (method != "m-dyr-h" or not fast):
        raise ValueError(
            f"target_refresh={target_refresh} reuses the hard targets and losses the fast "
            "step recorded at the last refresh: it needs method='m-dyr-h' with fast=True, "
            f"got method={method!r}, fast={fast}."
        )


def compiles_apart(method: str, jit_compile: bool | str, replicas: int) -> bool:
    """Whether `BootstrappingModel` XLA-compiles its train step apart from the step's start.

    The start (input checks, mixup's draws) stays uncompiled: XLA drops
    asserts and has no kernel for Beta sampling. A nested compiled function
    cannot aggregate across replicas, so `ce` on several replicas is left to
    Keras's whole-step compilation and the mixing methods are refused.

    Args:
        method: one of `METHODS`.
        jit_compile: the `jit_compile` given to `compile`.
        replicas: replicas of the distribution strategy.

    Returns:
        True when the step after its start is compiled on its own.

    Raises:
        ValueError: for `jit_compile=True` with a mixing method on several replicas.
    """
    apart = jit_compile is True and (method != "ce" or replicas == 1)
    if apart and replicas > 1:
        raise ValueError(
            f"jit_compile=True with method={method!r} compiles the train step apart "
            "from mixup's Beta sampling (XLA has no kernel for it), which works on one "
            f"replica only; this strategy has {replicas}: pass jit_compile=False."
        )
    return apart
