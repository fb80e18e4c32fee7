"""The checks of a filled `TrainConfig` (no TensorFlow here)."""

from __future__ import annotations

from keras_bmm.bootstrapping.methods import (
    DYNAMIC_TARGETS,
    check_method,
    check_method_settings,
    check_target_refresh,
)
from keras_bmm.data.registry import source_of
from keras_bmm.distribute import STRATEGIES
from keras_bmm.networks import MODELS
from keras_bmm.noise import NOISE_TYPES
from keras_bmm.training.data_settings import check_data_settings
from keras_bmm.training.fields import ConfigError
from keras_bmm.training.train_presets import DATA_DIR_ENVIRONMENT, DATASET_DEFAULTS, PRESETS


def validate(config) -> None:
    """Checks a filled configuration.

    Raises:
        ConfigError: naming the first invalid setting.
    """
    for field, choices in (
        ("strategy", STRATEGIES),
        ("model", MODELS),
        ("noise_type", NOISE_TYPES),
        ("dynamic_targets", DYNAMIC_TARGETS),
    ):
        if getattr(config, field) not in choices:
            raise ConfigError(
                field,
                f"Unknown {field.replace('_', ' ')} {getattr(config, field)!r}; "
                f"expected one of {choices}.",
            )
    try:
        check_method(config.method)
    except ValueError as error:
        raise ConfigError("method", str(error)) from None
    try:
        check_method_settings(
            config.mixup_alpha,
            config.reg_weight,
            config.warmup_epochs,
            config.weight_decay,
            config.dynamic_epochs,
            config.temperature_epochs,
            1e-3,
        )
    except ValueError as error:
        raise ConfigError(str(error).split(" ", 1)[0], str(error)) from None
    try:
        check_target_refresh(config.target_refresh, config.method, config.fast)
    except ValueError as error:
        raise ConfigError("target_refresh", str(error)) from None
    check_auto_warmup(config)
    if config.mixed_precision not in (True, False, "auto"):
        raise ConfigError(
            "mixed_precision",
            f"mixed_precision must be true, false or 'auto', got {config.mixed_precision!r}.",
        )
    if not isinstance(config.noise, (int, float)) or not 0.0 <= config.noise <= 1.0:
        raise ConfigError("noise", f"noise must be a rate in [0, 1], got {config.noise}.")
    check_noise_kind(config)
    if config.dataset.endswith("_n") and config.noise > 0:
        raise ConfigError(
            "noise",
            f"noise must be 0 for {config.dataset}, which carries real human label noise "
            f"(got {config.noise}).",
        )
    check_data_settings(config)
    source = source_of(config.dataset)
    if source.data_dir_required and not config.data_dir:
        env = DATA_DIR_ENVIRONMENT.get(config.preset)
        hint = f", or set the environment variable {env}" if env else ""
        raise ConfigError(
            "data_dir",
            f"data_dir is required for the {config.dataset} dataset: {source.data_dir}{hint}.",
        )
    config.lr_milestones = tuple(int(m) for m in config.lr_milestones or ())
    if list(config.lr_milestones) != sorted(set(config.lr_milestones)) or any(
        m < 1 for m in config.lr_milestones
    ):
        raise ConfigError(
            "lr_milestones",
            "lr_milestones must be strictly increasing epochs >= 1 (1-based), got "
            f"{list(config.lr_milestones)}.",
        )
    for field in ("epochs", "batch_size", "width", "eval_every"):
        if int(getattr(config, field)) < 1:
            raise ConfigError(field, f"{field} must be >= 1, got {getattr(config, field)}.")
    if int(config.temperature_epochs) < 2:
        raise ConfigError(
            "temperature_epochs",
            "temperature_epochs must be >= 2 (the fall from 1 to 0.001), got "
            f"{config.temperature_epochs}.",
        )
    freeze = config.freeze_epochs
    if freeze is not None and not 0 <= int(freeze) <= int(config.epochs):
        raise ConfigError(  # before the warm-up, whose earliest start counts these epochs
            "freeze_epochs",
            f"freeze_epochs must be in [0, epochs] = [0, {config.epochs}], got {freeze}.",
        )
    warmup, named, advice = config.earliest_start(), *_warmup_named(config)
    if config.method == "md-dyr-sh" and config.epochs <= warmup + config.dynamic_epochs:
        total = (
            f"warmup_epochs + dynamic_epochs ({warmup} + {config.dynamic_epochs})"
            if config.warmup_epochs not in ("auto", "label-wave")
            else f"{named} + dynamic_epochs ({config.dynamic_epochs})"
        )
        raise ConfigError(
            "epochs",
            f"epochs ({config.epochs}) must exceed {total} for md-dyr-sh: soft-to-hard "
            "bootstrapping starts after the dynamic mixup." + advice,
        )
    if int(config.epochs) % int(config.eval_every):
        raise ConfigError(
            "epochs",
            f"epochs ({config.epochs}) must be a multiple of eval_every ({config.eval_every}), "
            "so that the last epoch is evaluated.",
        )
    if config.per_class is not None and int(config.per_class) < 1:
        raise ConfigError("per_class", f"per_class must be >= 1, got {config.per_class}.")
    if not config.learning_rate > 0:
        raise ConfigError(
            "learning_rate", f"learning_rate must be > 0, got {config.learning_rate}."
        )
    if config.method in ("m-dyr-h", "m-dyr-s", "md-dyr-sh") and config.epochs <= warmup:
        raise ConfigError(
            "epochs",
            f"epochs ({config.epochs}) must exceed {named} for {config.method}: "
            "bootstrapping starts after the warm-up." + advice,
        )


def check_noise_kind(config) -> None:
    """Checks the settings of the chosen kind of noise (its rate, its confusion matrix)."""
    if config.noise_type == "open-set" and config.noise >= 1.0:
        raise ConfigError(
            "noise",
            f"noise must be below 1 for open-set noise (the share of images of no class), got "
            f"{config.noise}.",
        )
    if config.confusion_matrix and config.noise_type != "confusion":
        raise ConfigError(
            "confusion_matrix",
            f"confusion_matrix applies to noise_type confusion only, not {config.noise_type}.",
        )
    if config.confusion_matrix:
        from keras_bmm.noise.confusion import read_confusion

        try:
            read_confusion(config.confusion_matrix)
        except (OSError, ValueError) as error:
            raise ConfigError("confusion_matrix", str(error)) from None


def _warmup_named(config) -> tuple:
    """`(name, advice)`: the warm-up as a message on `epochs` names it, and the advice.

    A fixed warm-up is `warmup_epochs (N)`. An automatic one (`auto`, given
    or a default) is the earliest epoch it may start at, with where the rule
    came from: its `warmup_epochs` was never a number.
    """
    from keras_bmm.bootstrapping.methods import WARMUP_RULES

    earliest = config.earliest_start()
    rule = config.warmup_epochs
    if rule not in WARMUP_RULES:
        return f"warmup_epochs ({earliest})", ""
    origin = ""
    if PRESETS.get(config.preset, {}).get("warmup_epochs") == rule:
        origin = f", the {config.preset} preset's default"
    elif DATASET_DEFAULTS.get(config.dataset, {}).get("warmup_epochs") == rule:
        origin = f", the {config.dataset} dataset's default"
    named = (
        f"the earliest start of the automatic warm-up ({earliest}: warmup_epochs {rule}{origin}, "
        "which reads the signals of the first epochs before it may start)"
    )
    return named, " Give more epochs, or a fixed warmup_epochs below the epochs."


def check_auto_warmup(config) -> None:
    """Checks a start rule's settings (set only with `warmup_epochs` auto or label-wave)."""
    from keras_bmm.bootstrapping.auto_warmup import WARMUP_SETTINGS, AutoWarmup
    from keras_bmm.bootstrapping.methods import WARMUP_RULES

    if config.warmup_epochs not in WARMUP_RULES:
        for field in WARMUP_SETTINGS:
            if getattr(config, field) is not None:
                raise ConfigError(field, f"{field} applies to warmup_epochs auto only.")
        return
    try:
        AutoWarmup(**config.auto_warmup())
    except ValueError as error:
        argument = str(error).split(" ", 1)[0]
        fields = {arg: field for field, arg in WARMUP_SETTINGS.items()}
        field = fields.get(argument, "warmup_epochs")
        raise ConfigError(field, str(error).replace(argument, field, 1)) from None
    if config.warmup_max_epochs is not None and config.warmup_max_epochs >= config.epochs:
        raise ConfigError(
            "warmup_max_epochs",
            f"warmup_max_epochs ({config.warmup_max_epochs}) must be below epochs "
            f"({config.epochs}).",
        )
