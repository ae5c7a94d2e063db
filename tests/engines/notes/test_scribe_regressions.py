"""Issue 11's note-engine and number-form examples, through the real correction, rules engine
and assessment (the text-only half; the audio half is in tests/engines/asr/test_scribe_audio.py).
"""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.correction import prepare
from carepipe.engines.notes.assessment import assess
from carepipe.engines.notes.models import SoapNote
from carepipe.engines.notes.rules import RulesNoteEngine


@pytest.fixture(scope="module")
def engine() -> RulesNoteEngine:
    return RulesNoteEngine()


def draft(engine: RulesNoteEngine, text: str) -> SoapNote:
    prepared = prepare(text)
    note, _ = assess(engine.generate(prepared.text), prepared)
    return note


def negated(note: SoapNote) -> set[str]:
    return {n.name for n in note.pertinent_negatives}


def present(note: SoapNote) -> set[str]:
    return {s.name for s in note.symptoms}


# --- negation scope --------------------------------------------------------------------


def test_no_ear_pain_is_a_negative(engine):
    note = draft(engine, "Any ear pain? No ear pain, just a blocked nose.")
    assert "ear pain" in negated(note) and "ear pain" not in present(note)


def test_but_no_nausea_is_negated_and_the_vomiting_is_not(engine):
    note = draft(engine, "I've been vomiting since last night, but no nausea.")
    assert "nausea" in negated(note) and "nausea" not in present(note)
    assert "vomiting" in present(note)


def test_just_ends_the_scope_of_no(engine):
    note = draft(engine, "No fever, just a dry cough.")
    assert "fever" in negated(note)
    assert "cough" in present(note) and "cough" not in negated(note)


def test_a_lost_question_mark_never_makes_a_confident_finding(engine):
    note = draft(engine, "Any shortness of breath No chest pain.")
    assert "chest pain" in negated(note)
    sob = [s for s in note.symptoms if s.name == "shortness of breath"]
    assert all(s.needs_review for s in sob)


# --- medications and allergies -------------------------------------------------------


def test_avoid_aspirin_is_not_a_prescription(engine):
    note = draft(engine, "You're allergic to aspirin, it gives you hives. So avoid aspirin.")
    assert [a.substance for a in note.allergies] == ["aspirin"]
    assert "aspirin" not in {m.name for m in note.medications}


def test_an_allergen_prescribed_anyway_is_a_flagged_contradiction(engine):
    note = draft(
        engine,
        "I'm allergic to amoxicillin, my face swelled. Take amoxicillin 500 milligrams three "
        "times a day.",
    )
    med = next(m for m in note.medications if m.name == "amoxicillin")
    assert "contradiction:allergen" in med.flags and med.needs_review
    assert "contradiction:allergen_prescribed" in note.flags


@pytest.mark.parametrize(
    "text",
    [
        "Any allergies? I react to the ceiling paint.",
        "Allergic to just medications, I think.",
        "Any allergies? Just medications, nothing else.",
    ],
)
def test_allergens_must_be_known_substances(engine, text):
    note = draft(engine, text)
    assert note.allergies == []


def test_no_known_allergies_only_answers_an_allergy_question(engine):
    assert not draft(engine, "Any chest pain? No. Any fever? No.").no_known_allergies
    assert draft(engine, "Any chest pain? No. Any allergies? No.").no_known_allergies
    assert draft(engine, "Allergies? None that I know of.").no_known_allergies


def test_hives_is_the_reaction_not_a_diagnosis(engine):
    note = draft(engine, "Any allergies? I'm allergic to sulfa drugs, I get hives.")
    assert [(a.substance, a.reaction) for a in note.allergies] == [("sulfonamide", "urticaria")]
    assert "urticaria" not in {d.name for d in note.diagnoses}


def test_allergens_from_each_lexicon(engine):
    note = draft(engine, "She's allergic to cats and dust mites. Sticking plasters make her itch.")
    subs = {a.substance: a.category for a in note.allergies}
    assert subs == {
        "animal dander": "environment",
        "dust mite": "environment",
        "adhesive tape": "environment",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The answer names the allergen after "only"/"just", or after a "No," that goes on.
        ("Any allergies? Only to peanuts.", {"peanut"}),
        ("Any allergies to medicines? No, only grass pollen.", {"pollen"}),
        # Whisper writes the question's "?" as a comma.
        ("Any allergies, only to peanuts, any chest pain? No chest pain.", {"peanut"}),
        # A negative answer that goes on about something else names no allergen.
        ("Any allergies? No, but he takes aspirin daily.", set()),
        ("Any allergies? No. Any chest pain? No chest pain.", set()),
    ],
)
def test_allergy_answers_with_only_and_just(engine, text, expected):
    assert {a.substance for a in draft(engine, text).allergies} == expected


def test_an_allergy_said_twice_is_one_item_with_its_reaction(engine):
    note = draft(
        engine,
        "So you're allergic to tree nuts. Any other allergies? No, just nuts, they make me swell.",
    )
    assert [(a.substance, a.reaction) for a in note.allergies] == [("tree nut", "swelling")]
    # A recogniser's looped sentence is one allergy, not three.
    looped = draft(engine, "Any allergies? " + "I'm allergic to morphine. " * 3)
    assert [a.substance for a in looped.allergies] == ["morphine"]


# --- vitals: subject, forms, weight/height/BMI ------------------------------------------


def test_fetal_heart_rate_is_the_babys_not_the_mothers(engine):
    note = draft(
        engine, "Your pulse is ninety two. The baby's heart rate is one hundred and forty."
    )
    kinds = {(v.kind, v.value, v.subject) for v in note.vitals}
    assert ("heart_rate", 92.0, "patient") in kinds
    assert ("fetal_heart_rate", 140.0, "fetus") in kinds
    assert ("heart_rate", 140.0, "patient") not in kinds


def test_a_childs_vitals_told_by_a_parent_are_the_patients(engine):
    note = draft(
        engine, "His temperature was thirty nine and his heart rate one hundred and twenty."
    )
    assert {(v.kind, v.value) for v in note.vitals} == {
        ("temperature", 39.0),
        ("heart_rate", 120.0),
    }


def test_weight_in_pounds_height_and_bmi(engine):
    note = draft(
        engine,
        "You weigh one hundred and seventy four pounds. Your height is one hundred and seventy "
        "centimetres, so your BMI is twenty seven point two.",
    )
    got = {(v.kind, v.value, v.unit) for v in note.vitals}
    assert got == {("weight", 174.0, "[lb_av]"), ("height", 170.0, "cm"), ("bmi", 27.2, "kg/m2")}


def test_spoken_blood_pressure_and_temperature(engine):
    note = draft(
        engine,
        "Blood pressure one eighteen over seventy six. Temperature one hundred and one fahrenheit.",
    )
    got = {(v.kind, v.value_text, v.unit) for v in note.vitals}
    assert ("blood_pressure", "118/76", "mm[Hg]") in got
    assert ("temperature", "101", "[degF]") in got


# --- Whisper's number forms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your blood pressure is 1.64 over 98.", "164/98"),
        ("Blood pressure 1-16 over 74 today.", "116/74"),
        ("The pressure is one 28 over 80.", "128/80"),
        ("Your blood pressure is 138.82 now.", "138/82"),
        # Whisper base on an AMD EPYC host (int8): both halves in Whisper's forms at once.
        ("and your blood pressure is 1.32 over 8 to 4 any allergies", "132/84"),
    ],
)
def test_whisper_blood_pressure_forms_are_read_and_marked(engine, text, expected):
    note = draft(engine, text)
    bp = [v for v in note.vitals if v.kind == "blood_pressure"]
    assert [v.value_text for v in bp] == [expected]
    # Read, not silently: the change is recorded and the item goes to review.
    assert note.corrections and note.corrections[0]["kind"] == "number_form"
    assert "asr_corrected:number_form" in bp[0].flags and bp[0].needs_review


@pytest.mark.parametrize(
    "text",
    [
        "you weigh 9 to 4 kilograms, and your blood pressure",
        # Whisper base after other clips on the same engine: the unit glued to the digit.
        "with meals, you weigh 9 to 4kg, and your blood pressure",
    ],
)
def test_whisper_weight_tens_read_as_to_is_one_weight(engine, text):
    note = draft(engine, text)
    weights = [v for v in note.vitals if v.kind == "weight"]
    assert [v.value_text for v in weights] == ["94"]
    assert "asr_corrected:number_form" in weights[0].flags and weights[0].needs_review


def test_heart_rate_1_10_is_110_and_flagged(engine):
    note = draft(engine, "Your heart rate is 1.10 and regular.")
    hr = [v for v in note.vitals if v.kind == "heart_rate"]
    assert [v.value for v in hr] == [110.0]
    assert hr[0].needs_review


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # "ninety four" written as a decimal after a pulse cue.
        ("Your pulse is 9.4, and your blood pressure is 110 over 70.", "heart_rate", "94"),
        ("Respiratory rate 2.6, heart rate 112.", "respiratory_rate", "26"),
        # "pulse" heard as "plus" in a list of vitals.
        ("Your blood pressure is 88 over 52, plus 124, saturation 94%.", "heart_rate", "124"),
        # "one twenty two over" heard as "120 to over".
        ("Pulse 86, saturation 98% blood pressure 120 to over 76.", "blood_pressure", "122/76"),
    ],
)
def test_more_whisper_vital_forms_are_read_and_flagged(engine, text, kind, expected):
    note = draft(engine, text)
    found = [v for v in note.vitals if v.kind == kind]
    assert [v.value_text for v in found] == [expected]
    assert "asr_corrected:number_form" in found[0].flags and found[0].needs_review


@pytest.mark.parametrize(
    "text",
    [
        "Paracetamol 500 mg, plus 2 tablets of ibuprofen.",
        "Blood pressure 130 over 80, plus 10 mg amlodipine.",
        "Infusion rate 2.5 ml an hour.",
        "Increase the ramipril from 10 to 20 milligrams.",
    ],
)
def test_those_forms_leave_other_numbers_alone(engine, text):
    note = draft(engine, text)
    assert note.corrections == []
    assert not [v for v in note.vitals if v.kind in ("heart_rate", "respiratory_rate")]


def test_to_grams_after_a_drug_is_two_grams_and_flagged(engine):
    # As heard, and after the drug name itself was corrected ("safe triaxone").
    for text in (
        "We'll give ceftriaxone to grams intravenously once daily.",
        "We'll give safe triaxone to grams intravenously once daily.",
    ):
        note = draft(engine, text)
        (med,) = note.medications
        assert (med.name, med.dose, med.dose_unit) == ("ceftriaxone", 2.0, "g")
        assert med.needs_review
    # Not a dose without a drug before it.
    assert draft(engine, "I want to talk to units about it.").corrections == []


def test_a_weight_that_went_up_to_a_value_is_a_reading_not_a_threshold(engine):
    note = draft(engine, "Your weight is up to 102 kilos. Keep the sugar up to 180.")
    assert [(v.kind, v.value) for v in note.vitals] == [("weight", 102.0)]


def test_six_fifteen_milligrams_is_flagged_with_the_alternative(engine):
    note = draft(engine, "Take paracetamol 6, 15 milligrams three times a day.")
    med = next(m for m in note.medications if m.name == "acetaminophen")
    assert med.dose == 615.0  # joined as said, never altered to a guess
    assert "dose_not_a_usual_strength" in med.flags
    assert "dose_maybe:650" in med.flags
    assert med.needs_review and med.confidence < 0.9


def test_an_implausible_dose_is_flagged_not_changed(engine):
    note = draft(engine, "Acetaminophen 15 milligrams every six hours.")
    med = next(m for m in note.medications if m.name == "acetaminophen")
    assert med.dose == 15.0 and "dose_below_usual_range" in med.flags and med.needs_review


def test_a_childs_dose_is_not_flagged_as_low_when_the_age_is_known(engine):
    prepared = prepare("Give ibuprofen 100 milligrams every eight hours.")
    raw = engine.generate(prepared.text)
    adult, _ = assess(raw, prepared)
    child, _ = assess(raw, prepared, age_years=4)
    assert "dose_below_usual_range" in adult.medications[0].flags
    assert "dose_below_usual_range" not in child.medications[0].flags


# --- labs ------------------------------------------------------------------------------


def test_common_labs_said_aloud_are_observations(engine):
    note = draft(
        engine,
        "Your HbA1c is seven point eight percent, TSH four point two, haemoglobin eleven point "
        "five, potassium five point one and creatinine one point four.",
    )
    got = {(lab.kind, lab.value, lab.unit, lab.loinc) for lab in note.labs}
    assert got == {
        ("hba1c", 7.8, "%", "4548-4"),
        ("tsh", 4.2, "m[IU]/L", "3016-3"),
        ("hemoglobin", 11.5, "g/dL", "718-7"),
        ("potassium", 5.1, "mmol/L", "2823-3"),
        ("creatinine", 1.4, "mg/dL", "2160-0"),
    }


def test_a_potassium_supplement_is_not_a_potassium_result(engine):
    note = draft(engine, "Start potassium chloride 600 milligrams twice daily.")
    assert note.labs == []
