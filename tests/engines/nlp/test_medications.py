"""Medication mentions: drug, dose, route, frequency, PRN, duration, spans."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.drug_names import lookup_medication, rxnorm_code
from carepipe.engines.nlp.lexicon.medications import BRANDS, GENERICS
from carepipe.engines.nlp.medications import MedicationMention, find_medications


def one(text: str) -> MedicationMention:
    found = find_medications(text)
    assert len(found) == 1, [m.name for m in found]
    return found[0]


def test_full_signature_with_spoken_numbers() -> None:
    text = "start metformin five hundred mg twice a day for 3 months"
    m = one(text)
    assert (m.name, m.dose, m.dose_unit) == ("metformin", 500, "mg")
    assert m.timing is not None
    assert (m.timing.frequency, m.timing.period, m.timing.period_unit) == (2, 1, "d")
    assert m.frequency_text == "twice a day"
    assert m.duration == (3, "mo")
    assert m.action == "start"
    assert m.rxnorm == "6809"
    assert text[m.start : m.end] == "metformin five hundred mg twice a day for 3 months"
    assert text[m.name_start : m.name_end] == "metformin"
    assert m.confidence >= 0.9


def test_inhaler_prn_every_n_hours() -> None:
    m = one("take two puffs of salbutamol inhaler every four to six hours as needed for wheeze")
    assert m.name == "albuterol"
    assert (m.dose, m.dose_unit, m.route) == (2, "puff", "inhaled")
    assert m.timing is not None and (m.timing.frequency, m.timing.period, m.timing.period_unit) == (
        1,
        4,
        "h",
    )
    assert m.as_needed


def test_two_drugs_do_not_share_signatures() -> None:
    meds = find_medications(
        "continue amlodipine 5 mg once daily and atorvastatin twenty milligrams at night"
    )
    assert [(m.name, m.dose) for m in meds] == [("amlodipine", 5), ("atorvastatin", 20)]
    assert meds[0].timing is not None and meds[0].timing.when == ()
    assert meds[1].timing is not None and meds[1].timing.when == ("HS",)
    assert meds[0].action == "continue"


@pytest.mark.parametrize(
    ("text", "name", "dose", "unit", "route"),
    [
        ("Dolo 650 sos", "acetaminophen", 650, "mg", None),
        ("insulin glargine ten units at bedtime", "insulin glargine", 10, "[iU]", "subcutaneous"),
        ("give ceftriaxone one gram IV twice daily", "ceftriaxone", 1, "g", "intravenous"),
        ("levothyroxine fifty micrograms every morning", "levothyroxine", 50, "mcg", None),
        ("amoxicillin syrup two fifty mg", "amoxicillin", 250, "mg", "oral"),
        ("apply mupirocin ointment twice a day", "mupirocin", None, None, "topical"),
        ("Augmentin 625 for five days", "amoxicillin clavulanate", 625, "mg", None),
        ("lactulose fifteen ml at night", "lactulose", 15, "mL", None),
    ],
)
def test_doses_units_routes(
    text: str, name: str, dose: float | None, unit: str | None, route: str | None
) -> None:
    m = one(text)
    assert (m.name, m.dose, m.dose_unit, m.route) == (name, dose, unit, route)


@pytest.mark.parametrize(
    ("text", "freq", "period", "unit"),
    [
        ("ibuprofen 400 mg three times a day", 3, 1, "d"),
        ("ibuprofen 400 mg TDS", 3, 1, "d"),
        ("ibuprofen 400 mg qid", 4, 1, "d"),
        ("methotrexate 15 mg once a week", 1, 1, "wk"),
        ("augmentin 625 1-0-1", 2, 1, "d"),
        ("paracetamol 500 mg every 6 hours", 1, 6, "h"),
        ("aspirin 75 mg every other day", 1, 2, "d"),
        ("cetirizine 10 mg at bedtime", 1, 1, "d"),
    ],
)
def test_frequencies(text: str, freq: int, period: float, unit: str) -> None:
    m = one(text)
    assert m.timing is not None
    assert (m.timing.frequency, m.timing.period, m.timing.period_unit) == (freq, period, unit)


def test_dose_before_the_name() -> None:
    m = one("she takes 500 mg of metformin daily")
    assert (m.name, m.dose, m.dose_unit) == ("metformin", 500, "mg")
    assert m.action == "continue"


def test_count_and_strength_together() -> None:
    m = one("take one tablet of paracetamol 500 mg twice a day")
    assert (m.dose, m.dose_unit, m.quantity) == (500, "mg", 1)


def test_negated_and_stopped() -> None:
    m = one("she is not taking any aspirin")
    assert m.negated
    m = one("stop the ibuprofen")
    assert m.action == "stop"


def test_allergy_context_is_not_a_medication() -> None:
    assert find_medications("she is allergic to penicillin") == []


@pytest.mark.parametrize(
    "text",
    ["iron deficiency anaemia", "oxygen saturation is 97 percent", "her calcium level is low"],
)
def test_ambiguous_words_need_a_medication_cue(text: str) -> None:
    assert find_medications(text) == []


def test_ambiguous_word_with_a_cue_is_found() -> None:
    m = one("start iron tablets twice a day")
    assert m.name == "ferrous sulfate"


def test_asr_slip_is_found_at_lower_confidence() -> None:
    exact = one("metformin 500 mg bd")
    slip = one("metforman 500 mg bd")
    assert slip.name == "metformin"
    assert slip.matched_by == "fuzzy"
    assert slip.confidence < exact.confidence


def test_brands_and_synonyms() -> None:
    assert lookup_medication("Tylenol") == "acetaminophen"
    assert lookup_medication("paracetamol") == "acetaminophen"
    assert lookup_medication("Glycomet") == "metformin"
    assert lookup_medication("not a drug") is None
    assert rxnorm_code("paracetamol") == "161"


def test_lexicon_is_consistent() -> None:
    assert len(GENERICS) >= 250
    for brand, generic in BRANDS.items():
        assert generic in GENERICS, brand
    for row in GENERICS.values():
        code = row["rxnorm"]
        assert code is None or (isinstance(code, str) and code.isdigit())


def test_empty_and_plain_text() -> None:
    assert find_medications("") == []
    assert find_medications("the patient feels better today") == []
