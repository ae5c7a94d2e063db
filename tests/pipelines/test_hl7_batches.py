"""FHS/BHS batches over HTTP and MLLP: each message archived, processed and acknowledged."""

from __future__ import annotations

from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.pipelines.hl7_intake import start_mllp
from tests.pipelines.hl7_support import hl7_api, messages, sample_bytes


def _acks(batch_ack: str) -> list[str]:
    """The ACK messages inside a batch ACK, each as text."""
    segs = batch_ack.strip("\r").split("\r")
    out, cur = [], []
    for seg in segs:
        if seg.startswith("MSH") and cur:
            out.append("\r".join(cur))
            cur = []
        if seg[:3] in ("MSH", "MSA", "ERR"):
            cur.append(seg)
    if cur:
        out.append("\r".join(cur))
    return out


def _check_batch_ack(text: str, controls: list[str], codes: list[str], file: bool) -> None:
    segs = text.strip("\r").split("\r")
    assert segs[0].startswith("FHS|" if file else "BHS|")
    if file:
        assert segs[1].startswith("BHS|") and segs[-1] == "FTS|1"
    bts = next(s for s in segs if s.startswith("BTS|"))
    assert bts.split("|")[1] == str(len(controls))
    infos = [parse_ack(a) for a in _acks(text)]
    assert [i.control_id for i in infos] == controls and [i.code for i in infos] == codes


def test_http_file_with_three_messages(db, blobs, settings, run_jobs):
    raw = sample_bytes("batch", "fhs_three_messages.hl7")
    with hl7_api(db, blobs, settings) as api:
        resp = api.post(raw)
        body = resp.json()
        assert resp.status_code == 202 and body["batch"] is True and body["ack_code"] == "AE"
        _check_batch_ack(body["ack"], ["B-1", "B-2", "B-3"], ["AA", "AA", "AE"], file=True)
        bhs = next(s for s in body["ack"].split("\r") if s.startswith("BHS|"))
        assert bhs.split("|")[11] == "BATCH-1"  # BHS-12: the batch acknowledged
        jobs = run_jobs([m["job_id"] for m in body["messages"]])
        assert [j.status for j in jobs] == ["succeeded", "succeeded", "dead"]
        assert jobs[2].error_code == "hl7_malformed"  # B-3 has no PID
        again = api.post(raw).json()  # the whole file resent: duplicates, same jobs
        assert [m["job_id"] for m in again["messages"][:2]] == [
            m["job_id"] for m in body["messages"][:2]
        ]
    kept = {j.message_id for j in jobs}
    first = sorted(
        (m for m in messages(db, source="api") if m.id in kept),
        key=lambda m: m.meta["hl7"]["batch"]["index"],
    )
    assert [m.meta["hl7"]["batch"]["index"] for m in first] == [1, 2, 3]
    assert all(m.meta["hl7"]["batch"]["count"] == 3 for m in first)
    # Each message archived as its own bytes; the whole file is kept in the blob store.
    assert blobs.get(first[0].blob_key).startswith(b"MSH|") and b"FHS" not in blobs.get(
        first[0].blob_key
    )
    assert blobs.get("sha256/" + first[0].meta["hl7"]["batch"]["file_sha256"]) == raw


def test_python_hl7_batch_over_mllp_gets_one_batch_ack(db, blobs, settings):
    """python-hl7's ``sample_batch1`` (BSD): BHS, two ADT^A04, BTS; PID-8 is ``1``."""
    raw = sample_bytes("third_party", "python-hl7/sample_batch1.hl7")
    s = settings.model_copy(update={"mllp_port": 0, "mllp_tenant": "city"})
    server = start_mllp(s, db, blobs)
    try:
        (answer,) = send_messages_sync("127.0.0.1", server.port, [raw])
    finally:
        server.stop()
    _check_batch_ack(answer, ["12334456778890", "12334456778891"], ["AA", "AA"], file=False)
    assert len(messages(db, source="mllp")) == 2


def test_empty_batch_is_refused_and_archived(db, blobs, settings):
    raw = b"BHS|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301||||EMPTY-1\rBTS|0\r"
    with hl7_api(db, blobs, settings) as api:
        resp = api.post(raw)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "hl7_malformed"
    assert "BTS|0" in resp.json()["ack"]
    (kept,) = messages(db, status="rejected")
    assert blobs.get(kept.blob_key) == raw
