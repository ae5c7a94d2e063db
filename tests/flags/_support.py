"""Helpers of the OpenFeature, OFREP and pipeline flag tests: flags made through the
service, partner keys, and the provider released when a test ends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from carepipe.core.auth import SYSTEM
from carepipe.core.db import Database
from carepipe.flags.provider import release_provider
from carepipe.flags.service import create_flag, update_flag
from carepipe.ops.api_keys import create_key
from tests.engines.notes.test_openai_note_engine import DRAFT, TRANSCRIPT


@pytest.fixture
def released_provider(db: Database) -> Iterator[None]:
    """Flush and stop the database's provider and flag cache after the test (their
    threads would otherwise poll a database that is gone)."""
    yield
    release_provider(db)


def define(db: Database, key: str, definition: dict[str, Any]) -> None:
    """Create flag ``key`` as the system (live at once)."""
    with db.transaction() as s:
        create_flag(s, SYSTEM, key, definition, justification="test set-up")


def redefine(db: Database, key: str, definition: dict[str, Any], based_on: int) -> None:
    """Change flag ``key`` (live at once: the test flags need no approval)."""
    with db.transaction() as s:
        update_flag(s, SYSTEM, key, definition, justification="test change", based_on=based_on)


def partner_auth(db: Database, tenant: str) -> dict[str, str]:
    """Authorization headers of a new partner API key of ``tenant``."""
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=tenant, name="flags-test", env="dev").plaintext
    return {"Authorization": f"Bearer {key}"}


def boolean_flag(*, tenants: list[str], share: float = 100.0) -> dict[str, Any]:
    """A boolean flag: ``on`` for a ``share`` % rollout among ``tenants``, else ``off``."""
    rule: dict[str, Any] = {"conditions": [{"attribute": "tenant", "values": tenants}]}
    if share >= 100:
        rule["variant"] = "on"
    else:
        rule["rollout"] = [
            {"variant": "on", "weight": share},
            {"variant": "off", "weight": 100 - share},
        ]
    return {
        "kind": "boolean",
        "variants": {"on": True, "off": False},
        "default_variant": "off",
        "rules": [rule],
    }


def engine_flag(*, tenants: list[str]) -> dict[str, Any]:
    """A string flag with three variants: ``openai-chat`` for ``tenants``, else ``rules``."""
    return {
        "kind": "string",
        "variants": {"rules": "rules", "openai-chat": "openai", "shadow": "rules"},
        "default_variant": "rules",
        "rules": [
            {"conditions": [{"attribute": "tenant", "values": tenants}], "variant": "openai-chat"}
        ],
    }


class Remote(ThreadingHTTPServer):
    """An OpenAI-compatible test double on 127.0.0.1: transcriptions (the consultation of
    the note engine tests) and chat completions (their draft note); records the paths."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: Remote

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.paths.append(self.path)
        if self.path.endswith("/audio/transcriptions"):
            words = TRANSCRIPT.split(". ")
            step = 19.0 / len(words)
            segments = [
                {"id": i, "start": i * step, "end": (i + 1) * step, "text": " " + w,
                 "avg_logprob": -0.2, "no_speech_prob": 0.01}
                for i, w in enumerate(words)
            ]  # fmt: skip
            body: Any = {"text": TRANSCRIPT, "language": "english", "duration": 19.3,
                         "segments": segments}  # fmt: skip
        else:
            message = {"role": "assistant", "content": json.dumps(DRAFT)}
            choice = {"index": 0, "finish_reason": "stop", "message": message}
            body = {"id": "c", "model": "gpt-4o-mini", "choices": [choice]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def remote() -> Iterator[Remote]:
    """The ASR and LLM test double, serving until the test ends."""
    server = Remote()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
