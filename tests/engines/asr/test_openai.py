"""The OpenAI-compatible engine against a real HTTP test double on 127.0.0.1.

``TranscriptionTestDouble`` is a stand-in for an OpenAI-compatible transcription server
(a ``http.server`` in a thread): it parses the multipart request for real and answers
according to the mode a test sets.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from carepipe.core.errors import AudioUnreadable, EngineOutputInvalid, EngineUnavailable
from carepipe.engines.asr import AsrRequestRejected, Transcript
from carepipe.engines.asr.openai_engine import OpenAiCompatibleAsrEngine, sniff_extension
from tests.engines.asr.conftest import clip

API_KEY = "sk-test-double-0123456789"
# The engine waits this long for the double: far above what it needs, because a loaded
# 2-core CI host has taken over half a second to answer a plain local request. Only the
# timeout test is impatient, against a double that sleeps well past its timeout.
PATIENT_SECONDS = 10.0
IMPATIENT_SECONDS = 0.75
SLOW_SECONDS = 3.0


class TranscriptionTestDouble:
    """Test double of ``POST /v1/audio/transcriptions``; records every request."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                double.requests.append(double.parse(self.path, dict(self.headers), body))
                status, payload, content_type = double.answer()
                if double.mode == "slow":
                    time.sleep(SLOW_SECONDS)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def parse(path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        head = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                fields[name] = {"filename": part.get_filename(), "bytes": part.get_content()}
            else:
                fields[name] = part.get_content()
        return {"path": path, "auth": headers.get("Authorization"), "fields": fields}

    def answer(self) -> tuple[int, Any, str]:
        audio = self.requests[-1]["fields"]["file"]["bytes"]
        mode = self.mode
        if mode in ("ok", "slow"):
            return (
                200,
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": 12.5,
                    "text": " Blood pressure is 140/90. Pulse 88. ",
                    "segments": [
                        {"id": 0, "start": 0.0, "end": 4.2, "text": " Blood pressure is 140/90.",
                         "avg_logprob": -0.2, "no_speech_prob": 0.01},
                        {"id": 1, "start": 4.2, "end": 6.0, "text": " Pulse 88.",
                         "avg_logprob": -1.1, "no_speech_prob": 0.02},
                    ],
                    "received_bytes": len(audio),
                },
                "application/json",
            )  # fmt: skip
        if mode == "text_only":
            return 200, {"text": "Pulse eighty eight."}, "application/json"
        if mode == "500":
            return (
                500,
                {"error": {"message": "internal", "type": "server_error"}},
                "application/json",
            )
        if mode == "429":
            return (
                429,
                {"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
                "application/json",
            )
        if mode == "bad_audio":
            return (
                400,
                {"error": {"message": "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'wav']",
                           "type": "invalid_request_error", "code": "invalid_value"}},
                "application/json",
            )  # fmt: skip
        if mode == "401":
            return (
                401,
                {"error": {"message": f"Incorrect API key provided: {API_KEY}", "code": "invalid_api_key"}},
                "application/json",
            )  # fmt: skip
        if mode == "unknown_model":
            return (
                404,
                {"error": {"message": "model not found", "code": "model_not_found"}},
                "application/json",
            )
        if mode == "html":
            return 200, b"<html>proxy login</html>", "text/html"
        raise AssertionError(mode)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def double() -> Iterator[TranscriptionTestDouble]:
    server = TranscriptionTestDouble()
    yield server
    server.close()


@pytest.fixture
def engine(double: TranscriptionTestDouble) -> Iterator[OpenAiCompatibleAsrEngine]:
    double.mode = "ok"
    double.requests.clear()
    eng = OpenAiCompatibleAsrEngine(
        double.url + "/v1",
        model="whisper-large-v3",
        api_key=API_KEY,
        timeout_seconds=PATIENT_SECONDS,
    )
    yield eng
    eng.close()


def test_success_parses_verbose_json(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    audio = clip("c01.flac")
    t = engine.transcribe(audio, filename="Jane_Doe_consult.flac")
    assert isinstance(t, Transcript)
    assert t.text == "Blood pressure is 140/90. Pulse 88."
    assert [s.text for s in t.segments] == ["Blood pressure is 140/90.", "Pulse 88."]
    assert t.segments[0].confidence > t.segments[1].confidence
    assert t.segments[1].confidence == pytest.approx(0.3329, abs=1e-3)  # exp(-1.1)
    assert (t.language, t.audio_seconds, t.engine) == ("en", 12.5, "openai")
    assert t.model_version == "openai/whisper-large-v3"
    assert t.rtf == pytest.approx(t.processing_seconds / 12.5, abs=1e-4)

    request = double.requests[-1]
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["auth"] == f"Bearer {API_KEY}"
    fields = request["fields"]
    assert fields["model"] == "whisper-large-v3"
    assert fields["response_format"] == "verbose_json"
    assert fields["language"] == "en"
    assert fields["file"]["bytes"] == audio
    # The patient's name in the upload's file name never leaves CarePipe.
    assert fields["file"]["filename"] == "audio.flac"


def test_text_only_answer_gets_duration_from_the_audio(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    double.mode = "text_only"
    t = engine.transcribe(clip("c01.ogg"))
    assert t.text == "Pulse eighty eight."
    assert t.segments == []
    assert t.audio_seconds == pytest.approx(10.0, abs=0.1)
    assert double.requests[-1]["fields"]["file"]["filename"] == "audio.ogg"


@pytest.mark.parametrize("mode", ["500", "429"])
def test_server_errors_are_retryable(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble, mode: str
) -> None:
    double.mode = mode
    with pytest.raises(EngineUnavailable) as info:
        engine.transcribe(clip("c01.flac"))
    assert info.value.retryable is True
    assert f"HTTP {mode}" in info.value.message


def test_timeout_is_retryable(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    double.mode = "slow"
    impatient = OpenAiCompatibleAsrEngine(
        double.url + "/v1", model="whisper-large-v3", timeout_seconds=IMPATIENT_SECONDS
    )
    started = time.perf_counter()
    with pytest.raises(EngineUnavailable, match="timed out") as info:
        impatient.transcribe(clip("c01.flac"))
    # It gave up at its own timeout, before the double answered.
    assert time.perf_counter() - started < SLOW_SECONDS - 0.5
    assert info.value.retryable is True
    impatient.close()


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    eng = OpenAiCompatibleAsrEngine(f"http://127.0.0.1:{port}", timeout_seconds=2)
    with pytest.raises(EngineUnavailable, match="unreachable"):
        eng.transcribe(clip("c01.flac"))


def test_bad_audio_is_permanent(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    double.mode = "bad_audio"
    with pytest.raises(AudioUnreadable) as info:
        engine.transcribe(clip("corrupt.wav"))
    assert info.value.retryable is False
    assert "HTTP 400" in info.value.message


@pytest.mark.parametrize(
    ("mode", "code"), [("401", "invalid_api_key"), ("unknown_model", "model_not_found")]
)
def test_other_4xx_is_permanent_and_never_echoes_the_key(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble, mode: str, code: str
) -> None:
    double.mode = mode
    with pytest.raises(AsrRequestRejected) as info:
        engine.transcribe(clip("c01.flac"))
    assert info.value.retryable is False
    assert code in info.value.message
    assert API_KEY not in str(info.value)


def test_non_json_success_is_invalid_output(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    double.mode = "html"
    with pytest.raises(EngineOutputInvalid):
        engine.transcribe(clip("c01.flac"))


def test_empty_audio_is_refused_before_any_request(
    engine: OpenAiCompatibleAsrEngine, double: TranscriptionTestDouble
) -> None:
    with pytest.raises(AudioUnreadable):
        engine.transcribe(b"")
    assert double.requests == []


@pytest.mark.parametrize(
    ("name", "filename", "ext"),
    [("c01.wav", None, "wav"), ("c01.flac", None, "flac"), ("c01.ogg", None, "ogg"),
     ("c01.mp3", None, "mp3"), ("c01.wav", "visit.M4A", "m4a")],
)  # fmt: skip
def test_extension_sniffing(name: str, filename: str | None, ext: str) -> None:
    assert sniff_extension(clip(name), filename) == ext
