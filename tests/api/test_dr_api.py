"""``/v1/dr``: stored drills and their reports over HTTP (the staff API): who may read them,
what a drill carries (targets against measurements, timeline, smoke tests, findings), and
the report downloads in HTML, JSON and PDF."""

from __future__ import annotations

import json
from datetime import date

from fastapi.testclient import TestClient

from carepipe.core.auth import SYSTEM
from carepipe.ops import users
from tests.support.console import make_user
from tests.support.dr_drills import T0, stored_drill


def _token(db, username: str, role: str) -> dict[str, str]:
    make_user(db, username, role)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, username).plaintext
    return {"Authorization": f"Bearer {token}"}


def test_drills_and_reports(client: TestClient, db, auth):
    from datetime import timedelta

    old, _ = stored_drill(db, status="failed", rto=9000.0, rpo=2.0)
    new, (fid,) = stored_drill(
        db,
        started_at=T0 + timedelta(days=1),
        findings=(("Document the standby port", "medium", date(2026, 4, 1)),),
    )
    ops = _token(db, "otto", "ops")

    r = client.get("/v1/dr/drills", headers=ops)
    assert r.status_code == 200, r.text
    drills = r.json()
    assert [d["id"] for d in drills] == [new, old]  # newest first
    failed = drills[1]
    assert failed["status"] == "failed"
    assert (failed["rto_seconds"], failed["rto_target_seconds"], failed["rto_met"]) == (
        9000.0,
        7200,
        False,
    )
    assert (failed["rpo_seconds"], failed["rpo_met"]) == (2.0, True)
    assert client.get("/v1/dr/drills", params={"limit": 1}, headers=ops).json()[0]["id"] == new

    one = client.get(f"/v1/dr/drills/{new}", headers=ops).json()
    assert [e["step"] for e in one["timeline"]] == ["fence", "restore", "standby_up", "smoke"]
    assert [s["name"] for s in one["smoke"]] == ["health", "mllp"]
    assert one["findings"][0]["id"] == fid and one["missing"] == []

    r = client.get("/v1/dr/drills/no-such-drill", headers=ops)
    assert r.status_code == 404 and r.json()["error"]["code"] == "drill_not_found"

    r = client.get(f"/v1/dr/drills/{new}/report", params={"format": "json"}, headers=ops)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert new in json.dumps(r.json())
    r = client.get(f"/v1/dr/drills/{new}/report", headers=ops)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert new in r.text and "attachment" in r.headers["content-disposition"]
    r = client.get(f"/v1/dr/drills/{new}/report", params={"format": "pdf"}, headers=ops)
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    r = client.get(f"/v1/dr/drills/{new}/report", params={"format": "doc"}, headers=ops)
    assert r.status_code == 422

    # A partner key and a clinician are refused; a drill cannot be started over the API.
    for refused in (auth, _token(db, "cleo", "clinician")):
        r = client.get("/v1/dr/drills", headers=refused)
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        r = client.get(f"/v1/dr/drills/{new}/report", headers=refused)
        assert r.status_code == 403
    assert client.get("/v1/dr/drills").status_code == 401
    assert client.post("/v1/dr/drills", headers=ops).status_code == 405


def test_openapi_documents_the_dr_routes(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/dr/drills"]) == {"get"}
    assert paths["/v1/dr/drills/{drill_id}/report"]["get"]["operationId"] == "getDrillReport"
    assert set(paths["/v1/dr/findings/{finding_id}"]) == {"patch"}
    patch = paths["/v1/dr/findings/{finding_id}"]["patch"]
    assert "404" in patch["responses"] and "422" in patch["responses"]
