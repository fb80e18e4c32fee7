import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)  # the test helpers: `from helpers.images import ...`
sys.path.insert(0, os.path.dirname(TESTS))  # the repository: `benchmarks`, `tests`

import socket  # noqa: E402

import pytest  # noqa: E402

_connect = socket.socket.connect
_LOOPBACK = ("localhost", "::1")


def _loopback_only(sock, address, *args):
    """`socket.connect` for the tests: loopback only, anything else is refused loudly."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if host not in _LOOPBACK and not host.startswith("127."):
            raise OSError(f"keras-bmm's tests run offline: a connection to {address!r} was tried")
    return _connect(sock, address, *args)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Every test runs offline: a connection beyond this machine fails the test."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


#: Folders where runs and exports land by default (`runs/<name>`, `exported_models/<name>`),
#: in the checkout and in the folder the tests started in.
_DEFAULT_OUTPUTS = sorted(
    {
        os.path.join(base, name)
        for base in (CHECKOUT, os.getcwd())
        for name in ("runs", "exported_models")
    }
)


def _outputs() -> dict:
    """`{path: (inode, mtime)}` of the default output folders and of their entries."""
    found = {}
    for folder in _DEFAULT_OUTPUTS:
        if os.path.isdir(folder):
            stat = os.stat(folder)
            found[folder] = (stat.st_ino, stat.st_mtime_ns)
            for entry in os.scandir(folder):
                stat = entry.stat(follow_symlinks=False)
                found[entry.path] = (stat.st_ino, stat.st_mtime_ns)
    return found


@pytest.fixture(autouse=True)
def writes_only_to_temporary_folders():
    """Every test writes to temporary folders: one that leaves (or rewrites) a run or an
    export in the checkout's `runs/` or `exported_models/` fails, naming it."""
    before = _outputs()
    yield
    after = _outputs()
    written = sorted(path for path, stat in after.items() if before.get(path) != stat)
    if written:
        pytest.fail(
            f"the test wrote {written}: give it a run_dir and an output under tmp_path "
            "(and delete these)."
        )
