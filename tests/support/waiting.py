"""Waiting for an event instead of sleeping a fixed time."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.005, what: str = ""
) -> T:
    """``wait_until`` for a test running on an event loop: polls without blocking the loop."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(interval)


def port_refuses(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP connection to ``port`` is refused now (the listener is closed)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        # The knock landed in the backlog as the listener closed: the port is between
        # states, so it is not refused yet; the next poll sees which way it went.
        return False
