"""The deterministic rules note engine, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepipe.engines.notes.base import NoteEngine
from carepipe.engines.notes.evaluation import note_keys, score
from carepipe.engines.notes.models import SECTION_NAMES, SoapNote
from carepipe.engines.notes.rules import RulesNoteEngine

HERE = Path(__file__).parent
ENGINE = RulesNoteEngine()

CONSULT = (
    "Doctor: Good morning, what brings you in today? Patient: I have had a fever and dry "
    "cough for three days, and my throat hurts. Doctor: Any chest pain? Patient: No. Doctor: "
    "Any allergies? Patient: I am allergic to penicillin. Doctor: Okay let me check. Your "
    "blood pressure is one thirty over eighty five, pulse ninety two, temperature thirty "
    "eight point four, oxygen saturation ninety seven percent. Throat is red. Doctor: I "
    "think this is a viral upper respiratory tract infection. I will give you paracetamol "
    "six fifty three times a day for five days and cetirizine ten mg at night. Come back in "
    "one week if not better."
)


@pytest.fixture(scope="module")
def note() -> SoapNote:
    return ENGINE.generate(CONSULT)


def test_is_a_note_engine() -> None:
    assert isinstance(ENGINE, NoteEngine)
    assert ENGINE.name == "rules"
    assert re.fullmatch(r"rules/\d+\.\d+\.\d+\+lexicon\.[0-9a-f]{12}", ENGINE.model_version)


def test_sections(note: SoapNote) -> None:
    def section_of(fragment: str) -> str:
        (hit,) = [s for s in note.sentences() if fragment in s.text]
        return hit.section

    assert section_of("fever and dry cough") == "subjective"
    assert section_of("allergic to penicillin") == "subjective"
    assert section_of("blood pressure is 130 over 85") == "objective"
    assert section_of("upper respiratory tract infection") == "assessment"
    assert section_of("paracetamol 650") == "plan"
    assert section_of("Come back") == "plan"
    for name in SECTION_NAMES:
        assert 0 < note.sections.get(name).confidence <= 1


def test_entities(note: SoapNote) -> None:
    assert [(v.kind, v.value_text, v.unit) for v in note.vitals] == [
        ("blood_pressure", "130/85", "mm[Hg]"),
        ("heart_rate", "92", "/min"),
        ("temperature", "38.4", "Cel"),
        ("spo2", "97", "%"),
    ]
    assert [(m.name, m.dose, m.dose_unit) for m in note.medications] == [
        ("acetaminophen", 650, "mg"),
        ("cetirizine", 10, "mg"),
    ]
    assert note.medications[0].timing is not None and note.medications[0].timing.frequency == 3
    assert note.medications[0].duration is not None
    assert note.medications[0].duration.value == 5
    assert [s.name for s in note.symptoms] == ["fever", "cough", "sore throat"]
    assert note.symptoms[1].duration is not None and note.symptoms[1].duration.unit == "d"
    assert [(d.name, d.icd10) for d in note.diagnoses] == [
        ("upper respiratory tract infection", "J06.9")
    ]
    assert [a.substance for a in note.allergies] == ["penicillin"]
    assert [(f.interval.value, f.interval.unit) for f in note.follow_up if f.interval] == [
        (1, "wk")
    ]


def test_question_answered_no_is_a_pertinent_negative(note: SoapNote) -> None:
    assert "chest pain" not in [s.name for s in note.symptoms]
    assert [n.name for n in note.pertinent_negatives] == ["chest pain"]


def test_every_span_points_at_its_text(note: SoapNote) -> None:
    for group in (
        note.vitals,
        note.medications,
        note.symptoms,
        note.diagnoses,
        note.allergies,
        note.follow_up,
        note.pertinent_negatives,
    ):
        for item in group:
            assert item.start is not None and item.end is not None
            assert CONSULT[item.start : item.end] == item.text
    for s in note.sentences():
        assert s.start is not None and s.end is not None
        assert 0 <= s.start < s.end <= len(CONSULT)


def test_negation_does_not_produce_positives() -> None:
    n = ENGINE.generate("No chest pain. She denies fever. No history of diabetes.")
    assert n.symptoms == [] and n.diagnoses == []
    assert sorted(x.name for x in n.pertinent_negatives) == [
        "chest pain",
        "fever",
        "type 2 diabetes mellitus",
    ]


def test_family_history_is_not_the_patients_diagnosis() -> None:
    n = ENGINE.generate("Her mother has diabetes. She has asthma.")
    assert [d.name for d in n.diagnoses] == ["asthma"]


def test_implausible_vital_is_kept_and_flagged() -> None:
    n = ENGINE.generate("BP is 400 over 20 today.")
    (v,) = n.vitals
    assert v.low_confidence and not v.plausible
    assert n.low_confidence_count >= 1


def test_deterministic() -> None:
    assert ENGINE.generate(CONSULT).model_dump() == ENGINE.generate(CONSULT).model_dump()


def test_empty_transcript() -> None:
    n = ENGINE.generate("")
    assert n.vitals == [] and n.sentences() == [] and n.low_confidence_count == 0


@pytest.mark.parametrize("name", ["devset.json", "holdout.json", "holdout2.json"])
def test_fact_extraction_meets_targets_on_own_sets(name: str) -> None:
    docs = json.loads((HERE / name).read_text())
    tallies = score(
        (d["id"], note_keys(ENGINE.generate(d["transcript"])), d["facts"]) for d in docs
    )
    for fact_type, t in tallies.items():
        assert t.precision >= 0.9, (fact_type, t.false_positives)
        assert t.recall >= 0.8, (fact_type, t.false_negatives)


def test_dev_set_pertinent_negatives() -> None:
    for d in json.loads((HERE / "devset.json").read_text()):
        expected = d["facts"].get("negatives")
        if not expected:
            continue
        n = ENGINE.generate(d["transcript"])
        negs = {x.name for x in n.pertinent_negatives}
        positives = {s.name for s in n.symptoms}
        for name in expected:
            assert name in negs, (d["id"], name)
            assert name not in positives, (d["id"], name)


_WORDS = st.sampled_from(
    [
        "i",
        "have",
        "a",
        "cough",
        "fever",
        "no",
        "denies",
        "pain",
        "bp",
        "one",
        "forty",
        "over",
        "ninety",
        "pulse",
        "seventy",
        "take",
        "metformin",
        "five",
        "hundred",
        "mg",
        "twice",
        "daily",
        "come",
        "back",
        "in",
        "two",
        "weeks",
        ".",
        "?",
        ",",
        "doctor:",
        "patient:",
        "allergic",
        "to",
        "penicillin",
        "this",
        "is",
        "hypertension",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_WORDS, max_size=40).map(" ".join))
def test_any_text_gives_a_valid_note_with_spans_inside(text: str) -> None:
    n = ENGINE.generate(text)
    for group in (n.vitals, n.medications, n.symptoms, n.diagnoses, n.allergies, n.follow_up):
        for item in group:
            assert item.start is not None and item.end is not None
            assert 0 <= item.start <= item.end <= len(text)
            assert text[item.start : item.end] == item.text
