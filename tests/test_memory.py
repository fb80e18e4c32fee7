"""Memory of the in-memory path: no second copy of the decoded images; in memory or streamed."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers.images import write_image

from keras_bmm.data import catalog, memory
from keras_bmm.data.file_table import FileTable

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The measuring process: loads the folder in memory, holds out 10% (`--val-split`)
#: and reads an augmented training epoch and the tracking passes of both parts.
CHILD = """
import json, sys

import tensorflow  # the base: TensorFlow and keras-bmm imported

import keras_bmm
from keras_bmm.data import load_dataset


def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024


base = status("VmRSS")
root, size = sys.argv[1], int(sys.argv[2])
data = load_dataset("folder", root, image_size=(size, size), stream=False)
assert not data.streams
train, held_out = data.holdout(0.1, seed=0)
seen = 0
for _, y in train.train_batches(train.train_labels, 64, augment=True):
    seen += int(y.shape[0])
for part in (train, held_out):
    for _, y in part.tracking_batches(part.train_labels, 256):
        seen += int(y.shape[0])
peak = status("VmHWM")
print(json.dumps({"base": base, "peak": peak, "seen": seen, "decoded": data.train_images.nbytes}))
"""


def _jpeg_folder(root, count: int, size: int, unique: int = 16) -> str:
    """`count` JPEGs of `size` px in 4 classes: `unique` written, the rest hard links to them."""
    rng = np.random.default_rng(0)
    written = [
        write_image(os.path.join(root, "originals", f"{i}.jpg"), (size, size), rng)
        for i in range(unique)
    ]
    for i in range(count):
        folder = os.path.join(root, "train", f"class{i % 4}")
        os.makedirs(folder, exist_ok=True)
        os.link(written[i % unique], os.path.join(folder, f"{i:05d}.jpg"))
    return root


def _peak_above_base(root: str, size: int) -> dict:
    """The measuring process's figures (`CHILD`) for the folder `root`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([CHECKOUT, os.environ.get("PYTHONPATH", "")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, root, str(size)],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(root),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_in_memory_path_holds_no_second_copy(tmp_path):
    """Decoding, statistics, a held-out split and the pipelines copy no full set of images.

    Folders of 1,000 and 4,000 JPEGs of 128 px (47 and 188 MiB decoded) are
    loaded in memory, each in a fresh process that holds out 10% and reads
    an augmented training epoch and the tracking passes of both parts. The
    3,000 more images raise the peak resident memory above the base
    (TensorFlow and keras-bmm imported) by at most 1.5x their decoded size:
    what is not a copy of the images (batches in flight, TensorFlow's
    runtime) is the same for both. (The old path, with a list of decoded
    batches stacked, float64 statistics of 4,096 images at once, a copy per
    split and TensorFlow's constants of the whole array, took over 10x.)
    """
    size, found = 128, {}
    for count in (1000, 4000):
        root = _jpeg_folder(str(tmp_path / f"jpegs-{count}"), count, size)
        found[count] = _peak_above_base(root, size)
        assert found[count]["decoded"] == count * size * size * 3
        assert found[count]["seen"] == round(0.9 * count) + count
    small, large = found[1000], found[4000]
    growth = (large["peak"] - large["base"]) - (small["peak"] - small["base"])
    ratio = growth / (large["decoded"] - small["decoded"])
    assert ratio <= 1.5, f"{ratio:.2f}x the decoded size of the images added"


GIB = 1024**3


def test_fits_in_memory_at_the_boundary():
    """2 GiB of decoded images grow the process by 1.5 x 2 GiB = 3 GiB, which is half
    of 6 GiB available: in memory with 6 GiB, streamed with a byte less, whatever the base."""
    assert memory.in_memory_peak(2 * GIB, base=GIB) == 4 * GIB
    assert memory.in_memory_peak(1000, base=7) == 1507
    for base in (0, 5 * GIB):
        assert memory.fits_in_memory(2 * GIB, available=6 * GIB, base=base)
        assert not memory.fits_in_memory(2 * GIB, available=6 * GIB - 1, base=base)
    assert memory.decoded_bytes(16_000, (128, 128)) == 786_432_000
    assert memory.decoded_bytes(10, (4, 5), channels=1) == 200


def test_memory_figures_of_this_machine():
    """The process's resident memory and the memory available are read (Linux: /proc)."""
    assert memory.available_bytes() > 0
    if os.path.exists("/proc/self/status"):
        assert memory.resident_bytes() > 0


@pytest.mark.parametrize("available, streams", [(64 * GIB, False), (GIB, True)])
def test_load_chooses_the_path_by_the_memory_available(monkeypatch, available, streams):
    """10,000 training and 2,000 test images of 224 px (1.8 GB decoded): in memory on a
    machine with 64 GiB free, streamed with 1 GiB free; the images' size comes from the
    first file when not given."""
    monkeypatch.setattr(memory, "available_bytes", lambda: available)
    train = FileTable(tuple(f"{i}.jpg" for i in range(10_000)), np.zeros(10_000, int), ("a", "b"))
    test = FileTable(tuple(f"{i}.jpg" for i in range(2_000)), np.zeros(2_000, int), ("a", "b"))
    assert catalog._too_big_for_memory(train, test, (224, 224)) is streams
    assert catalog._too_big_for_memory(train, None, (224, 224)) is streams


def test_undecodable_first_files_stream(tmp_path, monkeypatch):
    """Without a size and with no decodable file among the first, the files are streamed."""
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * GIB)
    (tmp_path / "a.jpg").write_bytes(b"not an image")
    train = FileTable((str(tmp_path / "a.jpg"),), np.zeros(1, int), ("a", "b"))
    assert catalog._too_big_for_memory(train, None, None) is True


def test_pipelines_hold_their_images_and_free_them_after():
    """A pipeline reads images it alone holds (even through a later `map`); dropped, they go."""
    import gc
    import weakref

    from keras_bmm.data import eval_pipeline, train_pipeline

    images = np.arange(10 * 4 * 4 * 3, dtype=np.uint8).reshape(10, 4, 4, 3)
    gone = weakref.ref(images)
    ds = train_pipeline(images, np.arange(10) % 2, 4, epochs=1).map(lambda x, y: (x, y))
    evaluated = eval_pipeline(images.copy(), np.arange(10) % 2, 3)
    del images
    gc.collect()
    seen = sorted(int(i) for x, _ in ds for i in x["index"])
    assert seen == list(range(10)) and gone() is not None
    assert sum(int(y.shape[0]) for _, y in evaluated) == 10
    del ds
    gc.collect()
    assert gone() is None


def test_available_memory_without_proc_or_sysconf(monkeypatch):
    """Without /proc (macOS, Windows) and without the sysconf name, a fixed figure."""
    monkeypatch.setattr(memory, "_proc_field", lambda path, field: None)

    def missing(name):
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(memory.os, "sysconf", missing)
    assert memory.available_bytes() == 4 * 1024**3
    monkeypatch.delattr(memory.os, "sysconf")
    assert memory.available_bytes() == 4 * 1024**3


def _cgroup(root, limit=None, usage=None, stat=None, version=2):
    """Fake files of a cgroup's memory under `root` (an unset figure: no file)."""
    root.mkdir(parents=True, exist_ok=True)
    names = ("memory.max", "memory.current") if version == 2 else ("limit", "usage")
    files = memory.CgroupFiles(
        str(root / names[0]),
        str(root / names[1]),
        str(root / "memory.stat"),
        "inactive_file" if version == 2 else "total_inactive_file",
    )
    for path, text in zip(files[:3], (limit, usage, stat)):
        if text is not None:
            with open(path, "w") as file:
                file.write(text + "\n")
    return files


@pytest.mark.parametrize(
    "v2, v1, expected",
    [
        # No cgroup files: MemAvailable (8,000,000 kB).
        (dict(), dict(), 8_192_000_000),
        # v2, 4 GiB limit, 1 GiB used of which 256 MiB page cache: 3.25 GiB left.
        (
            dict(limit="4294967296", usage="1073741824", stat="anon 1\ninactive_file 268435456"),
            dict(),
            3_489_660_928,
        ),
        # v2 without a limit; v1 limits 2 GiB and 1.5 GiB are used: 512 MiB.
        (dict(limit="max", usage="5"), dict(limit="2147483648", usage="1610612736"), 536_870_912),
        # v1 "unlimited" (its largest page count): MemAvailable.
        (dict(), dict(limit="9223372036854771712", usage="1073741824"), 8_192_000_000),
        # A limit larger than MemAvailable leaves MemAvailable.
        (dict(limit="17179869184", usage="0"), dict(), 8_192_000_000),
        # Over the limit (usage above it): nothing.
        (dict(limit="1000", usage="2000"), dict(), 0),
        # A limit whose usage cannot be read, or garbage: ignored.
        (dict(limit="1000"), dict(limit="lots", usage="1"), 8_192_000_000),
    ],
)
def test_available_memory_is_capped_by_the_cgroup_limit(tmp_path, monkeypatch, v2, v1, expected):
    """Fake /proc/meminfo and cgroup v2 and v1 files: the least of MemAvailable and
    what each limit leaves (limit - usage + reclaimable page cache)."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n")
    monkeypatch.setattr(memory, "MEMINFO", str(meminfo))
    cgroups = (_cgroup(tmp_path / "v2", **v2), _cgroup(tmp_path / "v1", **v1, version=1))
    monkeypatch.setattr(memory, "CGROUPS", cgroups)
    assert memory.available_bytes() == expected
