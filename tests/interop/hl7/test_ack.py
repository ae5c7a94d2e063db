from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported, PatientNotFound
from carepipe.interop.hl7 import (
    ack_code_for,
    ack_for_exception,
    build_ack,
    parse_ack,
    parse_message,
)
from tests.interop.hl7.samples import adt, sample


def _segments(ack: str) -> list[list[str]]:
    assert ack.endswith("\r")
    return [s.split("|") for s in ack[:-1].split("\r")]


def test_aa_swaps_sender_and_receiver_and_quotes_control_id(clock) -> None:
    raw = sample("adt_a04_v24_crlf.hl7")
    ack = build_ack(raw, "AA", control_id="ACK0001")
    msh, msa = _segments(ack)
    assert msh[:2] == ["MSH", "^~\\&"]
    # MSH-3..6 of the ACK are MSH-5, MSH-6, MSH-3, MSH-4 of the original, as sent.
    assert msh[2:6] == ["CAREPIPE", "CP", "REG", "NORTHCLINIC^2.16.356.1.1^ISO"]
    assert msh[6] == "20260301120000+0000"  # from the injected clock
    assert msh[8] == "ACK^A04^ACK"
    assert msh[9:12] == ["ACK0001", "P", "2.4"]
    assert msa == ["MSA", "AA", "REG-7781"]


def test_v23_ack_has_two_component_message_type() -> None:
    msh = _segments(build_ack(sample("adt_a01_v23_lf.hl7"), "AA"))[0]
    assert msh[8] == "ACK^A01"
    assert msh[11] == "2.3"


def test_ae_with_text_and_err_in_v25_layout() -> None:
    ack = build_ack(
        adt("C-9"), "AE", "bad | value^here", error_code="101", error_segment="PID", error_field=3
    )
    _, msa, err = _segments(ack)
    assert msa == ["MSA", "AE", "C-9", "bad \\F\\ value\\S\\here"]
    assert err == ["ERR", "", "PID^1^3", "101^Required field missing^HL70357", "E"]
    info = parse_ack(ack)
    assert (info.code, info.control_id, info.text, info.error_code) == (
        "AE",
        "C-9",
        "bad | value^here",
        "101",
    )


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4"])
def test_err_in_pre_25_layout(version: str) -> None:
    ack = build_ack(
        adt(version=version), "AR", "no", error_code="200", error_segment="MSH", error_field=9
    )
    err = _segments(ack)[2]
    assert err == ["ERR", "MSH^1^9^200&Unsupported message type&HL70357"]
    assert parse_ack(ack).error_code == "200"


def test_msa_text_is_cut_to_80_characters_and_has_no_control_characters() -> None:
    ack = build_ack(adt(), "AE", "x\r\n" * 100)
    text = parse_ack(ack).text
    assert text is not None and len(text) == 80 and "\r" not in text and "\n" not in text


def test_ack_from_a_parsed_message() -> None:
    m = parse_message(sample("oru_r01_v251_crlf.hl7"))
    msh, msa = _segments(build_ack(m, "AA"))
    assert msh[2:6] == ["CAREPIPE", "CP", "LIS", "WESTLAB"]
    assert msh[8] == "ACK^R01^ACK" and msh[11] == "2.5.1"
    assert msa[2] == "WL-88"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff garbage", b"PID|1||x", b"MSH", b"MSHXabc", "MSH|^~\\&|only|a|few"],
)
def test_best_effort_ack_when_msh_is_unreadable(raw) -> None:
    ack = build_ack(raw, "AR", "unreadable")
    info = parse_ack(ack)
    assert info.code == "AR"
    assert len(info.ack_control_id) == 20
    msh = _segments(ack)[0]
    assert msh[11] in ("2.5.1",)


def test_control_ids_are_unique() -> None:
    ids = {parse_ack(build_ack(adt(), "AA")).ack_control_id for _ in range(200)}
    assert len(ids) == 200


def test_unknown_ack_code_is_refused() -> None:
    with pytest.raises(ValueError):
        build_ack(adt(), "CA", None)  # type: ignore[arg-type]


def test_custom_delimiters_are_kept_in_the_ack() -> None:
    ack = build_ack(sample("adt_a01_v25_custom_delims.hl7"), "AE", "a#b")
    assert ack.startswith("MSH#$%\\&#CAREPIPE#CP#HIS#OTHERHOSP#")
    assert "MSA#AE#CD-1#a\\F\\b" in ack


def test_copied_fields_are_stripped_of_control_characters_and_capped() -> None:
    raw = adt().replace("|HIS|", "|" + "A" * 5000 + "\x1c\x0b|")
    msh = _segments(build_ack(raw, "AA"))[0]
    assert msh[4] == "A" * 200


@pytest.mark.parametrize(
    ("name", "code", "err"),
    [
        ("bar_p01.hl7", "AR", "200"),
        ("adt_a17.hl7", "AR", "201"),
        ("version_21.hl7", "AR", "203"),
        ("missing_msh10.hl7", "AE", "101"),
        ("bad_birth_date.hl7", "AE", "102"),
        ("no_msh.hl7", "AE", "100"),
    ],
)
def test_ack_for_parse_errors(name: str, code: str, err: str) -> None:
    raw = sample(name)
    with pytest.raises((Hl7Malformed, Hl7Unsupported)) as info:
        parse_message(raw)
    assert ack_code_for(info.value) == code
    ack = ack_for_exception(raw, info.value)
    parsed = parse_ack(ack)
    assert (parsed.code, parsed.error_code) == (code, err)
    assert parsed.text == info.value.message[:80]
    assert "Secretname" not in ack and "MRN-PHI" not in ack


def test_ack_for_other_errors() -> None:
    assert parse_ack(ack_for_exception(adt(), PatientNotFound("no link for MRN"))).code == "AE"
    info = parse_ack(ack_for_exception(adt(), RuntimeError("Jane Doe")))
    assert (info.code, info.text, info.error_code) == ("AE", "internal error", "207")


def test_parse_ack_rejects_non_acks() -> None:
    with pytest.raises(Hl7Malformed):
        parse_ack("MSH|^~\\&|A\rPID|1")


def test_clock_fixture_is_used(clock) -> None:
    clock.set(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert _segments(build_ack(adt(), "AA"))[0][6] == "20300102030405+0000"
