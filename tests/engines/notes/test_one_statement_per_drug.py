"""Dev-split errors of the note engine on reference text (docs/scribe.md, "One medication per
drug"): a drug named again is the same medication; "consider X" is not a prescription; an
answer that denies one finding by name leaves the question's others unanswered; a glucose
said in mmol/L ("five point six") is read."""

from __future__ import annotations

import pytest

from carepipe.engines.notes.rules import RulesNoteEngine


@pytest.fixture(scope="module")
def engine() -> RulesNoteEngine:
    return RulesNoteEngine()


def _meds(engine: RulesNoteEngine, text: str) -> list[tuple]:
    return [
        (m.name, m.dose, m.action, m.as_needed, m.duration and m.duration.value)
        for m in engine.generate(text).medications
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "He takes gliclazide 80 milligrams twice a day. We'll stop the gliclazide and start "
            "sitagliptin 100 milligrams once daily.",
            [
                ("gliclazide", 80.0, "stop", False, None),
                ("sitagliptin", 100.0, "start", False, None),
            ],
        ),
        (
            "You take warfarin 5 milligrams daily. We'll hold the warfarin for two days.",
            [("warfarin", 5.0, "stop", False, 2.0)],
        ),
        (
            "Increase the metformin to 1000 milligrams twice a day, and take the metformin with "
            "meals.",
            [("metformin", 1000.0, "increase", False, None)],
        ),
        (
            "She uses the salbutamol inhaler twice a week. Continue the salbutamol as needed.",
            [("albuterol", None, "continue", True, None)],
        ),
        # Two doses are two regimens (or a change): both stay.
        (
            "Insulin glargine 10 units in the morning and insulin glargine 6 units at night.",
            [
                ("insulin glargine", 10.0, None, False, None),
                ("insulin glargine", 6.0, None, False, None),
            ],
        ),
    ],
)
def test_a_drug_named_again_is_the_same_medication(engine, text, expected) -> None:
    assert _meds(engine, text) == expected


def test_the_first_mention_keeps_its_timing_and_gains_when_to_take_it(engine) -> None:
    (m,) = engine.generate(
        "Metformin 500 milligrams twice a day. Take the metformin with meals."
    ).medications
    assert (m.timing.frequency, m.timing.period_unit, m.timing.when) == (2, "d", ["C"])


def test_a_stop_said_apart_lowers_the_confidence_to_the_stops(engine) -> None:
    (m, _) = engine.generate(
        "He takes gliclazide 80 milligrams twice a day. We'll stop the gliclazide and start "
        "sitagliptin 100 milligrams once daily."
    ).medications
    assert m.confidence <= 0.7 and m.needs_review


@pytest.mark.parametrize(
    "text",
    [
        "If it's not better in a week, we'll consider amoxicillin.",
        "We could try sertraline later if the low mood persists.",
        "We may need amlodipine if the pressure stays high.",
    ],
)
def test_a_drug_considered_is_not_a_medication(engine, text) -> None:
    assert engine.generate(text).medications == []


@pytest.mark.parametrize(
    ("text", "negated", "present"),
    [
        (
            "Any dizziness or fainting? No fainting, but I do feel dizzy sometimes.",
            {"fainting"},
            {"dizziness"},
        ),
        ("Any heartburn or trouble swallowing? No heartburn.", {"heartburn"}, set()),
        (
            "Any chest pain or shortness of breath? No chest pain, no shortness of breath.",
            {"chest pain", "shortness of breath"},
            set(),
        ),
        ("Any fever or cough? No.", {"fever", "cough"}, set()),
    ],
)
def test_an_answer_naming_what_it_denies_answers_only_that(engine, text, negated, present):
    note = engine.generate(text)
    assert {n.name for n in note.pertinent_negatives} == negated
    assert {s.name for s in note.symptoms} == present


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("My father was sweaty, and his sugar was two point four.", 2.4, "mmol/L"),
        ("His blood glucose now is five point six after the glucose gel.", 5.6, "mmol/L"),
        ("Her fasting glucose was one hundred and sixty.", 160.0, "mg/dL"),
    ],
)
def test_a_glucose_is_read_in_either_unit(engine, text, value, unit) -> None:
    (v,) = [v for v in engine.generate(text).vitals if v.kind == "blood_glucose"]
    assert (v.value, v.unit) == (value, unit)


def test_a_count_of_sugars_is_not_a_glucose(engine) -> None:
    assert not [v for v in engine.generate("Check sugars 2 times a day.").vitals]
