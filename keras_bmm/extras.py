"""`require`: an optional dependency, or an error that names the extra to install."""

from __future__ import annotations

import importlib

#: The pip extras of keras-bmm and the features they enable.
EXTRAS = {
    "tune": "hyperparameter search (keras-tuner)",
    "tfds": "CIFAR-10/100 and CIFAR-N through tensorflow-datasets",
    "plots": "PNG plots of the mixture and of training (matplotlib)",
    "hub": "keras-hub presets as backbones",
}


def require(module: str, extra: str):
    """Imports `module`, or raises an `ImportError` that says which extra provides it.

    Args:
        module: the module to import, e.g. `"keras_tuner"`.
        extra: the keras-bmm extra that installs it, e.g. `"tune"`.

    Returns:
        The imported module.

    Example:

    ```python
    keras_tuner = require("keras_tuner", "tune")
    ```
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{EXTRAS[extra]} needs the '{extra}' extra, which is not installed "
            f"({error}). Install it with: pip install 'keras-bmm[{extra}]'"
        ) from None
