"""Refused HL7 input is never lost, and a reused control id is never a silent duplicate."""

from __future__ import annotations

import hashlib

from carepipe.core.config import Settings
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.pipelines.hl7_intake import start_mllp
from tests.interop.hl7.samples import PHI_TOKENS
from tests.pipelines.hl7_support import dead_letters, hl7_api, messages, sample_bytes


def _adt(control: str, family: str, mrn: str = "MRN900") -> bytes:
    return (
        f"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|{control}|P|2.5.1\r"
        f"PID|1||{mrn}^^^CITYHOSP^MR||{family}^Lata||19700101|F\r"
    ).encode()


def test_reused_control_id_with_other_content_is_refused_and_a_dead_letter(
    db, blobs, settings, run_jobs
):
    first, same, other = _adt("CTL-7", "Menon"), _adt("CTL-7", "Menon"), _adt("CTL-7", "Iyer")
    with hl7_api(db, blobs, settings) as api:
        a = api.post(first).json()
        b = api.post(same)  # a retransmission: the same job, AA
        c = api.post(other)  # same MSH-3/4/10, another patient
        d = api.post(other)  # the conflicting message resent: still refused, same dead letter
        assert a["ack_code"] == "AA"
        assert b.status_code == 200 and b.json()["job_id"] == a["job_id"]
        assert b.json()["ack_code"] == "AA" and b.json()["duplicate"]
        assert c.status_code == 422 and c.json()["job_id"] != a["job_id"]
        ack = parse_ack(c.json()["ack"])
        assert ack.code == "AE" and ack.text == "control id reused with different content"
        assert ack.error_code == "205" and ack.control_id == "CTL-7"
        assert c.json()["error"]["code"] == "hl7_control_id_reused"
        assert d.status_code == 422 and d.json()["job_id"] == c.json()["job_id"]
        jobs = run_jobs([a["job_id"], c.json()["job_id"]])
        assert [j.status for j in jobs] == ["succeeded", "dead"]
        assert jobs[1].error_code == "hl7_control_id_reused"
        assert api.job(a["job_id"])["status"] == "succeeded"  # the first is untouched
    (letter,) = dead_letters(db, "hl7_control_id_reused")
    assert letter["job_id"] == c.json()["job_id"] and letter["stage"] == "hl7"
    assert "Iyer" not in letter["error_message"]
    archived = {m.content_sha256 for m in messages(db, source="api")}
    assert hashlib.sha256(other).hexdigest() in archived


def test_the_same_over_mllp_within_one_batch_of_frames(db, blobs, settings):
    s = settings.model_copy(update={"mllp_port": 0, "mllp_tenant": "city"})
    server = start_mllp(s, db, blobs)
    try:
        acks = send_messages_sync(
            "127.0.0.1",
            server.port,
            [_adt("M-1", "Menon"), _adt("M-1", "Iyer"), _adt("M-1", "Menon")],
            window=3,
        )
    finally:
        server.stop()
    assert [parse_ack(a).code for a in acks] == ["AA", "AE", "AA"]


def test_http_refusals_are_archived_with_their_code(db, blobs, settings):
    with hl7_api(db, blobs, settings) as api:
        wrong_type = api.post(_adt("W1", "Menon"), "application/json")
        blank = api.post(b"  \r\n\t ")
        empty = api.post(b"")
        old = api.post(sample_bytes("unsupported", "version_21.hl7"))
        assert wrong_type.status_code == 415
        assert wrong_type.json()["error"]["code"] == "unsupported_media_type"
        assert blank.status_code == 422 and empty.status_code == 422
        assert old.status_code == 422 and old.json()["error"]["code"] == "hl7_unsupported"
        assert old.json()["ack_code"] == "AR"
    rejected = messages(db, status="rejected")
    assert sorted(m.error_code for m in rejected) == [
        "unsupported_media_type",
        "validation_failed",
        "validation_failed",
    ]
    assert {m.size_bytes for m in rejected} == {len(_adt("W1", "Menon")), 6, 0}
    # The unsupported version is archived too (accepted into the archive, a dead letter later).
    assert len(messages(db, status="accepted")) == 1


def test_mllp_frame_over_the_limit_gets_ar_and_is_archived(db, blobs, settings):
    limit = 64 * 1024
    s = settings.model_copy(
        update={
            "mllp_port": 0,
            "mllp_tenant": "city",
            "mllp_max_message_bytes": limit,
            "mllp_oversized_keep_bytes": 8192,
        }
    )
    big = _adt("BIG-1", "Menon") + b"OBX|1|ED|PDF^Report^L||^application^pdf^Base64^"
    big += b"A" * (limit * 3) + b"\r"
    server = start_mllp(s, db, blobs)
    try:
        ack_big, ack_ok = send_messages_sync("127.0.0.1", server.port, [big, _adt("OK-1", "Menon")])
    finally:
        server.stop()
    info = parse_ack(ack_big)
    assert info.code == "AR" and info.control_id == "BIG-1" and "maximum size" in (info.text or "")
    assert parse_ack(ack_ok).code == "AA"
    (kept,) = messages(db, status="rejected")
    assert kept.error_code == "payload_too_large" and kept.source == "mllp"
    assert kept.size_bytes == 8192 and blobs.get(kept.blob_key) == big[:8192]
    meta = kept.meta["hl7"]
    assert meta["original_size_bytes"] == len(big)
    assert meta["original_sha256"] == hashlib.sha256(big).hexdigest()


def test_default_mllp_limit_fits_a_lab_pdf() -> None:
    assert Settings(_env_file=None).mllp_max_message_bytes == 25 * 1024 * 1024  # type: ignore[call-arg]


def test_refusal_texts_carry_no_phi(db, blobs, settings):
    with hl7_api(db, blobs, settings) as api:
        for folder in ("malformed", "unsupported"):
            from tests.interop.hl7.samples import DATA

            for path in sorted((DATA / folder).glob("*.hl7")):
                raw = path.read_bytes()
                if not raw.strip():
                    continue
                body = api.post(raw).json()
                # MSA-2 echoes the control id by definition; the reasons must not echo content.
                shown = body["error"]["message"] + (parse_ack(body["ack"]).text or "")
                for token in PHI_TOKENS:
                    assert token.lower() not in shown.lower(), (path.name, token)
