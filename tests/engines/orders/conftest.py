"""A real OpenAI-compatible HTTP test double on 127.0.0.1, scripted per test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from carepipe.engines.orders.models import MedicationOrder


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent as is
    delay: float = 0.0


@dataclass
class FakeLlm:
    """What the server will answer next, and what it was sent."""

    url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer_with(self, content: Any, *, usage: dict | None = None, **extra: Any) -> None:
        """Queue a normal chat completion whose message content is ``content``."""
        text = content if isinstance(content, str) else json.dumps(content)
        body = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": extra.pop("model", "gpt-4o-mini-2024-07-18"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, **extra.pop("message", {})},
                    "finish_reason": extra.pop("finish_reason", "stop"),
                }
            ],
            "usage": usage
            if usage is not None
            else {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
        }
        self.replies.append(Reply(200, body))


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    state = FakeLlm(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
            )
            reply = state.replies.pop(0) if state.replies else Reply(500, {"error": "no reply"})
            if reply.delay:
                time.sleep(reply.delay)
            payload = (
                reply.body.encode()
                if isinstance(reply.body, str)
                else json.dumps(reply.body).encode()
            )
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def engine() -> RulesOrdersEngine:
    """The rules engine (stateless: one for the whole run)."""
    return RulesOrdersEngine()


def order_meds(engine: RulesOrdersEngine, text: str) -> list[tuple]:
    """(name, action, dose, dose unit) of each medication order the engine reads in ``text``."""
    return [(m.name, m.action, m.dose, m.dose_unit) for m in engine.extract(text).medications]


def order_services(engine: RulesOrdersEngine, text: str) -> list[str]:
    """The display names of the services the engine reads in ``text``, sorted."""
    return sorted(s.display for s in engine.extract(text).services)


def _sig_of(m: MedicationOrder) -> tuple:
    t = m.timing
    timing = None if t is None else (t.frequency, t.period, t.periodUnit)
    return (m.name, m.action, m.dose, m.dose_unit, timing)


def order_sig(engine: RulesOrdersEngine, text: str) -> tuple:
    """(name, action, dose, unit, (frequency, period, period unit) or None) of the one
    medication order the engine reads in ``text``."""
    (m,) = engine.extract(text).medications
    return _sig_of(m)


def order_sig_prn(engine: RulesOrdersEngine, text: str) -> tuple:
    """:func:`order_sig` and whether the order is as needed."""
    (m,) = engine.extract(text).medications
    return (*_sig_of(m), m.as_needed)
