"""Symptoms (with duration), diagnoses (coded), allergies and follow-up."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.allergies import find_allergies, no_known_allergies
from carepipe.engines.nlp.diagnoses import find_diagnoses, lookup_condition
from carepipe.engines.nlp.durations import find_durations
from carepipe.engines.nlp.followup import find_follow_up
from carepipe.engines.nlp.symptoms import find_symptoms

# --- symptoms -------------------------------------------------------------------------


def test_symptom_with_duration_and_a_negated_one() -> None:
    text = "I have had a dry cough for three days but no fever"
    cough, fever = find_symptoms(text)
    assert (cough.name, cough.duration, cough.assertion) == ("cough", (3, "d"), "present")
    assert cough.snomed == "49727002"
    assert text[cough.start : cough.end] == "dry cough for three days"
    assert (fever.name, fever.assertion, fever.duration) == ("fever", "negated", None)


@pytest.mark.parametrize(
    ("text", "name", "duration"),
    [
        ("headache since yesterday", "headache", (1, "d")),
        ("pain in my left knee for two weeks", "knee pain", (2, "wk")),
        ("loose motions since 2 days", "diarrhea", (2, "d")),
        ("for the past month she has been breathless", "shortness of breath", (1, "mo")),
        ("my back hurts", "back pain", None),
        ("stomach ache x 3 days", "abdominal pain", (3, "d")),
        ("burning micturition for a week", "burning urination", (1, "wk")),
    ],
)
def test_symptoms_and_durations(text: str, name: str, duration: tuple | None) -> None:
    (s,) = [s for s in find_symptoms(text) if s.present]
    assert (s.name, s.duration) == (name, duration)


def test_each_symptom_keeps_its_own_duration() -> None:
    fever, cough = find_symptoms("fever for 2 days and cough for a week")
    assert fever.duration == (2, "d") and cough.duration == (1, "wk")


@pytest.mark.parametrize(
    "text", ["temperature 38.2", "I'm worried about the bill", "the tired old chair"]
)
def test_ambiguous_words_are_not_symptoms_without_a_complaint(text: str) -> None:
    assert [s for s in find_symptoms(text) if s.present] == []


def test_denied_list() -> None:
    found = find_symptoms("she denies chest pain, shortness of breath or palpitations")
    assert [s.name for s in found] == ["chest pain", "shortness of breath", "palpitations"]
    assert {s.assertion for s in found} == {"negated"}


def test_severity() -> None:
    (s,) = find_symptoms("severe headache")
    assert s.severity == "severe"


def test_durations_module() -> None:
    d = find_durations("cough for a couple of weeks")
    assert [(x.value, x.unit, x.exact) for x in d] == [(2, "wk", False)]
    d = find_durations("symptoms 3 days ago")
    assert [(x.value, x.unit) for x in d] == [(3, "d")]


# --- diagnoses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "icd10"),
    [
        ("she has high blood pressure", "hypertension", "I10"),
        ("known case of sugar", "type 2 diabetes mellitus", "E11.9"),
        ("type two diabetes", "type 2 diabetes mellitus", "E11.9"),
        ("I think this is a chest infection", "pneumonia", "J18.9"),
        ("the x-ray shows pneumonia", "pneumonia", "J18.9"),
        ("this is acid reflux", "gastroesophageal reflux disease", "K21.9"),
        ("COPD exacerbation", "chronic obstructive pulmonary disease", "J44.9"),
        ("urine infection", "urinary tract infection", "N39.0"),
    ],
)
def test_diagnoses_are_coded(text: str, name: str, icd10: str) -> None:
    (d,) = find_diagnoses(text)
    assert (d.name, d.icd10, d.verification) == (name, icd10, "confirmed")


def test_snomed_codes() -> None:
    (d,) = find_diagnoses("hypertension")
    assert d.snomed == "38341003"


def test_verification_and_family() -> None:
    found = find_diagnoses("possible pneumonia, rule out dengue, malaria was ruled out")
    assert [(d.name, d.verification) for d in found] == [
        ("pneumonia", "provisional"),
        ("dengue fever", "provisional"),
        ("malaria", "refuted"),
    ]
    found = find_diagnoses("no history of diabetes, mother has diabetes")
    assert [d.assertion for d in found] == ["negated", "family"]
    assert not any(d.present for d in found)


@pytest.mark.parametrize(
    "text", ["add a little sugar to the tea", "she has cold hands", "she took a cold shower"]
)
def test_ordinary_words_are_not_diagnoses(text: str) -> None:
    assert find_diagnoses(text) == []


def test_lookup_condition() -> None:
    assert lookup_condition("High BP") == "hypertension"
    assert lookup_condition("T2DM") == "type 2 diabetes mellitus"
    assert lookup_condition("nonsense") is None


# --- allergies ------------------------------------------------------------------------


def test_allergy_list_with_reaction() -> None:
    found = find_allergies("she is allergic to penicillin and sulfa drugs, she gets a rash")
    assert [(a.substance, a.category, a.reaction) for a in found] == [
        ("penicillin", "medication", "rash"),
        ("sulfonamide", "medication", "rash"),
    ]


@pytest.mark.parametrize(
    ("text", "substance", "reaction"),
    [
        ("Penicillin gives me a rash", "penicillin", "rash"),
        ("aspirin makes my breathing worse", "aspirin", "difficulty breathing"),
        ("codeine allergy", "codeine", None),
        ("allergic to peanuts", "peanut", None),
        ("allergy to Augmentin, swelling of the lips", "amoxicillin clavulanate", "swelling"),
    ],
)
def test_allergy_phrasings(text: str, substance: str, reaction: str | None) -> None:
    (a,) = find_allergies(text)
    assert (a.substance, a.reaction) == (substance, reaction)


def test_codeine_allergy_is_coded() -> None:
    (a,) = find_allergies("codeine allergy")
    assert a.rxnorm == "2670"


@pytest.mark.parametrize(
    "text",
    ["he is not allergic to aspirin", "no known drug allergies", "NKDA", "no allergies"],
)
def test_no_allergy(text: str) -> None:
    assert find_allergies(text) == []


def test_no_known_allergies() -> None:
    assert no_known_allergies("Allergies: NKDA.") is not None
    assert no_known_allergies("allergic to penicillin") is None


def test_intolerance() -> None:
    (a,) = find_allergies("she cannot take metformin, it upsets her stomach")
    assert (a.substance, a.type) == ("metformin", "intolerance")


# --- follow-up ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("come back in two weeks", (2, "wk")),
        ("follow up in 3 months", (3, "mo")),
        ("review after ten days", (10, "d")),
        ("see you next week", (1, "wk")),
        ("I'll see you in a month", (1, "mo")),
        ("in two weeks come back", (2, "wk")),
        ("come back in a fortnight", (2, "wk")),
    ],
)
def test_follow_up_intervals(text: str, interval: tuple) -> None:
    (f,) = find_follow_up(text)
    assert f.interval == interval
    assert not f.conditional


def test_follow_up_after_reports_and_safety_net() -> None:
    found = find_follow_up("Follow up after the reports. Come back if the fever does not settle.")
    assert [(f.interval, f.conditional) for f in found] == [(None, False), (None, True)]
    assert found[1].condition == "the fever does not settle"


def test_no_follow_up() -> None:
    assert find_follow_up("take the tablets with food") == []
