"""``/v1/backfills`` and ``/v1/archive/messages`` over HTTP (real uvicorn, both databases)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import httpx
import pytest

from carepipe.app import create_app
from carepipe.core.crypto import sha256_hex
from tests.ops.backfill.helpers import (
    LiveServer,
    accepted,
    drain,
    personal_token,
    rejected,
)


@pytest.fixture
def api(settings, db, blobs, clock):
    app = create_app(settings, db=db, blobs=blobs)
    with LiveServer(app) as live:
        ops = personal_token(db, "olga", "ops")
        doc = personal_token(db, "dora", "clinician")
        with (
            httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {ops}"}) as c,
            httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {doc}"}) as d,
            httpx.Client(base_url=live.url) as anon,
        ):
            yield c, d, anon


@pytest.fixture
def seeded(db, blobs, settings, clock):
    t0 = clock.now()
    for n in range(3):
        accepted(db, blobs, {"n": n})
    accepted(db, blobs, {"fail": "permanent"})
    rejected(db, blobs)
    drain(db, blobs, settings, clock)
    clock.advance(60)
    return {"since": (t0 - timedelta(hours=1)).isoformat(), "until": clock.now().isoformat()}


def test_archive_query(api, seeded):
    ops, clinician, anon = api
    r = ops.get("/v1/archive/messages", params={**seeded, "pipeline": "two_step", "limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 5 and len(body["items"]) == 2 and body["next_cursor"]
    r2 = ops.get(
        "/v1/archive/messages",
        params={**seeded, "pipeline": "two_step", "limit": 10, "cursor": body["next_cursor"]},
    )
    ids = [m["id"] for m in body["items"]] + [m["id"] for m in r2.json()["items"]]
    assert len(set(ids)) == 5 and r2.json()["next_cursor"] is None
    failed = ops.get("/v1/archive/messages", params={"error_code": "validation_failed"}).json()
    assert failed["count"] == 1 and failed["items"][0]["job_status"] == "dead"
    assert anon.get("/v1/archive/messages").json()["error"]["code"] == "auth_required"
    r = clinician.get("/v1/archive/messages")
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    # A time without a zone is refused by the declared parameter type, as on every route.
    r = ops.get("/v1/archive/messages", params={"since": "2026-03-01T00:00:00"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"


def test_start_pause_resume_cancel_report(api, seeded, db, blobs, settings, clock):
    ops, clinician, _ = api
    body = {"filter": seeded, "pipeline": "two_step", "rate_per_minute": 60, "reason": "INC-9"}
    r = clinician.post("/v1/backfills", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    r = ops.post("/v1/backfills", json=body)
    assert r.status_code == 201, r.text
    bf = r.json()
    assert (bf["status"], bf["enqueued"], bf["remaining"]) == ("running", 5, 5)
    bid = bf["id"]
    assert ops.get(f"/v1/backfills/{bid}").json()["eta_seconds"] == pytest.approx(5 * 60 / 60)
    r = ops.get(f"/v1/backfills/{bid}/report")
    assert r.status_code == 409 and r.json()["error"]["code"] == "backfill_not_finished"
    assert (
        ops.post(f"/v1/backfills/{bid}/pause", json={"reason": "EMR window"}).json()["status"]
        == "paused"
    )
    r = ops.post(f"/v1/backfills/{bid}/pause")
    assert r.status_code == 409 and r.json()["error"]["code"] == "backfill_state_conflict"
    assert ops.post(f"/v1/backfills/{bid}/resume").json()["status"] == "running"
    drain(db, blobs, settings, clock)
    done = ops.get(f"/v1/backfills/{bid}").json()
    assert done["status"] == "completed"
    assert (done["processed"], done["succeeded"], done["failed"]) == (5, 4, 1)
    assert done["report"]["json_url"] == f"/v1/backfills/{bid}/report?format=json"
    r = ops.get(done["report"]["json_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["x-report-sha256"] == sha256_hex(r.content) == done["report"]["sha256"]
    assert f"backfill-{bid}-report.json" in r.headers["content-disposition"]
    assert json.loads(r.content)["summary"]["failed"] == 1
    r = ops.get(done["report"]["csv_url"])
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["outcome"] for row in rows].count("succeeded") == 4
    failed = ops.get(f"/v1/backfills/{bid}/items", params={"only": "failed"}).json()["items"]
    assert [i["error_code"] for i in failed] == ["validation_failed"]
    listed = ops.get("/v1/backfills").json()["items"]
    assert [b["id"] for b in listed] == [bid] and listed[0]["succeeded"] == 4
    r = ops.post(f"/v1/backfills/{bid}/cancel")
    assert r.status_code == 409

    second = ops.post("/v1/backfills", json=body).json()
    cancelled = ops.post(f"/v1/backfills/{second['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled"] == 5 and cancelled["report"] is not None


def test_validation_errors(api, seeded):
    ops, _, _ = api
    r = ops.post("/v1/backfills", json={"filter": {}, "pipeline": "two_step", "rate_per_minute": 5})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = ops.post(
        "/v1/backfills", json={"filter": seeded, "pipeline": "two_step", "rate_per_minute": 0}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    r = ops.post("/v1/backfills", json={"filter": seeded, "pipeline": "nope", "rate_per_minute": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_pipeline"
    # Not an id at all (the documented pattern): 422; a well-formed unknown id: 404.
    r = ops.get("/v1/backfills/does-not-exist")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    r = ops.get("/v1/backfills/" + "0" * 32)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = ops.get("/v1/backfills/x/report", params={"format": "xml"})
    assert r.status_code == 422
