"""Through a real MLLP server: every frame, whatever it holds, gets exactly one ACK or NAK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7 import (
    AckDecision,
    MllpServerThread,
    ack_code_for,
    parse_ack,
    parse_message,
    send_messages_sync,
)
from tests.interop.hl7.samples import VALID


async def parsing_handler(raw: bytes, peer: str) -> AckDecision:
    try:
        parse_message(raw)
    except (Hl7Malformed, Hl7Unsupported) as exc:
        return AckDecision(ack_code_for(exc), exc.message, exc.details.get("hl7_error"))
    return AckDecision.accept()


@pytest.fixture(scope="module")
def server() -> Iterator[MllpServerThread]:
    with MllpServerThread("127.0.0.1", 0, parsing_handler, max_message_bytes=4096) as srv:
        yield srv


# MLLP payloads cannot contain the start (0x0B) or end (0x1C) block bytes.
_payload = st.binary(max_size=1200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))
_SAMPLES = [p.read_bytes().strip(b"\x0b\x1c\r") for p in VALID]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_payload, min_size=1, max_size=6))
def test_random_payloads_each_get_one_answer(
    server: MllpServerThread, payloads: list[bytes]
) -> None:
    acks = send_messages_sync("127.0.0.1", server.port, payloads, timeout=10, window=3)
    assert len(acks) == len(payloads)
    for ack in acks:
        assert parse_ack(ack).code in ("AA", "AE", "AR")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(_SAMPLES), st.floats(0, 1)), min_size=1, max_size=6))
def test_truncated_valid_messages_each_get_one_answer(
    server: MllpServerThread, cuts: list[tuple[bytes, float]]
) -> None:
    payloads = [raw[: int(len(raw) * f)] for raw, f in cuts]
    acks = send_messages_sync("127.0.0.1", server.port, payloads, timeout=10)
    assert len(acks) == len(payloads)
    for payload, ack in zip(payloads, acks, strict=True):
        info = parse_ack(ack)
        try:
            m = parse_message(payload)
        except (Hl7Malformed, Hl7Unsupported):
            assert info.code in ("AE", "AR")
        else:
            assert (info.code, info.control_id) == ("AA", m.control_id)


def test_oversized_random_payload_gets_ar(server: MllpServerThread) -> None:
    (ack,) = send_messages_sync("127.0.0.1", server.port, [b"A" * 10_000])
    assert parse_ack(ack).code == "AR"
