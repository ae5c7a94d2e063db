"""A local webhook receiver: an HTTP server that keeps every JSON body POSTed to it.

Used by the tests of the notification hooks (model events, refused API keys): the hook
is a real HTTP POST, so the test runs a real endpoint and reads what arrived.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Webhook:
    """A local HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                received.put(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next body received, waiting up to ``timeout`` seconds."""
        return self.bodies.get(timeout=timeout)

    def nothing_within(self, seconds: float) -> bool:
        """True when no body arrives within ``seconds``."""
        try:
            self.bodies.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A running receiver, shut down when the test ends."""
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
