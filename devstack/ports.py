"""Free loopback ports, reachability checks and polling until something answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable

HOST = "127.0.0.1"


def free_port(avoid: Iterable[int] = ()) -> int:
    """A loopback TCP port nothing listens on now (the kernel picks it)."""
    taken = set(avoid)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise RuntimeError("no free loopback port found")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` of the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    still_worth_it: Callable[[], bool] = lambda: True,
    interval: float = 0.1,
) -> bool:
    """Poll `check` until it holds, `timeout` passes or `still_worth_it` turns false."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline or not still_worth_it():
            return False
        time.sleep(interval)
