"""Terminology tables and check-digit algorithms."""

from __future__ import annotations

import pytest

from carepipe.interop.fhir import codes


@pytest.mark.parametrize("code", sorted(codes.LOINC_TABLE))
def test_every_loinc_in_the_table_has_a_valid_check_digit(code: str) -> None:
    assert codes.is_wellformed_loinc(code)
    base, check = code.split("-")
    wrong = f"{base}-{(int(check) + 1) % 10}"
    assert not codes.is_wellformed_loinc(wrong)


@pytest.mark.parametrize("code", ["8867", "8867-", "8867-44", "abc-1", "", "8867 4"])
def test_malformed_loinc_shapes_are_rejected(code: str) -> None:
    assert not codes.is_wellformed_loinc(code)


def test_snomed_codes_we_emit_pass_verhoeff_and_a_typo_fails() -> None:
    emitted = {c for c, _ in codes.ROUTES.values()} | {
        c for c, _ in codes.SERVICE_CATEGORIES.values()
    }
    for code in emitted:
        assert codes.is_wellformed_snomed(code), code
        # Changing one digit always breaks a Verhoeff check digit.
        last = str((int(code[-1]) + 1) % 10)
        assert not codes.is_wellformed_snomed(code[:-1] + last), code
        if code[2] != code[3]:  # and so does swapping two neighbours
            assert not codes.is_wellformed_snomed(code[:2] + code[3] + code[2] + code[4:]), code


def test_icd10_shape() -> None:
    assert codes.is_wellformed_icd10("J02.9")
    assert codes.is_wellformed_icd10("E11")
    assert not codes.is_wellformed_icd10("j02.9")
    assert not codes.is_wellformed_icd10("J02.")
    assert not codes.is_wellformed_icd10("123")


def test_every_unit_of_the_loinc_table_is_a_known_ucum_unit() -> None:
    for code, entry in codes.LOINC_TABLE.items():
        for unit in entry.units:
            assert unit in codes.UCUM_UNITS, (code, unit)


def test_default_vital_units_are_allowed_for_their_loinc() -> None:
    for kind, (loinc, unit) in codes.VITAL_SIGNS.items():
        entry = codes.LOINC_TABLE[loinc]
        assert entry.use == "vital", kind
        if loinc == "85354-9":  # the panel: units sit on its components
            assert unit in codes.LOINC_TABLE[codes.SYSTOLIC].units
        else:
            assert unit in entry.units, kind


@pytest.mark.parametrize(
    ("written", "ucum"),
    [
        ("mmHg", "mm[Hg]"),
        ("bpm", "/min"),
        ("°F", "[degF]"),
        ("C", "Cel"),
        ("lbs", "[lb_av]"),
        ("g/dl", "g/dL"),
        ("x10^3/uL", "10*3/uL"),
        ("mIU/L", "m[IU]/L"),
        ("mcg", "ug"),
        ("mg/dL", "mg/dL"),
        ("tablet", "{tablet}"),
    ],
)
def test_common_unit_spellings_map_to_ucum(written: str, ucum: str) -> None:
    assert codes.to_ucum(written) == ucum


def test_unknown_units_do_not_map() -> None:
    assert codes.to_ucum("furlongs") is None
    assert codes.to_ucum(None) is None
