"""Vital signs: kinds, values, UCUM units, LOINC codes, plausibility."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.vitals import LOINC, find_vitals


def test_blood_pressure_spoken() -> None:
    text = "BP one forty over ninety, pulse seventy two"
    bp, hr = find_vitals(text)
    assert (bp.kind, bp.value_text, bp.unit, bp.loinc) == (
        "blood_pressure",
        "140/90",
        "mm[Hg]",
        "85354-9",
    )
    assert bp.components == {"systolic": 140, "diastolic": 90}
    assert LOINC["systolic"][0] == "8480-6" and LOINC["diastolic"][0] == "8462-4"
    assert text[bp.start : bp.end] == "BP one forty over ninety"
    assert (hr.kind, hr.value, hr.unit, hr.loinc) == ("heart_rate", 72, "/min", "8867-4")
    assert text[hr.start : hr.end] == "pulse seventy two"


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit", "loinc"),
    [
        ("temperature thirty eight point two", "temperature", 38.2, "Cel", "8310-5"),
        ("temp 101 F", "temperature", 101, "[degF]", "8310-5"),
        (
            "temperature ninety nine point five degrees fahrenheit",
            "temperature",
            99.5,
            "[degF]",
            "8310-5",
        ),
        ("oxygen saturation ninety six percent", "spo2", 96, "%", "59408-5"),
        ("sats 97% on room air", "spo2", 97, "%", "59408-5"),
        ("he weighs seventy two kilos", "weight", 72, "kg", "29463-7"),
        ("weight 165 pounds", "weight", 165, "[lb_av]", "29463-7"),
        ("respiratory rate is eighteen", "respiratory_rate", 18, "/min", "9279-1"),
        ("heart rate 88 bpm", "heart_rate", 88, "/min", "8867-4"),
        ("random blood sugar two hundred and ten", "blood_glucose", 210, "mg/dL", "2339-0"),
    ],
)
def test_single_value_vitals(text: str, kind: str, value: float, unit: str, loinc: str) -> None:
    (v,) = find_vitals(text)
    assert (v.kind, v.value, v.unit, v.loinc) == (kind, value, unit, loinc)
    assert v.plausible


def test_spo2_carries_the_pulse_oximetry_code_too() -> None:
    (v,) = find_vitals("SpO2 95%")
    assert v.extra_codes == ("2708-6",)


def test_fahrenheit_is_kept_not_converted() -> None:
    (v,) = find_vitals("temperature is normal at ninety eight point six")
    assert (v.value, v.unit) == (98.6, "[degF]")
    assert v.unit_inferred  # no unit was said: inferred from the range, and flagged
    (said,) = find_vitals("temperature 98.6 F")
    assert not said.unit_inferred
    assert said.confidence > v.confidence


@pytest.mark.parametrize(
    "text", ["BP 400/20", "temp 60 degrees celsius", "pulse 400", "saturation 20 percent"]
)
def test_implausible_values_are_kept_but_flagged(text: str) -> None:
    (v,) = find_vitals(text)
    assert not v.plausible
    assert v.confidence < 0.6


def test_bp_is_not_read_as_pulse_or_temperature() -> None:
    vs = find_vitals("her blood pressure today was about 130/85 mmHg and heart rate 88 bpm")
    assert [(v.kind, v.value_text) for v in vs] == [
        ("blood_pressure", "130/85"),
        ("heart_rate", "88"),
    ]


def test_words_without_numbers_are_not_vitals() -> None:
    assert find_vitals("blood pressure is normal and the temperature is fine") == []
    assert find_vitals("fever for three days") == []


def test_fever_with_a_temperature_value() -> None:
    (v,) = find_vitals("she had a fever of one hundred and two")
    assert (v.kind, v.value, v.unit) == ("temperature", 102, "[degF]")


def test_bare_bp_needs_to_look_like_one() -> None:
    (v,) = find_vitals("one twenty over eighty")
    assert v.value_text == "120/80"
    assert v.confidence < 0.9  # no "BP" said
    assert find_vitals("page 3/4 of the form") == []


def test_indian_english_by() -> None:
    (v,) = find_vitals("BP one thirty by eighty")
    assert v.value_text == "130/80"
