"""Speech after Whisper's last segment is decoded again, never dropped without a trace.

On a 24 s clip Whisper ended its only window with end-of-text at 17 s, and the plan said
last (two drugs with their doses) was lost while the quality checks saw nothing wrong (a
6.7 s tail is under truncated_end's 8 s). The engine now decodes such a tail on its own.

Whether Whisper ends early on this clip depends on the host's CPU kernels (it did on the
AMX host of 2026-11-28 afternoon, not on the AVX2-only host of that evening), so the first
test checks what the user gets on any host, the second hands the re-decode the early end
itself, on the real model and the real clip, and the third checks that what the note rests
on a re-decoded tail goes to review (the drugs where this host hears them, the diagnosis).
"""

from __future__ import annotations

import io
import wave
from dataclasses import replace

import pytest
from faster_whisper.audio import decode_audio

from carepipe.core.config import Settings
from carepipe.engines.asr.faster_whisper_engine import (
    SAMPLE_RATE,
    TAIL_REDECODE_SECONDS,
    FasterWhisperEngine,
)
from carepipe.engines.asr.types import Transcript
from carepipe.pipelines.scribe import draft_note, transcribe
from tests.engines.asr.conftest import needs_speech_tools, say

pytestmark = needs_speech_tools

PNEUMONIA = [
    (
        "en-029",
        161,
        "Your cough and fever have been going on for four days. Your temperature is thirty "
        "nine point one, respiratory rate twenty eight, saturation ninety percent, heart rate "
        "one hundred and six, and blood pressure ninety eight over sixty.",
    ),
    (
        "en-029",
        161,
        "The chest x-ray shows pneumonia. We'll give ceftriaxone two grams intravenously "
        "once daily and azithromycin five hundred milligrams once daily.",
    ),
]


@pytest.fixture(scope="module")
def heard(tmp_path_factory) -> tuple[Settings, Transcript]:
    tmp = tmp_path_factory.mktemp("tail")
    settings = Settings(_env_file=None, data_dir=tmp)  # type: ignore[call-arg]
    t = transcribe(settings, "demo", say(tmp, PNEUMONIA))
    with wave.open(str(tmp / "0.wav")) as first:  # the first turn, as espeak-ng wrote it
        turn_two = first.getnframes() / first.getframerate()
    return settings, replace(t, extra={**t.extra, "turn_two_from": turn_two})


def test_the_speech_after_an_early_end_of_text_is_transcribed(heard) -> None:
    _settings, t = heard
    last_end = max(s.end for s in t.segments)
    # Every second of speech up to the end is covered by a segment (the early end covered
    # 0.72 of the speech; with the pauses between sentences, 0.93-0.96 is covered when all
    # of it is heard)...
    assert t.extra["speech_end"] - last_end < TAIL_REDECODE_SECONDS
    assert t.extra["quality"]["metrics"]["time_coverage"] > 0.9
    # ...and the plan said last is in the text: both doses, in whatever form Whisper wrote.
    text = t.text.lower()
    assert "2 grams" in text or "two grams" in text
    assert "500 milligrams" in text
    assert "tail_redecoded_seconds" in t.extra


def test_an_early_end_of_text_is_decoded_again_from_where_it_stopped(
    tmp_path, whisper: FasterWhisperEngine
) -> None:
    samples = decode_audio(io.BytesIO(say(tmp_path, PNEUMONIA)), sampling_rate=SAMPLE_RATE)
    full, _info = whisper._decode(samples, None)
    # The early end of the AMX host: everything after the chest x-ray sentence unheard.
    early = [seg for seg in full if seg.end <= 17.0]
    assert early
    speech_end = len(samples) / SAMPLE_RATE
    covered, seconds = whisper._cover_tail(samples, early, speech_end, None)
    assert seconds > TAIL_REDECODE_SECONDS
    assert covered[: len(early)] == early
    # The plan said last is heard again (its words as well as this voice allows: decoded
    # alone, without the hotwords, "once daily and azithromycin" comes out garbled).
    tail = " ".join(seg.text for seg in covered[len(early) :]).lower()
    assert "intravenously" in tail and "500" in tail
    assert min(seg.start for seg in covered[len(early) :]) >= early[-1].end
    assert speech_end - max(seg.end for seg in covered) < TAIL_REDECODE_SECONDS


def test_what_the_note_takes_from_a_redecoded_tail_goes_to_review(heard) -> None:
    settings, t = heard
    # A tail re-decoded from the second turn on ("The chest x-ray shows pneumonia. We'll
    # give ..."), as the AMX host's was from about there.
    as_redecoded = replace(t, extra={**t.extra, "tail_from_seconds": t.extra["turn_two_from"]})
    note = draft_note(settings, as_redecoded)
    # What the recogniser makes of the drug names in the tail depends on the host's CPU
    # kernels (on the AMX host of 2026-11-29 "ceftriaxone" came out "f3xone" and no drug
    # was found), so the items said in the tail are the drugs and the diagnosis, and at
    # least one of them must be there; every vital was said in the first turn.
    said_in_tail = [*note.medications, *note.diagnoses]
    assert said_in_tail and note.vitals
    for item in said_in_tail:
        assert "asr_redecoded_tail" in item.flags and item.needs_review, item
    for v in note.vitals:
        assert "asr_redecoded_tail" not in v.flags, v
    # Heard in one pass, the same items carry no such flag.
    assert not any("asr_redecoded_tail" in i.flags for i in draft_note(settings, t).medications)
