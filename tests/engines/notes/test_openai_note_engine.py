"""The OpenAI-compatible note engine against a real HTTP test double on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from carepipe.core.config import Settings
from carepipe.core.errors import EngineOutputInvalid, EngineRequestRejected, EngineUnavailable
from carepipe.engines.notes import clear_engine_cache, load_note_engine
from carepipe.engines.notes.openai_chat import SOAP_JSON_SCHEMA, OpenAiChatNoteEngine

TRANSCRIPT = (
    "I've had a cough for five days. No fever. Your blood pressure is one forty over ninety "
    "and pulse is 88. This is high blood pressure. I'll start amlodipine 5 mg once daily. "
    "Come back in four weeks."
)
SECRET = "sk-test-not-a-real-key-123"
# The engines under test wait this long for an answer. It is far above what the local
# double needs, because a loaded 2-core CI host once took over 0.5 s to answer a plain
# request (stop 23 was refused for it); only the timeout test uses a short one.
PATIENT_SECONDS = 10.0
IMPATIENT_SECONDS = 0.5
SLOW_SECONDS = 3.0

DRAFT: dict[str, Any] = {
    "sentences": [
        {
            "section": "subjective",
            "quote": "I've had a cough for five days.",
            "text": "Cough for 5 days.",
            "confidence": 0.9,
        },
        {
            "section": "objective",
            "quote": "Your blood pressure is one forty over ninety and pulse is 88.",
            "text": "BP 140/90, pulse 88.",
            "confidence": 0.95,
        },
        {
            "section": "assessment",
            "quote": "This is high blood pressure.",
            "text": "Hypertension.",
            "confidence": 0.9,
        },
        {
            "section": "plan",
            "quote": "I'll start amlodipine 5 mg once daily.",
            "text": "Start amlodipine 5 mg once daily.",
            "confidence": 0.9,
        },
    ],
    "vitals": [
        {
            "kind": "blood_pressure",
            "quote": "blood pressure is one forty over ninety",
            "value": None,
            "systolic": 140,
            "diastolic": 90,
            "unit": "mm[Hg]",
            "confidence": 0.95,
        },
        {
            "kind": "heart_rate",
            "quote": "pulse is 88",
            "value": 88,
            "systolic": None,
            "diastolic": None,
            "unit": "/min",
            "confidence": 0.95,
        },
    ],
    "medications": [
        {
            "name": "Amlodipine",
            "quote": "amlodipine 5 mg once daily",
            "dose": 5,
            "dose_unit": "mg",
            "route": "oral",
            "frequency_text": "once daily",
            "frequency": 1,
            "period": 1,
            "period_unit": "d",
            "as_needed": False,
            "duration_value": None,
            "duration_unit": None,
            "action": "start",
            "confidence": 0.9,
        },
    ],
    "symptoms": [
        {
            "name": "cough",
            "quote": "cough for five days",
            "present": True,
            "duration_value": 5,
            "duration_unit": "d",
            "confidence": 0.9,
        },
        {
            "name": "fever",
            "quote": "No fever",
            "present": False,
            "duration_value": None,
            "duration_unit": None,
            "confidence": 0.9,
        },
        {
            "name": "chest pain",
            "quote": "crushing chest pain",
            "present": True,
            "duration_value": None,
            "duration_unit": None,
            "confidence": 0.9,
        },
    ],
    "diagnoses": [
        {
            "name": "high blood pressure",
            "quote": "high blood pressure",
            "verification": "confirmed",
            "confidence": 0.9,
        },
    ],
    "allergies": [],
    "no_known_allergies": False,
    "follow_up": [
        {
            "quote": "Come back in four weeks",
            "interval_value": 4,
            "interval_unit": "wk",
            "conditional": False,
            "confidence": 0.9,
        },
    ],
}


def _completion(content: str, *, finish: str = "stop", model: str = "gpt-4o-mini") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 400, "total_tokens": 1600},
        }
    ).encode()


class FakeLlm(ThreadingHTTPServer):
    """Answers /v1/chat/completions as told by ``mode``; records what it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeLlm

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append((self.path, dict(self.headers), body))
        mode = self.server.mode
        if self.path != "/v1/chat/completions":
            return self._send(404, b'{"error": "not found"}')
        if mode == "ok":
            return self._send(200, _completion(json.dumps(DRAFT), model=body["model"]))
        if mode == "served-by-snapshot":
            return self._send(200, _completion(json.dumps(DRAFT), model="gpt-4o-mini-2024-07-18"))
        if mode in ("500", "502", "503", "429", "401", "400"):
            return self._send(int(mode), b'{"error": {"message": "nope"}}')
        if mode == "not-json":
            return self._send(200, _completion("Sure! Here is your note: {oops"))
        if mode == "body-not-json":
            return self._send(200, b"<html>gateway</html>")
        if mode == "schema":
            bad = dict(DRAFT)
            bad["vitals"] = [{"kind": "blood_sugar_vibes", "quote": "x"}]
            return self._send(200, _completion(json.dumps(bad)))
        if mode == "bad-confidence":
            bad = json.loads(json.dumps(DRAFT))
            bad["sentences"][0]["confidence"] = 7
            return self._send(200, _completion(json.dumps(bad)))
        if mode == "truncated":
            return self._send(200, _completion(json.dumps(DRAFT)[:200], finish="length"))
        if mode == "slow":
            time.sleep(SLOW_SECONDS)
            return self._send(200, _completion(json.dumps(DRAFT)))
        if mode == "hangup":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return None
        raise AssertionError(mode)

    def _send(self, status: int, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    server = FakeLlm()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine(llm: FakeLlm) -> Iterator[OpenAiChatNoteEngine]:
    e = OpenAiChatNoteEngine(llm.url, "gpt-4o-mini", SECRET, timeout=PATIENT_SECONDS)
    yield e
    e.close()


def test_success_with_usage_cost_and_grounded_items(
    engine: OpenAiChatNoteEngine, llm: FakeLlm
) -> None:
    note = engine.generate(TRANSCRIPT)
    assert note.engine == "openai" and note.model_version == "openai/gpt-4o-mini"
    assert note.usage is not None
    assert (note.usage.prompt_tokens, note.usage.completion_tokens) == (1200, 400)
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
    assert note.usage.cost_usd == pytest.approx(1200 * 0.15e-6 + 400 * 0.60e-6)

    bp, hr = note.vitals
    assert (bp.value_text, bp.components, bp.loinc) == (
        "140/90",
        {"systolic": 140, "diastolic": 90},
        "85354-9",
    )
    assert TRANSCRIPT[bp.start : bp.end] == "blood pressure is one forty over ninety"
    assert hr.loinc == "8867-4"
    (med,) = note.medications
    assert (med.name, med.rxnorm, med.dose) == ("amlodipine", "17767", 5)
    (dx,) = note.diagnoses
    # Codes come from our lexicon, not from the model.
    assert (dx.name, dx.icd10) == ("hypertension", "I10")
    assert [n.name for n in note.pertinent_negatives] == ["fever"]
    # A quote that is not in the transcript may be invented: no span, flagged.
    invented = next(s for s in note.symptoms if s.name == "chest pain")
    assert invented.start is None and invented.low_confidence
    cough = next(s for s in note.symptoms if s.name == "cough")
    assert TRANSCRIPT[cough.start : cough.end] == "cough for five days"
    assert note.sections.plan.sentences[0].text == "Start amlodipine 5 mg once daily."
    assert note.low_confidence_count == 1

    (path, headers, body) = llm.requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SOAP_JSON_SCHEMA
    assert TRANSCRIPT in body["messages"][-1]["content"]


def test_snapshot_model_is_priced_like_its_family(
    engine: OpenAiChatNoteEngine, llm: FakeLlm
) -> None:
    llm.mode = "served-by-snapshot"
    note = engine.generate(TRANSCRIPT)
    assert note.usage is not None and note.usage.cost_usd == pytest.approx(0.00042)


def test_unknown_model_has_no_cost_and_local_models_are_free(llm: FakeLlm) -> None:
    for model, expected in (("some-new-model", None), ("llama3.1:8b", 0.0)):
        e = OpenAiChatNoteEngine(llm.url + "/v1", model, None, timeout=PATIENT_SECONDS)
        note = e.generate(TRANSCRIPT)
        assert note.usage is not None and note.usage.cost_usd == expected
        assert "Authorization" not in llm.requests[-1][1]
        e.close()


@pytest.mark.parametrize("mode", ["500", "502", "503", "429"])
def test_server_errors_are_retryable(engine: OpenAiChatNoteEngine, llm: FakeLlm, mode: str) -> None:
    llm.mode = mode
    with pytest.raises(EngineUnavailable) as exc:
        engine.generate(TRANSCRIPT)
    assert exc.value.retryable


@pytest.mark.parametrize(
    "mode", ["not-json", "body-not-json", "schema", "bad-confidence", "truncated"]
)
def test_invalid_output_is_permanent(engine: OpenAiChatNoteEngine, llm: FakeLlm, mode: str) -> None:
    llm.mode = mode
    with pytest.raises(EngineOutputInvalid) as exc:
        engine.generate(TRANSCRIPT)
    assert not exc.value.retryable


@pytest.mark.parametrize("mode", ["401", "400"])
def test_rejected_request_is_permanent(
    engine: OpenAiChatNoteEngine, llm: FakeLlm, mode: str
) -> None:
    llm.mode = mode
    with pytest.raises(EngineRequestRejected) as exc:
        engine.generate(TRANSCRIPT)
    assert not exc.value.retryable


def test_timeout_is_retryable(llm: FakeLlm) -> None:
    llm.mode = "slow"
    impatient = OpenAiChatNoteEngine(llm.url, "gpt-4o-mini", SECRET, timeout=IMPATIENT_SECONDS)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match="timed out"):
        impatient.generate(TRANSCRIPT)
    # It gave up before the server answered, not after.
    assert time.monotonic() - started < SLOW_SECONDS - 0.5
    impatient.close()


def test_connection_dropped_is_retryable(engine: OpenAiChatNoteEngine, llm: FakeLlm) -> None:
    llm.mode = "hangup"
    with pytest.raises(EngineUnavailable):
        engine.generate(TRANSCRIPT)


def test_nothing_listening_is_retryable() -> None:
    e = OpenAiChatNoteEngine("http://127.0.0.1:9", "gpt-4o-mini", SECRET, timeout=IMPATIENT_SECONDS)
    with pytest.raises(EngineUnavailable):
        e.generate(TRANSCRIPT)
    e.close()


def test_never_logs_transcript_or_key(
    engine: OpenAiChatNoteEngine, llm: FakeLlm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    engine.generate(TRANSCRIPT)
    llm.mode = "500"
    with pytest.raises(EngineUnavailable) as exc:
        engine.generate(TRANSCRIPT)
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (SECRET, "cough for five days", "amlodipine"):
        assert secret not in logged
        assert secret not in str(exc.value)
    assert SECRET not in repr(engine)


def test_schema_is_strict() -> None:
    def objects(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for v in node.values():
                yield from objects(v)
        elif isinstance(node, list):
            for v in node:
                yield from objects(v)

    found = list(objects(SOAP_JSON_SCHEMA))
    assert len(found) > 5
    for obj in found:
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])


def test_loader_builds_the_configured_engine(llm: FakeLlm) -> None:
    clear_engine_cache()
    settings = Settings(
        note_engine="openai",
        llm_url=llm.url,
        llm_model="gpt-4o-mini",
        llm_api_key=SecretStr(SECRET),
    )
    engine = load_note_engine(settings)
    assert isinstance(engine, OpenAiChatNoteEngine)
    assert load_note_engine(settings) is engine
    note = engine.generate(TRANSCRIPT)
    assert note.engine == "openai"
    clear_engine_cache()
