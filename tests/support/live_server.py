"""A real uvicorn server for an app, on a free port of 127.0.0.1, for tests that need sockets."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from tests.support.waiting import wait_until

# Ports this process has handed out: two calls in a row can get the same free port from
# the kernel, and a test that binds both (carepipe up's HTTP and MLLP ports, a throwaway
# PostgreSQL beside it) then collides with itself ("address already in use", seen once in CI).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now that this process has not handed out before."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port that was not handed out before")


@contextlib.contextmanager
def live_server(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``)."""
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started, timeout=10, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
