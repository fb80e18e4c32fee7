import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS)  # the oracles: `from reference import ...`
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
