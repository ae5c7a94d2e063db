"""Sentence segmentation of (un)punctuated transcripts and S/O/A/P placement."""

from __future__ import annotations

import pytest

from carepipe.engines.notes.sections import SentenceFeatures, place
from carepipe.engines.notes.segment import segment


def texts(t: str) -> list[str]:
    return [s.text for s in segment(t)]


def test_punctuated_text_splits_on_sentence_ends_not_decimals() -> None:
    assert texts("Temp is 38.2 today. Pulse 90! Any cough? No") == [
        "Temp is 38.2 today.",
        "Pulse 90!",
        "Any cough?",
        "No",
    ]


def test_spans_point_into_the_text() -> None:
    t = "  Hello there.   Second one;third  "
    for s in segment(t):
        assert t[s.start : s.end] == s.text
        assert s.text == s.text.strip()


def test_speaker_labels() -> None:
    segs = segment("Doctor: How are you? Patient: I have a cough. Doctor: Okay.")
    assert [(s.speaker, s.text) for s in segs] == [
        ("doctor", "How are you?"),
        ("patient", "I have a cough."),
        ("doctor", "Okay."),
    ]


def test_run_on_asr_text_splits_at_discourse_cues() -> None:
    t = (
        "i have had a cough for three days and some fever at night okay so let me check your "
        "chest your temperature is thirty eight i think this is a chest infection i will "
        "prescribe amoxicillin five hundred three times a day come back in one week"
    )
    parts = texts(t)
    assert len(parts) >= 4
    assert parts[0].startswith("i have had a cough")
    assert any(p.startswith("i think this is") for p in parts)
    assert any(p.startswith("come back") for p in parts)
    # Nothing is lost or reordered.
    assert " ".join(parts).split() == t.split()


def test_short_runs_are_not_split() -> None:
    assert texts("so take it twice a day") == ["so take it twice a day"]


@pytest.mark.parametrize(
    ("sentence", "feats", "speaker", "expected"),
    [
        (
            "I have had a headache for two weeks",
            SentenceFeatures(symptoms=1),
            "patient",
            "subjective",
        ),
        ("Your blood pressure is 140 over 90", SentenceFeatures(vitals=1), None, "objective"),
        ("On examination the chest is clear", SentenceFeatures(), None, "objective"),
        ("I think this is a viral infection", SentenceFeatures(diagnoses=1), None, "assessment"),
        ("I will start amlodipine 5 mg once a day", SentenceFeatures(meds_new=1), None, "plan"),
        ("Come back in two weeks", SentenceFeatures(follow_up=1), None, "plan"),
        ("She is allergic to penicillin", SentenceFeatures(allergies=1), None, "subjective"),
        ("We will get an x-ray of the chest", SentenceFeatures(), None, "plan"),
    ],
)
def test_placement(
    sentence: str, feats: SentenceFeatures, speaker: str | None, expected: str
) -> None:
    p = place(sentence, feats, speaker, position=0.5, previous=None)
    assert p.section == expected
    assert 0.6 <= p.confidence <= 0.95


def test_no_evidence_is_low_confidence_and_follows_the_previous_sentence() -> None:
    p = place("Hmm.", SentenceFeatures(), None, position=0.9, previous="objective")
    assert p.section == "objective"
    assert p.confidence < 0.6
