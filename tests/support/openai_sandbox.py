"""An OpenAI-compatible sandbox on 127.0.0.1 for tests of the remote ASR and LLM engines.

It answers transcriptions with the note engine tests' consultation and chat completions
with their draft note, records each request's path and Authorization, and in mode
``reject`` answers 401 quoting the key back, as OpenAI does ("Incorrect API key
provided: ..."), so tests can check that a quoted key never reaches a log.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.engines.notes.test_openai_note_engine import DRAFT, TRANSCRIPT


class OpenAISandbox(ThreadingHTTPServer):
    """The sandbox server; ``url`` is its ``/v1`` base, ``auth`` the (path, Authorization)
    of each request in order, ``mode`` "ok" or "reject"."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.auth: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def paths(self) -> list[str]:
        """The request paths, in order."""
        return [path for path, _ in self.auth]


class _Handler(BaseHTTPRequestHandler):
    server: OpenAISandbox

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        self.server.auth.append((self.path, auth))
        if self.server.mode == "reject":
            key = auth.removeprefix("Bearer ")
            body: Any = {"error": {"message": f"Incorrect API key provided: {key}"}}
            return self._send(401, body)
        if self.path.endswith("/audio/transcriptions"):
            words = TRANSCRIPT.split(". ")
            step = 19.0 / len(words)
            segments = [
                {"id": i, "start": i * step, "end": (i + 1) * step, "text": " " + w,
                 "avg_logprob": -0.2, "no_speech_prob": 0.01}
                for i, w in enumerate(words)
            ]  # fmt: skip
            body = {"text": TRANSCRIPT, "language": "english", "duration": 19.3,
                    "segments": segments}  # fmt: skip
            return self._send(200, body)
        message = {"role": "assistant", "content": json.dumps(DRAFT)}
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        return self._send(200, {"id": "c", "model": "gpt-4o-mini", "choices": [choice]})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_openai_sandbox() -> Iterator[OpenAISandbox]:
    """The sandbox, serving until the block ends."""
    server = OpenAISandbox()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def remote() -> Iterator[OpenAISandbox]:
    """The sandbox, serving until the test ends."""
    with running_openai_sandbox() as server:
        yield server
