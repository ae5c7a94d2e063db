"""What an ASR engine returns, and the Protocol every engine implements.

``Transcript`` is a plain dataclass with ``to_dict``/``from_dict`` so the ``asr`` stage can
store it as JSON and the ``note`` stage (another task, maybe another machine) can load it
back unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


def confidence_from_logprob(avg_logprob: float | None) -> float:
    """Map a segment's mean token log-probability to a 0..1 confidence.

    ``exp(avg_logprob)`` is the geometric-mean token probability: 0 dB (logprob 0) is 1.0,
    Whisper's own "low confidence" threshold of -1.0 is about 0.37. ``None`` (an engine that
    reports nothing) gives 0.0 so unknown never reads as certain.
    """
    if avg_logprob is None or math.isnan(avg_logprob):
        return 0.0
    return max(0.0, min(1.0, math.exp(min(0.0, avg_logprob))))


@dataclass(frozen=True)
class Word:
    """One recognised word: times in seconds, and the decoder's probability for it."""

    start: float
    end: float
    text: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: times in seconds from the start of the audio.

    ``words`` (with timestamps and probabilities), ``compression_ratio`` and
    ``no_speech_prob`` are filled by engines that report them (faster-whisper does);
    transcripts stored before they existed load with the defaults.
    """

    start: float
    end: float
    text: str
    avg_logprob: float | None
    confidence: float
    words: tuple[Word, ...] = ()
    compression_ratio: float | None = None
    no_speech_prob: float | None = None

    @classmethod
    def from_logprob(
        cls,
        start: float,
        end: float,
        text: str,
        avg_logprob: float | None,
        *,
        words: tuple[Word, ...] = (),
        compression_ratio: float | None = None,
        no_speech_prob: float | None = None,
    ) -> Segment:
        """A segment whose confidence is derived from ``avg_logprob``."""
        return cls(
            start=round(float(start), 3),
            end=round(float(end), 3),
            text=text.strip(),
            avg_logprob=None if avg_logprob is None else float(avg_logprob),
            confidence=round(confidence_from_logprob(avg_logprob), 4),
            words=words,
            compression_ratio=None if compression_ratio is None else round(compression_ratio, 3),
            no_speech_prob=None if no_speech_prob is None else round(no_speech_prob, 4),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        """The inverse of ``asdict`` (words back to :class:`Word`)."""
        body = dict(data)
        body["words"] = tuple(Word(**w) for w in body.get("words") or ())
        return cls(**body)


@dataclass(frozen=True)
class Transcript:
    """The whole recording's text, its segments and how long recognition took.

    ``rtf`` (real-time factor) is ``processing_seconds / audio_seconds``: 0.1 means ten
    times faster than real time.
    """

    text: str
    segments: list[Segment]
    language: str
    audio_seconds: float
    processing_seconds: float
    rtf: float
    engine: str
    model_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        """Every word of every segment, in order (empty when the engine gives none)."""
        return [w for s in self.segments for w in s.words]

    @property
    def confidence(self) -> float:
        """Duration-weighted mean of the segment confidences (0.0 with no segments)."""
        weighted = [(max(s.end - s.start, 0.01), s.confidence) for s in self.segments]
        total = sum(w for w, _ in weighted)
        return sum(w * c for w, c in weighted) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the ``asr`` stage stores)."""
        body = asdict(self)
        body["confidence"] = round(self.confidence, 4)
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """The inverse of :meth:`to_dict` (ignores the derived ``confidence``)."""
        return cls(
            text=data["text"],
            segments=[Segment.from_dict(s) for s in data.get("segments", [])],
            language=data.get("language", ""),
            audio_seconds=float(data["audio_seconds"]),
            processing_seconds=float(data["processing_seconds"]),
            rtf=float(data["rtf"]),
            engine=data["engine"],
            model_version=data["model_version"],
            extra=dict(data.get("extra") or {}),
        )


def real_time_factor(processing_seconds: float, audio_seconds: float) -> float:
    """``processing / audio`` rounded to 4 places; 0.0 when the audio length is unknown."""
    if audio_seconds <= 0:
        return 0.0
    return round(processing_seconds / audio_seconds, 4)


@runtime_checkable
class AsrEngine(Protocol):
    """Turns consultation audio (WAV, MP3, M4A, FLAC, OGG bytes) into a :class:`Transcript`.

    Implementations raise :class:`carepipe.core.errors.AudioUnreadable` for input that is
    not decodable audio (permanent), and :class:`carepipe.core.errors.EngineUnavailable`
    when the engine itself cannot run right now (retryable). They may be called from
    several threads at once.
    """

    name: str
    model_version: str

    def transcribe(
        self,
        audio: bytes,
        *,
        filename: str | None = None,
        vocabulary: Sequence[str] = (),
    ) -> Transcript:
        """Transcribe ``audio``; ``vocabulary`` lists words to favour (drug names...)."""
        ...
