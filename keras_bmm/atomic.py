"""`atomic_write`: a file appears whole under its name, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "w", **open_kwargs):
    """Opens a temporary file beside `path` and renames it onto `path` on success.

    A reader never sees a partial file, and a failure (or a kill) leaves any
    previous file at `path` as it was. The parent folder is created. The file
    gets the usual permissions (0644 under the common umask 022), not the
    0600 of a temporary file.

    Args:
        path: the file to write.
        mode: `"w"` (text) or `"wb"` (binary).
        **open_kwargs: passed to `open` (e.g. `newline=""` for CSV).

    Yields:
        The open temporary file.

    Example:

    ```python
    with atomic_write("runs/a/metrics.json") as f:
        json.dump(metrics, f)
    ```
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str, value, indent: int = 2) -> str:
    """Writes `value` as JSON to `path` atomically; returns `path`."""
    import json

    with atomic_write(path) as f:
        json.dump(value, f, indent=indent)
    return path


@contextlib.contextmanager
def atomic_directory(path: str, replace: bool = False):
    """Yields a staging folder beside `path` that is renamed onto `path` on success.

    A failure (or a kill) never leaves a partial folder under `path`; the
    staging folder is removed on failure. The folder gets the usual
    permissions (0755 under the common umask 022), not the 0700 of a
    temporary folder, so that other users (a serving container) can read it.

    Args:
        path: the folder to create.
        replace: replace an existing `path`; otherwise an existing one is
            kept and the staging folder is discarded (another process
            finished the same work first).

    Yields:
        The staging folder's path.

    Example:

    ```python
    with atomic_directory("exported_models/m/1") as staging:
        write_saved_model(staging)
    ```
    """
    import shutil

    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())
        if os.path.isdir(path):
            if not replace:
                return
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
