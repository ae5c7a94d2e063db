"""Is this transcript trustworthy as a whole? Coverage and hallucination checks.

A recogniser can fail without an error: it stops early and returns a fraction of what was
said, loops on one phrase ("1.10, 1.10, 1.10"), or invents text over silence. Each check
below turns one of those into a named reason; a transcript with any reason is *suspect*
and the scribe pipeline never sends it on as a silent success (review, or a dead letter
``asr_suspect`` for tenants without review).

Checks (thresholds measured on the scribe dev clips; see docs/scribe.md):

- ``low_coverage``: fewer words than ``MIN_WORDS_PER_SPEECH_MINUTE`` per minute of speech
  the VAD found (conversational speech runs at 120-200 words per minute; a truncated
  decode leaves far fewer), or the segments cover under ``MIN_TIME_COVERAGE`` of it, or
  speech the engine found skipped between two segments stayed unheard (its re-decode
  looped: ``extra["holes_unheard_seconds"]``);
- ``truncated_end``: the last segment ends well before the last speech, or the engine
  decoded the speech after it again and had to drop that tail (it looped);
- ``repetition_loop``: a segment's gzip compression ratio above ``MAX_COMPRESSION_RATIO``
  (Whisper's own hallucination signal), or one to four words repeated
  ``LOOP_REPEATS`` times in a row;
- ``no_speech``: a segment Whisper itself thinks is silence (``no_speech_prob`` above 0.6)
  with a low log-probability: text invented over silence;
- ``low_confidence``: the mean word probability (or segment confidence) under
  ``MIN_MEAN_CONFIDENCE``.

Beside the reasons, the report carries ``flags`` for monitoring and the review page
(issue 14): ``hallucination_suspected`` (a ``repetition_loop`` or ``no_speech`` reason) and
``low_snr`` (the recording's SNR estimate, :mod:`carepipe.engines.asr.audio_quality`,
under ``low_snr_db``). Low SNR alone does not make a transcript suspect: a noisy room is
a reason to listen, not a failed decode. ``narrowband`` (bandwidth under
``NARROWBAND_HZ``: a telephone recording) is not suspect either, but the note stage sends
every heard number of a narrowband recording to review. ``segments`` lists the segments
that tripped a per-segment check with their Whisper signals (times and numbers, never text), and
``metrics`` adds the per-segment ``avg_logprob`` and ``no_speech_prob`` extremes and the
audio's ``snr_db``, ``speech_ratio`` and ``bandwidth_hz`` when the engine measured them.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from carepipe.engines.asr.audio_quality import LOW_SNR_DB, NARROWBAND_HZ
from carepipe.engines.asr.types import Segment, Transcript

MIN_WORDS_PER_SPEECH_MINUTE = 70.0
MIN_TIME_COVERAGE = 0.55
MAX_TAIL_GAP_SECONDS = 8.0
MAX_COMPRESSION_RATIO = 2.4
LOOP_REPEATS = 4
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0
MIN_MEAN_CONFIDENCE = 0.45
#: Below this much speech the rate checks say nothing (a 3-second clip is not a consultation).
MIN_SPEECH_SECONDS = 8.0

_TOKEN_RE = re.compile(r"[\w.'%/-]+")


@dataclass
class QualityReport:
    """The verdict on one transcript: ``suspect`` when any reason was found."""

    suspect: bool
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no transcript text: safe for job results and logs)."""
        return asdict(self)


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes of its zlib compression (Whisper's loop signal)."""
    raw = text.encode("utf-8")
    if not raw:
        return 0.0
    return len(raw) / len(zlib.compress(raw))


def longest_repeat(text: str, max_n: int = 4) -> tuple[int, str]:
    """The most times a run of 1..``max_n`` tokens repeats back to back, and the run."""
    toks = [t.lower().strip(".,") for t in _TOKEN_RE.findall(text)]
    best, run_text = 1, ""
    for n in range(1, max_n + 1):
        i = 0
        while i + n <= len(toks):
            gram = toks[i : i + n]
            k = 1
            while toks[i + k * n : i + (k + 1) * n] == gram:
                k += 1
            if k > best:
                best, run_text = k, " ".join(gram)
            i += max(1, (k - 1) * n) if k > 1 else 1
    return best, run_text


def assess(transcript: Transcript, *, low_snr_db: float = LOW_SNR_DB) -> QualityReport:
    """Run every check on ``transcript`` (see the module docstring).

    ``low_snr_db``: recordings whose SNR estimate (``extra["audio"]["snr_db"]``, when the
    engine measured it) is below this are flagged ``low_snr``.
    """
    reasons: list[str] = []
    segments = transcript.segments
    words = len(_TOKEN_RE.findall(transcript.text))
    speech = float(transcript.extra.get("speech_seconds") or transcript.audio_seconds or 0.0)
    covered = sum(max(0.0, s.end - s.start) for s in segments)
    last_end = max((s.end for s in segments), default=0.0)
    speech_end = float(transcript.extra.get("speech_end") or 0.0)
    metrics: dict[str, float] = {
        "words": float(words),
        "speech_seconds": round(speech, 2),
        "words_per_speech_minute": round(words / (speech / 60.0), 1) if speech > 0 else 0.0,
        "time_coverage": round(min(covered / speech, 9.99), 3) if speech > 0 else 0.0,
    }
    if speech >= MIN_SPEECH_SECONDS:
        if (
            metrics["words_per_speech_minute"] < MIN_WORDS_PER_SPEECH_MINUTE
            or metrics["time_coverage"] < MIN_TIME_COVERAGE
        ):
            reasons.append("low_coverage")
        unheard = float(transcript.extra.get("tail_unheard_seconds") or 0.0)
        if unheard > 0 or (speech_end and speech_end - last_end > MAX_TAIL_GAP_SECONDS):
            reasons.append("truncated_end")
        # Speech Whisper jumped over mid-recording whose re-decode looped and was dropped.
        holes = float(transcript.extra.get("holes_unheard_seconds") or 0.0)
        if holes > 0 and "low_coverage" not in reasons:
            reasons.append("low_coverage")
    elif speech > 0 and words == 0:
        reasons.append("low_coverage")

    ratios = [s.compression_ratio for s in segments if s.compression_ratio is not None]
    ratios += [compression_ratio(s.text) for s in segments if len(s.text) >= 40]
    worst_ratio = max(ratios, default=0.0)
    repeats, _ = longest_repeat(transcript.text)
    metrics["max_compression_ratio"] = round(worst_ratio, 3)
    metrics["max_repeats"] = float(repeats)
    if worst_ratio > MAX_COMPRESSION_RATIO or repeats >= LOOP_REPEATS:
        reasons.append("repetition_loop")

    silent = [
        s
        for s in segments
        if s.no_speech_prob is not None
        and s.no_speech_prob > NO_SPEECH_PROB
        and (s.avg_logprob is None or s.avg_logprob < NO_SPEECH_LOGPROB)
    ]
    metrics["no_speech_segments"] = float(len(silent))
    if silent:
        reasons.append("no_speech")

    probs = [w.probability for s in segments for w in s.words]
    mean_conf = sum(probs) / len(probs) if probs else transcript.confidence
    metrics["mean_word_confidence"] = round(mean_conf, 3)
    if segments and mean_conf < MIN_MEAN_CONFIDENCE:
        reasons.append("low_confidence")

    flags, flagged = _signals(transcript, reasons, metrics, low_snr_db)
    return QualityReport(
        suspect=bool(reasons), reasons=reasons, metrics=metrics, flags=flags, segments=flagged
    )


def segment_reasons(segment: Segment) -> list[str]:
    """Which of Whisper's per-segment signals ``segment`` trips (names, no text)."""
    out: list[str] = []
    ratio = segment.compression_ratio
    if ratio is None and len(segment.text) >= 40:
        ratio = compression_ratio(segment.text)
    if ratio is not None and ratio > MAX_COMPRESSION_RATIO:
        out.append("high_compression_ratio")
    if (
        segment.no_speech_prob is not None
        and segment.no_speech_prob > NO_SPEECH_PROB
        and (segment.avg_logprob is None or segment.avg_logprob < NO_SPEECH_LOGPROB)
    ):
        out.append("no_speech")
    elif segment.avg_logprob is not None and segment.avg_logprob < NO_SPEECH_LOGPROB:
        out.append("low_logprob")
    return out


def _signals(
    transcript: Transcript, reasons: list[str], metrics: dict[str, float], low_snr_db: float
) -> tuple[list[str], list[dict[str, Any]]]:
    """The monitoring flags, the flagged segments, and the extra metrics (into ``metrics``)."""
    segments = transcript.segments
    logprobs = [s.avg_logprob for s in segments if s.avg_logprob is not None]
    no_speech = [s.no_speech_prob for s in segments if s.no_speech_prob is not None]
    if logprobs:
        metrics["min_avg_logprob"] = round(min(logprobs), 3)
        metrics["mean_avg_logprob"] = round(sum(logprobs) / len(logprobs), 3)
    if no_speech:
        metrics["max_no_speech_prob"] = round(max(no_speech), 4)
    flags: list[str] = []
    if {"repetition_loop", "no_speech"} & set(reasons):
        flags.append("hallucination_suspected")
    audio = transcript.extra.get("audio") or {}
    if "snr_db" in audio:
        metrics["snr_db"] = float(audio["snr_db"])
        metrics["speech_ratio"] = float(audio.get("speech_ratio") or 0.0)
        if metrics["snr_db"] < low_snr_db:
            flags.append("low_snr")
    if audio.get("bandwidth_hz"):
        metrics["bandwidth_hz"] = float(audio["bandwidth_hz"])
        if metrics["bandwidth_hz"] < NARROWBAND_HZ:
            flags.append("narrowband")
    flagged = [
        {
            "index": i,
            "start": s.start,
            "end": s.end,
            "avg_logprob": s.avg_logprob,
            "compression_ratio": s.compression_ratio,
            "no_speech_prob": s.no_speech_prob,
            "reasons": why,
        }
        for i, s in enumerate(segments)
        if (why := segment_reasons(s))
    ]
    return flags, flagged
