"""The review flags for numbers the recogniser may have got wrong (docs/scribe.md,
"Confidence, flags and contradictions"), through the real correction, rules engine and
assessment. Word probabilities and pauses are given as Whisper reports them, in a
transcript built here, so each rule is tested on the signal it reads.
"""

from __future__ import annotations

import pytest

from carepipe.engines.asr.types import Segment, Transcript, Word
from carepipe.engines.nlp.correction import prepare, word_spans
from carepipe.engines.notes.assessment import assess
from carepipe.engines.notes.models import SoapNote
from carepipe.engines.notes.rules import RulesNoteEngine


@pytest.fixture(scope="module")
def engine() -> RulesNoteEngine:
    return RulesNoteEngine()


def heard(*words: tuple[str, float] | tuple[str, float, float]) -> Transcript:
    """A transcript of ``(word, probability[, pause before it in seconds])``."""
    out, t = [], 0.0
    for w in words:
        token, p = w[0], w[1]
        t += w[2] if len(w) > 2 else 0.05  # type: ignore[misc]
        out.append(Word(t, t + 0.3, f" {token}", p))
        t += 0.3
    text = " ".join(w[0] for w in words)
    seg = Segment.from_logprob(0.0, t, text, -0.3, words=tuple(out))
    return Transcript(text, [seg], "en", t, 0.1, 0.01, "test", "test")


def note_of(engine: RulesNoteEngine, t: Transcript) -> SoapNote:
    prepared = prepare(t.text, word_spans(t))
    note, _ = assess(engine.generate(prepared.text), prepared)
    return note


def sure(text: str) -> list[tuple[str, float]]:
    return [(w, 0.97) for w in text.split()]


def vital(note: SoapNote, kind: str):  # type: ignore[no-untyped-def]
    items = [v for v in note.vitals if v.kind == kind]
    assert len(items) == 1, [(v.kind, v.value_text) for v in note.vitals]
    return items[0]


def test_a_clearly_heard_vital_is_trusted(engine):
    # The flags must not swallow everything: a plain, confidently heard reading passes.
    hr = vital(note_of(engine, heard(*sure("Your heart rate is 76 and regular."))), "heart_rate")
    assert hr.value == 76 and not hr.flags
    assert hr.confidence >= 0.9 and not hr.needs_review


def test_unclear_digits_send_the_vital_to_review(engine):
    # Telephone audio: "one twenty four over seventy eight" heard as "124 over 58." with the
    # diastolic at probability 0.29.
    words = [*sure("Your blood pressure is 124 over"), ("58.", 0.29)]
    bp = vital(note_of(engine, heard(*words)), "blood_pressure")
    assert bp.components == {"systolic": 124, "diastolic": 58}
    assert "unclear_number" in bp.flags
    assert bp.needs_review and bp.confidence < 0.9


def test_a_number_right_after_the_value_sends_it_to_review(engine):
    # "one hundred and six" heard as "100," + a pause + "and six": too long a pause to join,
    # so the extractor reads 100, and the "and six" after it is the warning.
    words = [*sure("Your heart rate is 100,"), ("and", 0.9, 0.6), *sure("six, and blood pressure")]
    hr = vital(note_of(engine, heard(*words)), "heart_rate")
    assert hr.value == 100
    assert "number_continues" in hr.flags
    assert hr.needs_review and hr.confidence < 0.9


def test_thousands_after_a_vital_are_a_continuation(engine):
    hr = vital(note_of(engine, heard(*sure("His heart rate is 100,000 daily."))), "heart_rate")
    assert "number_continues" in hr.flags and hr.needs_review


def test_a_list_of_vitals_is_not_a_continuation(engine):
    note = note_of(engine, heard(*sure("Pulse 76, temperature 36.8, saturation 97%.")))
    for v in note.vitals:
        assert "number_continues" not in v.flags, (v.kind, v.flags)
    assert not vital(note, "heart_rate").needs_review


def test_a_round_hundred_may_have_lost_its_tail(engine):
    # Issue 11: "one hundred and one" -> temperature 100 F.
    temp = vital(
        note_of(engine, heard(*sure("Your temperature is 100 Fahrenheit."))), "temperature"
    )
    assert temp.value == 100 and "round_hundred" in temp.flags and temp.needs_review


def test_a_saturation_of_100_percent_is_whole(engine):
    spo2 = vital(note_of(engine, heard(*sure("Your saturation is 100%."))), "spo2")
    assert "round_hundred" not in spo2.flags


def test_a_joined_hundred_offers_the_teen_reading(engine):
    # "one hundred and eighteen" heard as "100, and 80": joined to 180 as heard (and flagged as
    # a correction); the reviewer is offered 118, never given it silently.
    hr = vital(note_of(engine, heard(*sure("Your heart rate is 100, and 80"))), "heart_rate")
    assert hr.value == 180
    assert {"asr_corrected:number_form", "value_maybe:118"} <= set(hr.flags)
    assert hr.needs_review and hr.confidence < 0.9


def test_an_unclear_dose_is_flagged_and_a_clear_one_is_not(engine):
    unclear = [("Take", 0.9), ("ibuprofen", 0.95), ("400", 0.3), *sure("milligrams twice a day.")]
    med = note_of(engine, heard(*unclear)).medications[0]
    assert med.dose == 400 and "unclear_number" in med.flags and med.needs_review
    clear = note_of(engine, heard(*sure("Take ibuprofen 400 milligrams twice a day.")))
    assert "unclear_number" not in clear.medications[0].flags


def test_a_medication_duration_is_not_a_continuation(engine):
    text = "Take amoxicillin 500 milligrams three times a day for 5 days."
    med = note_of(engine, heard(*sure(text))).medications[0]
    assert med.dose == 500 and "number_continues" not in med.flags
