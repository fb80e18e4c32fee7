"""`atomic_write`: a file appears whole under its name, or not at all."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile

try:
    import fcntl
except ImportError:  # not POSIX: staging folders are not locked
    fcntl = None


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

    A failure never leaves a partial folder under `path`: the staging folder
    (`.<name>.tmp-*` beside it) is removed on failure. A killed process
    cannot remove it, so staging folders of `path` that no live process
    owns are removed first (see `remove_stale_staging`). Every folder and
    file gets the usual permissions (0755 and 0644 under the common umask
    022), not the 0700 of a temporary folder, so that other users (a
    serving container) can read them.

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
    name = os.path.basename(os.path.abspath(path))
    remove_stale_staging(parent, re.escape(name))
    staging, owner = _owned_staging(parent, f".{name}.tmp-")
    try:
        yield staging
        _usual_permissions(staging)
        if os.path.isdir(path):
            if not replace:
                return
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if owner is not None:
            os.close(owner)


def remove_stale_staging(parent: str, name_pattern: str = ".+") -> list:
    r"""Removes the staging folders in `parent` that no live process owns.

    A staging folder of `atomic_directory` is held under a shared `flock` by
    the process writing it, for as long as it exists; the kernel releases
    the lock when that process ends, however it ends. A folder on which an
    exclusive lock can be taken is therefore left by a killed process. Where
    locks cannot be taken (no `fcntl`, some network file systems), nothing
    is removed.

    Args:
        parent: the folder to clean.
        name_pattern: regular expression of the target names whose staging
            folders (`.<name>.tmp-*`) are considered, e.g. `r"\d+"` for the
            versions of an exported model.

    Returns:
        The removed folders.
    """
    import shutil

    if fcntl is None or not os.path.isdir(parent):
        return []
    removed = []
    for entry in sorted(os.listdir(parent)):
        folder = os.path.join(parent, entry)
        if not re.fullmatch(rf"\.(?:{name_pattern})\.tmp-[^/]+", entry) or os.path.islink(folder):
            continue
        try:
            handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # owned by a live process, or locks unsupported: keep it
            os.close(handle)
            continue
        try:
            if _same_folder(handle, folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            os.close(handle)
    return removed


def _owned_staging(parent: str, prefix: str):
    """`(folder, handle)`: a new staging folder and the open handle that locks it.

    The handle is `None` where locks cannot be taken.
    """
    while True:
        staging = tempfile.mkdtemp(prefix=prefix, dir=parent)
        if fcntl is None:
            return staging, None
        try:
            handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # removed by a concurrent clean-up before it was locked
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # a concurrent clean-up is removing it
            os.close(handle)
            continue
        except OSError:  # locks unsupported here
            os.close(handle)
            return staging, None
        if _same_folder(handle, staging):
            return staging, handle
        os.close(handle)


def _same_folder(handle: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(handle), os.lstat(path))
    except OSError:
        return False


def _usual_permissions(root: str) -> None:
    """Gives `root` and everything in it the umask's permissions (0755/0644 under 022)."""
    mask = _umask()
    os.chmod(root, 0o777 & ~mask)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            executable = os.path.isdir(path) or os.stat(path).st_mode & 0o100
            os.chmod(path, (0o777 if executable else 0o666) & ~mask)
