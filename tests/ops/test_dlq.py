"""Dead-letter services: listing, payload masking and reveal, fix-and-replay; SQLite + PG."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from carepipe.core.auth import Principal
from carepipe.core.errors import Conflict, PatientNotFound, PermissionDenied, ValidationFailed
from carepipe.core.models import AuditEvent, Task, TaskAttempt
from carepipe.interop.identity.service import lookup
from carepipe.ops import dlq, payloads
from tests.support.console import make_dead
from tests.support.console_pipelines import HL7_TYPE, adt_message

OPS = Principal(kind="user", id="olga", roles=("ops",))
ML = Principal(kind="user", id="milo", roles=("ml_engineer",))
CLIN = Principal(kind="user", id="cleo", roles=("clinician",))


def _audits(db, action):
    with db.session() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_list_filters_counts_and_keyset_paging(db, blobs, clock):
    ids = []
    for i in range(7):
        clock.advance(seconds=1)
        ids.append(make_dead(db, blobs, tenant="acme" if i % 2 else "zen"))
    clock.advance(seconds=1)
    hl7 = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("no patient index entry for PID-3"),
    )
    with db.session() as s:
        counts = dlq.count_by_error(s, OPS)
        assert counts == {"validation_failed": 7, "patient_not_found": 1}
        first = dlq.page_dead(s, OPS, limit=3)
        assert [r.task_id for r in first.items] == [hl7, ids[6], ids[5]]
        second = dlq.page_dead(s, OPS, cursor=first.next_cursor, limit=3)
        third = dlq.page_dead(s, OPS, cursor=second.next_cursor, limit=3)
        seen = [r.task_id for r in first.items + second.items + third.items]
        assert seen == [hl7, *reversed(ids)] and third.next_cursor is None
        zen = dlq.list_dead(s, OPS, dlq.DeadLetterFilter(tenant="zen"))
        assert {r.tenant for r in zen} == {"zen"} and len(zen) == 4
        by_pipe = dlq.list_dead(s, OPS, dlq.DeadLetterFilter(pipeline="mrn_match", queue="t_match"))
        assert [r.task_id for r in by_pipe] == [hl7]
        assert dlq.count_dead(s, OPS, dlq.DeadLetterFilter(error_code="patient_not_found")) == 1
        with pytest.raises(PermissionDenied):
            dlq.list_dead(s, CLIN)


def test_time_range_filter(db, blobs, clock):
    a = make_dead(db, blobs)
    t_mid = clock.advance(seconds=60)
    b = make_dead(db, blobs)
    with db.session() as s:
        assert [r.task_id for r in dlq.list_dead(s, OPS, dlq.DeadLetterFilter(since=t_mid))] == [b]
        assert [r.task_id for r in dlq.list_dead(s, OPS, dlq.DeadLetterFilter(until=t_mid))] == [a]


def test_detail_has_attempt_history(db, blobs):
    tid = make_dead(db, blobs)
    with db.session() as s:
        d = dlq.dead_letter_detail(s, OPS, tid)
    assert d.error_code == "validation_failed" and d.status == "dead"
    assert [h.outcome for h in d.history] == ["dead"]
    assert d.can_replay and d.can_reveal and not d.can_map_patient
    with db.session() as s:
        d2 = dlq.dead_letter_detail(s, ML, tid)
    assert not d2.can_replay and not d2.can_reveal


def test_hl7_payload_masked_then_revealed_with_audit(db, blobs):
    tid = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("x"),
    )
    with db.session() as s:
        masked = dlq.payload_view(s, blobs, ML, tid)
    text = masked.model_dump_json()
    assert masked.kind == "hl7" and [seg.id for seg in masked.hl7_segments] == [
        "MSH",
        "EVN",
        "PID",
        "PV1",
    ]
    for secret in ("MRN12345", "Sharma", "Priya", "19800101", "MG Road"):
        assert secret not in text
    pid = {f.pos: f.value for f in masked.hl7_segments[2].fields}
    assert pid["PID-3"] == "•••^^^•••^•••" and pid["PID-5"] == "•••^•••"
    msh = {f.pos: f.value for f in masked.hl7_segments[0].fields}
    assert msh["MSH-9"] == "ADT^A01" and msh["MSH-12"] == "2.5"
    with pytest.raises(PermissionDenied), db.transaction() as s:
        dlq.payload_view(s, blobs, ML, tid, reveal=True, reason="curious")
    with pytest.raises(ValidationFailed), db.transaction() as s:
        dlq.payload_view(s, blobs, OPS, tid, reveal=True, reason="  ")
    assert _audits(db, "payload.reveal") == []
    with db.transaction() as s:
        shown = dlq.payload_view(s, blobs, OPS, tid, reveal=True, reason="INC-7 check PID")
    pid = {f.pos: f.value for f in shown.hl7_segments[2].fields}
    assert pid["PID-3"] == "MRN12345^^^CITYHOSP^MR"
    (ev,) = _audits(db, "payload.reveal")
    assert ev.actor == "user:olga" and ev.target_id == str(tid) and ev.reason == "INC-7 check PID"
    assert "MRN12345" not in json.dumps(ev.after)


def test_json_payload_masks_values_keeps_keys(db, blobs):
    tid = make_dead(db, blobs)
    with db.session() as s:
        v = dlq.payload_view(s, blobs, ML, tid)
    doc = json.loads(v.json_text)
    assert doc == {"fail": "•••", "patient": {"name": "•••", "mrn": "•••"}}
    with db.transaction() as s:
        r = dlq.payload_view(s, blobs, OPS, tid, reveal=True, reason="INC-8")
    assert json.loads(r.json_text)["patient"]["name"] == "Priya Sharma"


def test_audio_payload_only_bytes_after_permission(db, blobs):
    wav = b"RIFF" + b"\x00" * 40
    tid = make_dead(db, blobs, pipeline="two_step", payload=wav, content_type="audio/wav")
    with db.session() as s:
        v = dlq.payload_view(s, blobs, ML, tid)
        assert v.kind == "audio" and v.content is None
        with pytest.raises(PermissionDenied):
            dlq.payload_media(s, blobs, ML, tid)
        raw, media = dlq.payload_media(s, blobs, OPS, tid)
    assert raw == wav and media == "audio/wav"


def test_replay_keeps_history_and_refuses_double(db, blobs):
    tid = make_dead(db, blobs)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        dlq.replay_dead_task(s, ML, tid)
    with db.transaction() as s:
        dlq.replay_dead_task(s, OPS, tid, reason="INC-9")
    with pytest.raises(Conflict), db.transaction() as s:
        dlq.replay_dead_task(s, OPS, tid)
    with db.session() as s:
        t = s.get(Task, tid)
        assert t.status == "ready" and t.replay
        assert s.execute(select(TaskAttempt).where(TaskAttempt.task_id == tid)).scalars().all()
    assert len(_audits(db, "dlq.replay")) == 1


def test_map_patient_then_replay(db, blobs):
    tid = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("x"),
    )
    with db.session() as s:
        assert dlq.mrn_hint(s, blobs, OPS, tid).model_dump() == {
            "mrn": "MRN12345",
            "assigning_authority": "CITYHOSP",
        }
    clinician_mapper = Principal(kind="user", id="x", roles=("clinician",))
    with pytest.raises(PermissionDenied), db.transaction() as s:
        dlq.map_patient(s, clinician_mapper, tid, mrn="MRN12345", abha_number="12-3456-7890-1234")
    with db.transaction() as s:
        out = dlq.map_patient(
            s,
            OPS,
            tid,
            mrn="MRN12345",
            assigning_authority="CITYHOSP",
            abha_number="12-3456-7890-1234",
            reason="INC-10",
        )
    assert out.replayed and out.abha_masked == "XX-XXXX-XXXX-1234"
    with db.session() as s:
        assert lookup(s, "acme", "MRN12345", "CITYHOSP").abha_number == "12345678901234"
        assert s.get(Task, tid).status == "ready"
    (ev,) = _audits(db, "patient.map")
    assert "12345678901234" not in json.dumps(ev.after) and "MRN12345" not in json.dumps(ev.after)
    other = make_dead(db, blobs)
    with pytest.raises(Conflict), db.transaction() as s:
        dlq.map_patient(s, OPS, other, mrn="M", abha_number="12-3456-7890-1234")


# -- issue 10 F2: declared JSON that is not JSON --------------------------------------------


@pytest.mark.parametrize(
    "raw, why",
    [
        (b'{"pipeline":"echo","payload":', "Expecting value"),
        (b'{"patient": {"name": "Priya Sharma", "mrn": "MRN1"}} trailing', "Extra data"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_invalid_json_payload_falls_back_to_masked_text(db, blobs, raw, why):
    tid = make_dead(db, blobs, payload=raw, content_type="application/json")
    with db.session() as s:
        v = dlq.payload_view(s, blobs, ML, tid)
    assert v.kind == "text" and v.content_type == "application/json" and not v.revealed
    assert v.note and why in v.note and "not valid JSON" in v.note
    for secret in ("Priya", "MRN1", "echo"):
        assert secret not in v.model_dump_json()
    with db.transaction() as s:
        r = dlq.payload_view(s, blobs, OPS, tid, reveal=True, reason="INC-11")
    assert r.kind == "text" and r.text == raw.decode() and r.note == v.note


def test_invalid_utf8_declared_json_is_bytes(db, blobs):
    raw = b'{"x": "\xff\xfe"'
    tid = make_dead(db, blobs, payload=raw, content_type="application/json; charset=utf-8")
    with db.session() as s:
        v = dlq.payload_view(s, blobs, ML, tid)
    assert v.kind == "binary" and v.content is None and "shown as bytes" in (v.note or "")
    with db.transaction() as s:
        r = dlq.payload_view(s, blobs, OPS, tid, reveal=True, reason="INC-12")
    assert r.content == raw and r.model_dump()["content_base64"]


@pytest.mark.parametrize(
    "text, masked",
    [
        ('{"pipeline":"echo","payload":', '{"pipeline":"•••","payload":'),
        ('{"a": 1, "b": null, "c": [true, "x"]}', '{"a": •••, "b": null, "c": [•••, "•••"]}'),
        ('{"name": "Priya Sh', '{"name": "•••'),
        # Keys that do not look like field names are values in disguise: masked too.
        ('{"Priya Sharma": 1}', '{"•••": •••}'),
        ("garbage here", "••• •••"),
    ],
)
def test_mask_json_text_keeps_structure_only(text, masked):
    assert payloads.mask_json_text(text) == masked


# -- the MRN alone, for whoever may map it ----------------------------------------------------


def test_mapping_hint_shows_the_mrn_alone_and_is_audited(db, blobs):
    tid = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("x"),
    )
    with pytest.raises(PermissionDenied), db.transaction() as s:
        dlq.mapping_hint(s, blobs, ML, tid)
    assert _audits(db, "payload.view_mrn") == []
    with db.transaction() as s:
        hint = dlq.mapping_hint(s, blobs, OPS, tid)
    assert hint.model_dump() == {
        "mrn": "MRN12345",
        "assigning_authority": "CITYHOSP",
        "mapped": False,
    }
    (ev,) = _audits(db, "payload.view_mrn")
    assert ev.actor == "user:olga" and ev.target_id == str(tid)
    assert "MRN12345" not in json.dumps(ev.after)
    assert _audits(db, "payload.reveal") == []  # the payload itself was not revealed
    with db.transaction() as s:
        dlq.map_patient(s, OPS, tid, mrn="MRN12345", abha_number="12-3456-7890-1234", replay=False)
    with db.transaction() as s:
        assert dlq.mapping_hint(s, blobs, OPS, tid).mapped is True
    other = make_dead(db, blobs)
    with pytest.raises(Conflict), db.transaction() as s:
        dlq.mapping_hint(s, blobs, OPS, other)


def test_detail_counts_attempts_across_a_replay(db, blobs):
    from carepipe.core.queue import claim, fail

    tid = make_dead(db, blobs)
    with db.transaction() as s:
        dlq.replay_dead_task(s, OPS, tid, reason="INC-13")
    (task,) = claim(db, queues=["t_first"], worker_id="w", limit=1, lease_seconds=30)
    fail(db, task, ValidationFailed("again"), retry_base=0.1, retry_cap=0.1)
    with db.session() as s:
        d = dlq.dead_letter_detail(s, OPS, tid)
    assert d.replayed and d.attempts == 1 and d.attempts_in_all == 2
    assert [h.replay for h in d.history] == [False, True]
