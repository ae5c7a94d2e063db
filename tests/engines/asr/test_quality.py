"""Transcript coverage and hallucination checks: unit cases, then real clips cut and looped
with sox through the real engine."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from carepipe.engines.asr.quality import assess, compression_ratio, longest_repeat
from carepipe.engines.asr.types import Segment, Transcript, Word
from tests.engines.asr.conftest import DATA
from tests.support.doctored_audio import looped_clip


def _t(segments: list[Segment], *, speech: float, speech_end: float = 0.0) -> Transcript:
    return Transcript(
        text=" ".join(s.text for s in segments),
        segments=segments,
        language="en",
        audio_seconds=speech,
        processing_seconds=1.0,
        rtf=0.1,
        engine="test",
        model_version="test",
        extra={"speech_seconds": speech, "speech_end": speech_end or speech},
    )


def _seg(start: float, end: float, text: str, *, p: float = 0.9, logprob: float = -0.2, **kw):
    words = tuple(
        Word(start + i * 0.3, start + i * 0.3 + 0.25, " " + w, p)
        for i, w in enumerate(text.split())
    )
    return Segment.from_logprob(start, end, text, logprob, words=words, **kw)


NORMAL = (
    "Your blood pressure is one forty over ninety and your pulse is eighty eight. "
    "I'll start amlodipine five milligrams once a day. Come back in four weeks."
)


def test_a_normal_transcript_passes():
    report = assess(_t([_seg(0, 12, NORMAL)], speech=12))
    assert not report.suspect, report


def test_a_loop_is_caught():
    looped = "heart rate 1.10, " * 12
    assert longest_repeat(looped)[0] >= 4 and compression_ratio(looped) > 2.4
    report = assess(_t([_seg(0, 12, NORMAL), _seg(12, 30, looped)], speech=30))
    assert "repetition_loop" in report.reasons


def test_a_transcript_that_stops_early_is_caught():
    report = assess(_t([_seg(0, 8, NORMAL)], speech=40, speech_end=52))
    assert {"low_coverage", "truncated_end"} <= set(report.reasons)


def test_text_over_silence_and_low_confidence_are_caught():
    silent = _seg(0, 10, NORMAL, no_speech_prob=0.9, logprob=-1.4, p=0.2)
    report = assess(_t([silent], speech=10))
    assert {"no_speech", "low_confidence"} <= set(report.reasons)


def _sox(*args: str) -> None:
    subprocess.run(["sox", "-R", "-D", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def doctored(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("sox")
    src = str(DATA / "c01.wav")
    looped_clip(tmp / "looped.wav")
    # Cut: the first 8 s as recorded, the rest 40 dB down (speech the VAD hears and the
    # recogniser drops): the transcript stops at 8 s while the consultation goes on.
    _sox(src, str(tmp / "head.wav"), "trim", "0", "8")
    _sox(src, str(tmp / "tail.wav"), "trim", "8", "vol", "0.01")
    _sox(str(tmp / "head.wav"), str(tmp / "tail.wav"), str(tmp / "cut.wav"))
    return {"looped": tmp / "looped.wav", "cut": tmp / "cut.wav"}


def test_real_looped_clip_is_suspect(whisper, doctored):
    t = whisper.transcribe(doctored["looped"].read_bytes())
    report = assess(t)
    # Whisper either writes the loop out (caught by compression ratio / repeats) or, after
    # its own temperature fallbacks, gives up on the windows (caught as missing coverage).
    assert report.suspect and {"repetition_loop", "low_coverage"} & set(report.reasons), report


def test_real_cut_clip_is_heard_to_the_end_or_suspect(whisper, doctored):
    # The speech after 8 s is 40 dB down: Whisper's first decode stops at 8 s. Never a
    # silent loss: the engine decodes the rest again on its own (and must then cover it to
    # the end), or the transcript is flagged ``truncated_end``.
    t = whisper.transcribe(doctored["cut"].read_bytes())
    report = assess(t)
    last_end = max(s.end for s in t.segments)
    recovered = t.extra["tail_redecoded_seconds"] > 0 and last_end > 8.0 + 2.0
    assert recovered or (report.suspect and "truncated_end" in report.reasons), report
    if recovered:
        assert t.extra["speech_end"] - last_end < 2.0


def test_a_tail_the_engine_had_to_drop_makes_the_transcript_suspect():
    # The engine drops a re-decoded tail that looped and says how many seconds went unheard.
    said = "she has had a cough for three days with fever and no chest pain " * 2
    t = Transcript(
        text=said,
        segments=[Segment.from_logprob(0.0, 20.0, said, -0.2)],
        language="en",
        audio_seconds=30.0,
        processing_seconds=1.0,
        rtf=0.1,
        engine="faster-whisper",
        model_version="m",
        extra={"speech_seconds": 29.0, "speech_end": 24.0, "tail_unheard_seconds": 4.0},
    )
    report = assess(t)
    assert "truncated_end" in report.reasons
    t.extra["tail_unheard_seconds"] = 0.0
    assert "truncated_end" not in assess(t).reasons  # a 4 s gap alone is under 8 s


def test_the_intact_clip_is_not_suspect(whisper):
    t = whisper.transcribe((DATA / "c01.wav").read_bytes())
    assert not assess(t).suspect
