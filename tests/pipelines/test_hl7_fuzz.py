"""Fuzzing the MLLP framer and the intake together: any bytes a sender writes get answers,
nothing crashes the listener, and nothing refused goes unarchived."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from carepipe.core.models import Job, Message, Task
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.batch import is_batch, split_batch
from carepipe.interop.hl7.framing import frame
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.pipelines.hl7_intake import start_mllp
from tests.interop.hl7.samples import VALID

SAMPLES = [p.read_bytes() for p in VALID]
_BY_NAME = {p.name: p.read_bytes() for p in VALID}
# Two samples that share the control id CTL-PHI-1 with different content: the second is a
# reused control id (AE, its own job); resending it repeats that AE as a duplicate.
_SIU, _ADT = _BY_NAME["siu_s12_v251.hl7"], _BY_NAME["adt_a01_v27.hl7"]

_mutation = st.tuples(st.floats(0, 1), st.integers(0, 255), st.integers(0, 8))


def _mutate(raw: bytes, edits: list[tuple[float, int, int]]) -> bytes:
    data = bytearray(raw)
    for where, byte, length in edits:
        i = int(where * len(data))
        data[i : i + length] = bytes([byte])
    # The framer owns 0x0B/0x1C: payload bytes that collide with them are the framer's
    # own test (test_framing); here every payload must stay one frame.
    return bytes(data).replace(b"\x0b", b"?").replace(b"\x1c", b"?")


_payload = st.one_of(
    st.binary(max_size=300).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")),
    st.tuples(st.sampled_from(SAMPLES), st.lists(_mutation, max_size=6)).map(lambda t: _mutate(*t)),
    st.sampled_from(SAMPLES),
)


def _ack_codes(answer: bytes | str) -> list[str]:
    """The MSA-1 codes of one answer: a single ACK, or a batch ACK's inner ACKs.

    A batch refused as a whole (no message inside it) is answered with an empty batch
    whose BTS says why: that is one refusal, ``AR``.
    """
    raw = answer.encode() if isinstance(answer, str) else answer
    if not is_batch(raw):
        return [parse_ack(raw).code]
    inner = split_batch(raw).messages
    return [parse_ack(m).code for m in inner] or ["AR"]


def test_fuzzed_frames_each_get_one_ack_and_are_all_archived(db, blobs, settings) -> None:
    s = settings.model_copy(update={"mllp_port": 0, "mllp_tenant": "fuzz"})
    server = start_mllp(s, db, blobs)

    @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_payload, min_size=1, max_size=5), st.integers(1, 5))
    @example(payloads=[_SIU, _ADT, _ADT, _ADT], window=1)  # found by CI on 2026-11-27
    @example(payloads=[b"BHS|^~\\&\rBTS|0\r"], window=1)  # a batch refused whole
    def run(payloads: list[bytes], window: int) -> None:
        with db.transaction() as session:  # each example starts from an empty archive
            session.execute(delete(Task))
            session.execute(delete(Job))
            session.execute(delete(Message))
        acks = send_messages_sync("127.0.0.1", server.port, payloads, window=window, timeout=30)
        assert len(acks) == len(payloads)
        codes = [code for a in acks for code in _ack_codes(a)]
        assert all(code in ("AA", "AE", "AR") for code in codes)
        with db.session() as session:
            archived = session.execute(select(func.count()).select_from(Message)).scalar_one()
            by_status = dict(
                session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
            )
            jobs = session.execute(select(func.count()).select_from(Job)).scalar_one()
        # Every frame is archived (a batch frame once per message inside it).
        assert archived >= len(payloads)
        # Every refused (AE/AR) answer leaves a trace: a job that will be a dead letter, a
        # rejected row (a batch refused whole has no job), or a duplicate row (a resent
        # refused message is answered with its original's AE and shares that job). This
        # once counted only duplicates, then only rejected rows; each missed a real case.
        refused = sum(code != "AA" for code in codes)
        traces = jobs + by_status.get("rejected", 0) + by_status.get("duplicate", 0)
        assert traces >= refused

    try:
        run()
    finally:
        server.stop()
    assert server.server.stats.handler_errors == 0
    # The stream framing itself (garbage between frames) never desynchronises.
    assert frame(b"x").startswith(b"\x0b")
