"""The `make up` platform for a test: free ports and a tmp home, reset afterwards."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.control import LocalPlatform, Ports


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@contextmanager
def platform_in(home: Path, settle_seconds: float) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(
        home / "platform", home / "aws.json", Ports(*free_ports(7)), settle_seconds=settle_seconds
    )
    try:
        yield platform
    finally:
        platform.reset()
