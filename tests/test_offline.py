"""The test suite's own guard: no test reaches the network."""

import socket

import pytest


def test_a_connection_beyond_this_machine_fails():
    with pytest.raises(OSError, match="tests run offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1, never routed


def test_loopback_connections_still_work():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        socket.create_connection(server.getsockname(), timeout=5).close()
    finally:
        server.close()
