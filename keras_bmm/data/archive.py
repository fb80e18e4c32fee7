"""`extracted_folder`: a `.tar.gz` image-folder dataset unpacked once into a cache."""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib

from keras_bmm.atomic import atomic_directory

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def cache_dir() -> str:
    """`$KERAS_BMM_CACHE`, or `~/.cache/keras_bmm`."""
    return os.environ.get("KERAS_BMM_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_bmm"
    )


def extracted_folder(path: str, cache: str | None = None) -> str:
    """Returns a dataset folder for `path`, extracting it first if it is an archive.

    An archive is extracted once into `cache` (default `cache_dir()`), under a
    name made of its file name, size and modification time, atomically: a
    partial extraction never appears under the final name. If the archive
    holds a single top-level folder with `train/` inside, that folder is used.

    Args:
        path: a dataset folder, or a `.tar.gz`/`.tgz`/`.tar` of one.
        cache: where to extract archives.

    Returns:
        The folder that holds `train/` (and `test/`).

    Raises:
        FileNotFoundError: if the archive does not exist.
        ValueError: naming the archive when it is truncated or corrupt.
    """
    if os.path.isdir(path) or not path.endswith(ARCHIVE_SUFFIXES):
        return path
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Dataset archive {path!r} does not exist.")
    stat = os.stat(path)
    name = os.path.basename(path)
    for suffix in ARCHIVE_SUFFIXES:
        name = name.removesuffix(suffix)
    cache = cache or cache_dir()
    target = os.path.join(cache, f"{name}-{stat.st_size}-{int(stat.st_mtime)}")
    if not os.path.isdir(target):
        try:
            # A concurrent extraction of the same archive keeps whichever finished first.
            with atomic_directory(target) as staging, tarfile.open(path) as archive:
                try:
                    archive.extractall(staging, filter="data")
                except TypeError:  # Python without extraction filters
                    archive.extractall(staging)
        except (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile) as error:
            raise ValueError(
                f"Dataset archive {path!r} is truncated or corrupt and cannot be extracted "
                f"({type(error).__name__}: {str(error).splitlines()[0]}); download or copy it "
                "again."
            ) from None
    entries = [e for e in os.listdir(target) if not e.startswith(".")]
    if "train" not in entries and len(entries) == 1:
        return os.path.join(target, entries[0])
    return target
