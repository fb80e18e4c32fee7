"""`lazy_exports`: a package's public names, imported on first use (PEP 562).

Packages of keras-bmm re-export their public names lazily, so that importing
a light module (the configuration, the command-line flags) does not import
TensorFlow: `scripts/train.py -h` and a mistyped flag answer at once.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """Returns `(__getattr__, __dir__)` for a package that re-exports names lazily.

    Args:
        package: the package's `__name__`.
        exports: `{public name: module that defines it}`.

    Returns:
        The two module-level functions to assign in the package's `__init__`.

    Example:

    ```python
    __getattr__, __dir__ = lazy_exports(__name__, {"BetaMixture": "keras_bmm.mixture.beta_mixture"})
    ```
    """

    def __getattr__(name: str):
        if name not in exports:
            try:  # a submodule, e.g. keras_bmm.data after `import keras_bmm`
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{package}.{name}":
                    raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(importlib.import_module(package).__dict__) | set(exports))

    return __getattr__, __dir__
