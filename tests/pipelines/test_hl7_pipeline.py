"""HL7 v2 end to end: MLLP/HTTP intake, patient index, FHIR, dead letters and replay."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carepipe.app import create_app
from carepipe.core.audit import verify_chain
from carepipe.core.auth import SYSTEM
from carepipe.core.models import AuditEvent, Job, Message
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.interop.identity.service import lookup
from carepipe.ops.dlq import replay_dead_task
from carepipe.pipelines.hl7_intake import receive_hl7, receive_hl7_many, start_mllp
from tests.api.conftest import make_key
from tests.pipelines.conftest import artifacts_of, dead_task


def adt(control: str, mrn: str = "MRN100", abha: str = "12-3456-7890-1234") -> bytes:
    return (
        f"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|{control}|P|2.5.1\r"
        f"PID|1||{mrn}^^^CITYHOSP^MR~{abha}^^^ABDM^ABHA||Rao^Anita||19800101|F\r"
        "PV1|1|O|OPD^1^1|||||||||||||||V100\r"
    ).encode()


def oru(control: str, mrn: str = "MRN200") -> bytes:
    return (
        f"MSH|^~\\&|LIS|CITYLAB|CAREPIPE|CP|20260301100000||ORU^R01^ORU_R01|{control}|P|2.5.1\r"
        f"PID|1||{mrn}^^^CITYHOSP^MR||Iyer^Ravi||19750505|M\r"
        "OBR|1|ORD-1|FIL-1|57698-3^Lipid panel^LN|||20260301093000\r"
        "OBX|1|NM|2093-3^Cholesterol^LN||212|mg/dL|<200|H|||F\r"
        "OBX|2|NM|2085-9^HDL^LN||41|mg/dL|>40|N|||F\r"
    ).encode()


def test_adt_links_the_patient_and_builds_a_bundle(db, blobs, run_jobs):
    r = receive_hl7(db, blobs, tenant="city", raw=adt("C1"), source="mllp")
    assert r.ack_code == "AA" and parse_ack(r.ack).control_id == "C1"
    (job,) = run_jobs([r.job_id])
    assert job.status == "succeeded", job.error_message
    with db.session() as s:
        link = lookup(s, "city", "MRN100", "CITYHOSP")
        assert link is not None and link.abha_number == "12345678901234"
        events = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "patient.link")).scalars().all()
        )
        assert len(events) == 1 and "MRN100" not in json.dumps(events[0].after)
        assert verify_chain(s).ok
    bundle = json.loads(blobs.get(artifacts_of(db, r.job_id)["fhir_bundle"].blob_key))
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["gender"] == "female"
    assert {i["value"] for i in patient["identifier"]} >= {"MRN100"}
    # The same message again (a sender's retransmission) is the same job, acknowledged again.
    again = receive_hl7(db, blobs, tenant="city", raw=adt("C1"), source="mllp")
    assert again.job_id == r.job_id and not again.created and again.ack_code == "AA"


def test_unknown_patient_dead_letter_then_mapping_then_replay(db, blobs, settings, run_jobs):
    r = receive_hl7(db, blobs, tenant="city", raw=oru("L1"), source="mllp")
    (job,) = run_jobs([r.job_id])
    assert job.status == "dead" and job.error_code == "patient_not_found"
    task = dead_task(db, r.job_id)
    assert task.stage == "match" and "MRN200" not in (task.last_error_message or "")
    # The operator maps the MRN over the API, then replays the dead letter.
    key = make_key(db, tenant="city")
    with TestClient(create_app(settings, db=db, blobs=blobs)) as client:
        resp = client.put(
            "/v1/patients/MRN200",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "abha_number": "98765432109876",
                "assigning_authority": "CITYHOSP",
                "reason": "INC-7",
            },
        )
        assert resp.status_code == 200 and resp.json()["abha_number"] == "98-7654-3210-9876"
        bad = client.put(
            "/v1/patients/MRN201",
            headers={"Authorization": f"Bearer {key}"},
            json={"abha_number": "1234"},
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"
    with db.transaction() as s:
        replay_dead_task(s, SYSTEM, task.id, reason="mapped MRN")
    (job,) = run_jobs([r.job_id])
    assert job.status == "succeeded" and job.replay
    bundle = json.loads(blobs.get(artifacts_of(db, r.job_id)["fhir_bundle"].blob_key))
    kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == ["DiagnosticReport", "Observation", "Observation"]
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert "98765432109876" in report["subject"]["reference"]


def test_malformed_over_http_is_archived_refused_and_a_dead_letter(db, blobs, settings, run_jobs):
    key = make_key(db, tenant="city")
    raw = b"MSH|^~\\&|HIS|X|||20260101||ADT^A01|Z9|P|2.5.1\rPV1|1|I\r"  # no PID
    with TestClient(create_app(settings, db=db, blobs=blobs)) as client:
        resp = client.post(
            "/v1/hl7",
            content=raw,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "x-application/hl7-v2+er7"},
        )
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"]["code"] == "hl7_malformed" and body["ack_code"] == "AE"
        assert parse_ack(body["ack"]).code == "AE"
        ok = client.post(
            "/v1/hl7",
            content=adt("H2"),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
        )
        assert ok.status_code == 202 and ok.json()["ack_code"] == "AA"
    (job,) = run_jobs([body["job_id"]])
    assert job.status == "dead" and job.error_code == "hl7_malformed"
    with db.session() as s:
        msg = s.get(Message, job.message_id)
    assert blobs.get(msg.blob_key) == raw


@pytest.mark.timeout(300)
def test_mllp_thousand_messages_thousand_acks_thousand_archived(db, blobs, settings):
    s = settings.model_copy(update={"mllp_port": 0, "mllp_tenant": "city"})
    server = start_mllp(s, db, blobs)
    try:
        messages = [adt(f"M{i:04d}", mrn=f"MRN{i}") for i in range(1000)]
        acks = send_messages_sync("127.0.0.1", server.port, messages, window=20)
    finally:
        server.stop()
    infos = [parse_ack(a) for a in acks]
    assert len(infos) == 1000 and all(i.code == "AA" for i in infos)
    assert sorted(i.control_id for i in infos) == sorted(f"M{i:04d}" for i in range(1000))
    with db.session() as session:
        assert (
            session.execute(
                select(func.count()).select_from(Message).where(Message.source == "mllp")
            ).scalar_one()
            == 1000
        )
        assert session.execute(select(func.count()).select_from(Job)).scalar_one() == 1000


def test_mllp_malformed_gets_a_nak_and_is_kept(db, blobs, settings):
    s = settings.model_copy(update={"mllp_port": 0})
    server = start_mllp(s, db, blobs)
    try:
        (ack,) = send_messages_sync(
            "127.0.0.1", server.port, [b"MSH|^~\\&|A|B|C|D|2026||BAR^P01|Q1|P|2.5.1\r"]
        )
    finally:
        server.stop()
    info = parse_ack(ack)
    assert info.code == "AR" and info.control_id == "Q1"
    with db.session() as session:
        msg = session.execute(select(Message)).scalar_one()
        assert msg.source == "mllp"


def test_messages_received_together_are_stored_together_with_their_own_answers(db, blobs):
    """A batch with a repeat and a malformed message: one job per distinct message,
    the repeat points at the first, the malformed one is kept and refused."""
    raws = [adt("G1"), b"MSH|^~\\&|A|B|C|D|2026||BAR^P01|G2|P|2.5.1\r", adt("G3"), adt("G1")]
    receipts = receive_hl7_many(db, blobs, tenant="city", raws=raws, source="mllp")
    assert [r.ack_code for r in receipts] == ["AA", "AR", "AA", "AA"]
    assert [parse_ack(r.ack).control_id for r in receipts] == ["G1", "G2", "G3", "G1"]
    assert receipts[3].job_id == receipts[0].job_id and not receipts[3].created
    assert len({r.job_id for r in receipts}) == 3
    with db.session() as session:
        statuses = sorted(session.execute(select(Message.status)).scalars())
        jobs = session.execute(select(func.count()).select_from(Job)).scalar_one()
    assert statuses == ["accepted", "accepted", "accepted", "duplicate"] and jobs == 3
    # The same batch again: the readable messages are repeats now and queue nothing;
    # a malformed one has no control id to recognise it by, so it is kept again.
    again = receive_hl7_many(db, blobs, tenant="city", raws=raws, source="mllp")
    readable = [0, 2, 3]
    assert [again[i].job_id for i in readable] == [receipts[i].job_id for i in readable]
    assert [r.created for r in again] == [False, True, False, False]
