"""Property tests: no input makes the parser raise anything but Hl7Malformed / Hl7Unsupported."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7 import (
    AdtMessage,
    DocumentMessage,
    OrderMessage,
    OruMessage,
    ParsedMessage,
    ScheduleMessage,
    VaccinationMessage,
    build_ack,
    parse_ack,
    parse_message,
)
from tests.interop.hl7.samples import VALID

SAMPLES = [p.read_bytes() for p in VALID]
PHI = "PHITOKEN"


def _check(raw: bytes | str) -> ParsedMessage | None:
    """Parse; only our two errors may escape, and a result must survive JSON round-trip."""
    try:
        m = parse_message(raw)
    except (Hl7Malformed, Hl7Unsupported) as exc:
        assert exc.message and PHI not in exc.message and PHI not in repr(exc.details)
        return None
    assert isinstance(
        m,
        AdtMessage
        | OruMessage
        | OrderMessage
        | ScheduleMessage
        | DocumentMessage
        | VaccinationMessage,
    )
    assert ParsedMessage.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    return m


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=800))
def test_random_bytes_after_a_valid_msh_start(tail: bytes) -> None:
    _check(b"MSH|^~\\&|" + tail)


@pytest.mark.parametrize("raw", SAMPLES, ids=[p.name for p in VALID])
def test_every_truncation_of_every_valid_sample(raw: bytes) -> None:
    for cut in range(len(raw) + 1):
        _check(raw[:cut])


_DELIMS = st.sampled_from(list(b'|^~\\&\r\n\x0b\x1c "0A'))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 2), _DELIMS), max_size=8),
)
def test_mutated_valid_samples(raw: bytes, edits: list[tuple[float, int, int]]) -> None:
    data = bytearray(raw)
    for where, op, byte in edits:
        i = int(where * len(data)) if data else 0
        if op == 0 and data:
            data[i] = byte
        elif op == 1:
            data.insert(i, byte)
        elif data:
            del data[i]
    _check(bytes(data))


_FIELD_CHARS = st.sampled_from([*'|^~\\&"ABCxyz0129.-+ #', PHI])
_field = st.lists(_FIELD_CHARS, max_size=12).map("".join)
_segment = st.tuples(
    st.sampled_from(["PID", "PV1", "OBR", "OBX", "NTE", "ORC", "EVN", "ZPI", "MSH"]),
    st.lists(_field, max_size=20),
).map(lambda t: "|".join([t[0], *t[1]]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["ADT^A01", "ADT^A04", "ADT^A08^ADT_A01", "ORU^R01", "ORU", "SIU^S12", ""]),
    st.sampled_from(["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.7", ""]),
    st.lists(_segment, max_size=12),
    st.sampled_from(["\r", "\n", "\r\n"]),
)
def test_structured_random_messages(
    mtype: str, version: str, segments: list[str], eol: str
) -> None:
    msh = f"MSH|^~\\&|APP|FAC|CP|CP|20240101||{mtype}|CTRL|P|{version}"
    _check(eol.join([msh, *segments]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["AA", "AE", "AR"]))
def test_build_ack_answers_any_input(raw: bytes, code: str) -> None:
    ack = build_ack(raw, code, "text")  # type: ignore[arg-type]
    info = parse_ack(ack)
    assert info.code == code
    assert "\x1c" not in ack and "\x0b" not in ack


@pytest.mark.parametrize("raw", SAMPLES, ids=[p.name for p in VALID])
def test_ack_of_every_truncation_quotes_the_control_id_when_readable(raw: bytes) -> None:
    full = parse_message(raw)
    for cut in range(0, len(raw) + 1, 7):
        info = parse_ack(build_ack(raw[:cut], "AE", None))
        assert info.code == "AE"
        assert full.control_id.startswith(info.control_id) or info.control_id == ""
