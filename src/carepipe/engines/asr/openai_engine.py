"""Any OpenAI-compatible transcription server (OpenAI, faster-whisper-server, vLLM, ...).

``POST {base_url}/v1/audio/transcriptions`` as multipart (``file``, ``model``,
``response_format=verbose_json``). Error mapping, so the queue does the right thing:

- timeouts, connection errors, HTTP 5xx, 408 and 429 -> :class:`EngineUnavailable`
  (retryable);
- HTTP 400/415/422 whose error message is about the audio/file -> :class:`AudioUnreadable`;
- any other 4xx (bad key, unknown model, too large) -> :class:`AsrRequestRejected`;
- HTTP 200 whose body is not a transcription -> :class:`EngineOutputInvalid`.

Messages carry the status and the server's short error code only, never its free text
(which may quote the request) and never the key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from carepipe.core.errors import (
    AudioUnreadable,
    EngineOutputInvalid,
    EngineTimeout,
    EngineUnavailable,
)
from carepipe.engines.asr.audio import probe_seconds
from carepipe.engines.asr.errors import AsrRequestRejected
from carepipe.engines.asr.types import Segment, Transcript, real_time_factor

ENGINE_NAME = "openai"
DEFAULT_MODEL = "whisper-1"
_AUDIO_COMPLAINT = re.compile(
    r"audio|file|format|decod|corrupt|duration|unsupported|codec|invalid media", re.I
)
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")
# verbose_json reports the language by name; the rest of CarePipe uses ISO 639-1 codes.
_LANGUAGE_CODES = {
    "english": "en", "hindi": "hi", "spanish": "es", "french": "fr", "german": "de",
    "tamil": "ta", "telugu": "te", "bengali": "bn", "marathi": "mr", "urdu": "ur",
}  # fmt: skip
_MAGIC = (
    (b"RIFF", 0, "wav"),
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"),
    (b"\xff\xfb", 0, "mp3"),
    (b"\xff\xf3", 0, "mp3"),
    (b"\xff\xf2", 0, "mp3"),
    (b"ftyp", 4, "m4a"),
    (b"\x1aE\xdf\xa3", 0, "webm"),
)


def sniff_extension(audio: bytes, filename: str | None = None) -> str:
    """The file extension to announce: from ``filename`` if it has one, else the bytes."""
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if ext.isalnum() and len(ext) <= 5:
            return ext
    for magic, offset, ext in _MAGIC:
        if audio[offset : offset + len(magic)] == magic:
            return ext
    return "wav"


class OpenAiCompatibleAsrEngine:
    """Transcribes through a remote OpenAI-compatible ``/v1/audio/transcriptions``.

    One pooled ``httpx.Client`` per engine; safe to share between threads.
    """

    name = ENGINE_NAME

    def __init__(
        self,
        base_url: str,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        timeout_seconds: float = 120.0,
        language: str | None = "en",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise EngineUnavailable("the openai ASR engine needs CAREPIPE_ASR_URL")
        root = base_url.rstrip("/")
        # Accept both "https://host" and "https://host/v1" as the base URL.
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        self.url = f"{root}/v1/audio/transcriptions"
        self.model = model or DEFAULT_MODEL
        self.model_version = f"{ENGINE_NAME}/{self.model}"
        self.language = language
        self.server = urlsplit(root).netloc
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool (engines normally live as long as the process)."""
        self._client.close()

    def transcribe(
        self,
        audio: bytes,
        *,
        filename: str | None = None,
        vocabulary: Sequence[str] = (),
    ) -> Transcript:
        """Send ``audio`` to the server; the user's ``filename`` is reduced to its extension.

        (A file name can carry a patient's name; the server needs only the format.)
        ``vocabulary`` becomes the request's ``prompt`` (the API's only biasing input).
        """
        if not audio:
            raise AudioUnreadable("audio is empty (0 bytes)")
        ext = sniff_extension(audio, filename)
        data: dict[str, str] = {"model": self.model, "response_format": "verbose_json"}
        if self.language:
            data["language"] = self.language
        if vocabulary:
            data["prompt"] = ", ".join(vocabulary)
        started = time.perf_counter()
        try:
            response = self._client.post(
                self.url,
                data=data,
                files={"file": (f"audio.{ext}", audio, "application/octet-stream")},
            )
        except httpx.TimeoutException:
            raise EngineTimeout(f"ASR service {self.server} timed out") from None
        except httpx.TransportError as exc:
            raise EngineUnavailable(
                f"ASR service {self.server} unreachable ({type(exc).__name__})"
            ) from None
        elapsed = time.perf_counter() - started
        if response.status_code >= 300:
            raise _status_error(response, self.server)
        body = _json_body(response)
        return self._transcript(body, audio, elapsed)

    def _transcript(self, body: dict[str, Any], audio: bytes, elapsed: float) -> Transcript:
        text = body.get("text")
        if not isinstance(text, str):
            raise EngineOutputInvalid("ASR service answered without a text field")
        segments: list[Segment] = []
        for raw in body.get("segments") or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                raise EngineOutputInvalid("ASR service answered with malformed segments")
            try:
                segments.append(
                    Segment.from_logprob(
                        float(raw.get("start", 0.0)),
                        float(raw.get("end", 0.0)),
                        raw["text"],
                        None if raw.get("avg_logprob") is None else float(raw["avg_logprob"]),
                    )
                )
            except (TypeError, ValueError):
                raise EngineOutputInvalid("ASR service answered with malformed segments") from None
        seconds = _duration(body, audio)
        language = str(body.get("language") or self.language or "")
        return Transcript(
            text=text.strip(),
            segments=segments,
            language=_LANGUAGE_CODES.get(language.lower(), language),
            audio_seconds=round(seconds, 3),
            processing_seconds=round(elapsed, 4),
            rtf=real_time_factor(elapsed, seconds),
            engine=self.name,
            model_version=self.model_version,
            extra={"server": self.server},
        )


def _duration(body: dict[str, Any], audio: bytes) -> float:
    try:
        seconds = float(body.get("duration") or 0.0)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds > 0:
        return seconds
    try:
        return probe_seconds(audio)
    except AudioUnreadable:
        # The server decoded what we could not; the transcript stands, the RTF is unknown.
        return 0.0


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise EngineOutputInvalid("ASR service answered with non-JSON content") from None
    if not isinstance(body, dict):
        raise EngineOutputInvalid("ASR service answered with a non-object JSON body")
    return body


def _status_error(response: httpx.Response, server: str) -> Exception:
    status = response.status_code
    message, code = "", ""
    try:
        error = response.json().get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            for key in ("code", "type"):
                value = error.get(key)
                if isinstance(value, str) and _SAFE_CODE.match(value):
                    code = value
                    break
        elif isinstance(error, str):
            message = error
    except (ValueError, AttributeError):
        message = response.text[:500]
    tag = f"HTTP {status}" + (f", {code}" if code else "")
    if status >= 500 or status in (408, 429):
        return EngineUnavailable(f"ASR service {server} unavailable ({tag})")
    if status in (400, 415, 422) and _AUDIO_COMPLAINT.search(message + " " + code):
        return AudioUnreadable(f"ASR service rejected the audio ({tag})")
    return AsrRequestRejected(f"ASR service refused the request ({tag})")
