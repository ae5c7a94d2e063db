"""Shared by the API key rotation tests: a webhook receiver and fresh in-process state."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from carepipe.api.auth import forget_verified_keys
from carepipe.ops import key_usage


class Webhook:
    """A local HTTP endpoint that keeps the JSON bodies POSTed to it."""

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

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.bodies.get(timeout=timeout)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture(autouse=True)
def _fresh_key_state() -> Iterator[None]:
    """Verified keys, usage tallies and refusal report times are per process: start clean."""
    forget_verified_keys()
    key_usage.forget_usage()
    yield
    forget_verified_keys()
    key_usage.forget_usage()
