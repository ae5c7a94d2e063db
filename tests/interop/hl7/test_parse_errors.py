"""Malformed and unsupported messages: the right typed error, and no PHI in it."""

from __future__ import annotations

import pytest

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7 import parse_message
from tests.interop.hl7.samples import MALFORMED, PHI_TOKENS, UNSUPPORTED, adt, sample


@pytest.mark.parametrize(
    ("name", "position"),
    [
        ("no_msh.hl7", "MSH segment missing"),
        ("adt_missing_pid.hl7", "PID segment missing"),
        ("oru_missing_pid.hl7", "PID segment missing"),
        ("missing_msh9.hl7", "MSH-9"),
        ("missing_msh10.hl7", "MSH-10"),
        ("missing_msh12.hl7", "MSH-12"),
        ("version_garbage.hl7", "MSH-12: not a version id"),
        ("oru_missing_obr.hl7", "OBR segment missing"),
        ("oru_obx_before_obr.hl7", "OBX before any OBR"),
        ("oru_obx_missing_code.hl7", "OBX-3 (segment 3)"),
        ("bad_birth_date.hl7", "PID-7 (segment 1)"),
        ("bad_admit_time.hl7", "PV1-44 (segment 2)"),
        ("empty_pid3.hl7", "PID-3"),
        ("bad_encoding_chars.hl7", "MSH-1/MSH-2"),
        ("lowercase_segment.hl7", "segment 1: invalid segment id"),
        ("adt_two_pids.hl7", "more than one PID"),
        ("empty.hl7", "empty message"),
        ("charset_invalid_utf8.hl7", "not valid in the character set the MSH-18 declares"),
        ("vxu_missing_rxa3.hl7", "RXA-3 (segment 2)"),
        ("mdm_without_content.hl7", "OBX missing"),
        ("adt_a40_missing_mrg.hl7", "MRG segment missing"),
    ],
)
def test_malformed_samples(name: str, position: str) -> None:
    with pytest.raises(Hl7Malformed) as info:
        parse_message(sample(name))
    assert position in info.value.message
    assert info.value.retryable is False
    assert info.value.code == "hl7_malformed"


@pytest.mark.parametrize(
    ("name", "hl7_error"),
    [
        ("bar_p01.hl7", "200"),
        ("adt_a17.hl7", "201"),
        ("version_21.hl7", "203"),
        ("charset_utf16.hl7", "102"),
        ("bhs_one_message.hl7", "200"),
        ("two_messages.hl7", "200"),
        ("oru_two_patients.hl7", "201"),
    ],
)
def test_unsupported_samples(name: str, hl7_error: str) -> None:
    with pytest.raises(Hl7Unsupported) as info:
        parse_message(sample(name))
    assert info.value.details["hl7_error"] == hl7_error
    assert info.value.code == "hl7_unsupported"


def test_unsupported_message_type_is_named_when_code_shaped() -> None:
    with pytest.raises(Hl7Unsupported, match=r"BAR\^P01"):
        parse_message(sample("bar_p01.hl7"))
    with pytest.raises(Hl7Unsupported, match=r"\?\^\?"):
        parse_message(adt().replace("ADT^A01^ADT_A01", "Jane Doe^x y"))


@pytest.mark.parametrize("path", MALFORMED + UNSUPPORTED, ids=lambda p: p.name)
def test_error_messages_and_details_carry_no_phi(path) -> None:
    with pytest.raises((Hl7Malformed, Hl7Unsupported)) as info:
        parse_message(path.read_bytes())
    shown = info.value.message + repr(info.value.details) + str(info.value)
    for token in PHI_TOKENS:
        assert token.lower() not in shown.lower()
    assert info.value.__cause__ is None or not any(
        t in str(info.value.__cause__) for t in PHI_TOKENS
    )


def test_details_give_position_and_hl7_error_code() -> None:
    with pytest.raises(Hl7Malformed) as info:
        parse_message(sample("bad_birth_date.hl7"))
    assert info.value.details == {
        "hl7_error": "102",
        "segment": "PID",
        "field": 7,
        "segment_index": 1,
    }


@pytest.mark.parametrize(
    "version",
    ["2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"],
)
def test_every_supported_version_parses(version: str) -> None:
    assert parse_message(adt(version=version)).version == version


@pytest.mark.parametrize("version", ["2.1", "2.0", "3.0", "2.9"])
def test_other_versions_are_unsupported_not_malformed(version: str) -> None:
    with pytest.raises(Hl7Unsupported, match="MSH-12: unsupported version") as info:
        parse_message(adt(version=version))
    assert info.value.code == "hl7_unsupported" and info.value.details["hl7_error"] == "203"


@pytest.mark.parametrize(
    "event",
    ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A13", "A28", "A31"],
)
def test_supported_adt_events(event: str) -> None:
    assert parse_message(adt(event=event)).trigger_event == event


def test_adt_without_trigger_is_malformed() -> None:
    with pytest.raises(Hl7Malformed, match=r"MSH-9\.2"):
        parse_message(adt().replace("ADT^A01^ADT_A01", "ADT"))


def test_explicit_null_and_empty_repetitions() -> None:
    m = parse_message(adt().replace("MRN1^^^HOSP^MR", '~""~MRN1^^^HOSP^MR~'))
    assert [i.value for i in m.patient.identifiers] == ["MRN1"]


def test_foreign_exceptions_become_hl7_malformed(monkeypatch) -> None:
    import carepipe.interop.hl7.parse as parse_mod

    def boom(_: str) -> None:
        raise KeyError("Jane Doe MRN1")  # a foreign error quoting content

    monkeypatch.setattr(parse_mod.hl7, "parse", boom)
    with pytest.raises(Hl7Malformed) as info:
        parse_message(adt())
    assert "Jane" not in info.value.message
    assert info.value.__cause__ is None and info.value.__suppress_context__
