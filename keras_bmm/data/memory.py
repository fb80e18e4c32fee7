"""In memory or streamed: the in-memory path's measured cost against the memory available."""

from __future__ import annotations

import os
from typing import NamedTuple

#: Peak resident memory of the in-memory path above the process's base (TensorFlow
#: and keras-bmm imported), per byte of decoded images: decoding, the normalisation
#: statistics and a training epoch (measured: docs/data.md, "In memory or streamed").
IN_MEMORY_FACTOR = 1.5

#: The share of the memory available that the in-memory path may take: the rest is
#: left for the estimate's error, the model and other processes.
MEMORY_MARGIN = 0.5

#: The memory taken as available where the system does not say (4 GiB: up to
#: 2 GiB of images in memory, the fixed limit keras-bmm used before).
UNKNOWN_AVAILABLE = 4 * 1024**3

#: The system's memory figures (`MemAvailable`); a module constant, so tests can point it elsewhere.
MEMINFO = "/proc/meminfo"


class CgroupFiles(NamedTuple):
    """The files of a cgroup's memory limit and use, and the reclaimable part of its use.

    Attributes:
        limit: the limit in bytes (`"max"`: none).
        usage: the memory charged to the cgroup, page cache included.
        stat: the cgroup's `memory.stat`.
        reclaimable: the field of `stat` counting page cache that can be
            dropped (what `MemAvailable` counts as available too).
    """

    limit: str
    usage: str
    stat: str
    reclaimable: str


#: The memory limits of the cgroup the process runs in (as a container sees its own
#: at `/sys/fs/cgroup`): cgroup v2's, then v1's. Tests point them at files of their own.
CGROUPS = (
    CgroupFiles(
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory.current",
        "/sys/fs/cgroup/memory.stat",
        "inactive_file",
    ),
    CgroupFiles(
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        "/sys/fs/cgroup/memory/memory.stat",
        "total_inactive_file",
    ),
)


def decoded_bytes(num_images: int, image_size, channels: int = 3) -> int:
    """Bytes of `num_images` decoded uint8 images.

    Args:
        num_images: the number of images.
        image_size: `(H, W)` of each.
        channels: channels per pixel.

    Returns:
        `num_images * H * W * channels`.
    """
    return int(num_images) * int(image_size[0]) * int(image_size[1]) * int(channels)


def resident_bytes() -> int:
    """This process's resident memory now (its base), in bytes; 0 where unknown.

    Returns:
        `VmRSS` of `/proc/self/status`, or 0 without `/proc`.
    """
    return _proc_field("/proc/self/status", "VmRSS") or 0


def available_bytes() -> int:
    """The memory other processes, and this process's cgroup limit, leave available, in bytes.

    Returns:
        The least of the system's figure and what each cgroup limit
        (`CGROUPS`) leaves (`cgroup_available`). The system's figure is
        `MemAvailable` of `MEMINFO`; without it, the free physical pages
        (`os.sysconf`); where neither exists, `UNKNOWN_AVAILABLE`.
    """
    found = _proc_field(MEMINFO, "MemAvailable")
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or name (macOS)
            found = UNKNOWN_AVAILABLE
    limited = (cgroup_available(files) for files in CGROUPS)
    return min([found, *(left for left in limited if left is not None)])


def cgroup_available(files: CgroupFiles) -> int | None:
    """What a cgroup's memory limit leaves available, in bytes.

    Args:
        files: the cgroup's files.

    Returns:
        `limit - usage + reclaimable` (at least 0), the reclaimable page cache
        read as 0 when `files.stat` is unreadable; `None` without a limit
        (`"max"`) or when the limit or the usage cannot be read.
    """
    limit, usage = _read_text(files.limit), _read_text(files.usage)
    if limit is None or usage is None or limit == "max":
        return None
    try:
        left = int(limit) - int(usage)
    except ValueError:
        return None
    for line in (_read_text(files.stat) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == files.reclaimable and value.strip().isdigit():
            left += int(value)
    return max(left, 0)


def in_memory_peak(decoded: int, base: int | None = None) -> int:
    """The in-memory path's estimated peak resident memory, in bytes.

    Args:
        decoded: bytes of the decoded images (`decoded_bytes`).
        base: the process's resident memory before loading (default: now).

    Returns:
        `base + IN_MEMORY_FACTOR * decoded`.
    """
    base = resident_bytes() if base is None else int(base)
    return base + int(IN_MEMORY_FACTOR * decoded)


def fits_in_memory(decoded: int, available: int | None = None, base: int | None = None) -> bool:
    """Whether the in-memory path's peak stays within the memory it may take.

    The process may grow from its base (`base`, resident now) by
    `MEMORY_MARGIN` of the memory available (`available`): the path fits
    when its estimated peak (`in_memory_peak`) is at most
    `base + MEMORY_MARGIN * available`.

    Args:
        decoded: bytes of the decoded images.
        available: bytes available to the process beyond its base
            (default: `available_bytes()`).
        base: the process's resident memory (default: now).

    Returns:
        True to decode into memory, False to stream.
    """
    base = resident_bytes() if base is None else int(base)
    available = available_bytes() if available is None else int(available)
    return in_memory_peak(decoded, base) <= base + MEMORY_MARGIN * available


def _read_text(path: str) -> str | None:
    """A file's text, stripped, or `None` when it cannot be read."""
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return None


def _proc_field(path: str, field: str) -> int | None:
    """A `kB` field of a `/proc` file, in bytes, or `None`."""
    try:
        with open(path) as lines:
            for line in lines:
                name, _, value = line.partition(":")
                if name == field:
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
