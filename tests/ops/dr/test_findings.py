"""Drill findings as action items, through the staff API on SQLite and PostgreSQL: who may
read and change them, closing stamps who and when, every change is in the audit log, and
the exports are in the shape Jira's CSV and JSON importers take."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient

from carepipe.core.auth import SYSTEM
from carepipe.ops import users
from tests.support.console import make_user
from tests.support.console_http import sign_in
from tests.support.dr_drills import stored_drill

JIRA_CSV_HEADER = [
    "Summary",
    "Issue Type",
    "Priority",
    "Assignee",
    "Due Date",
    "Labels",
    "Labels",
    "Labels",
    "Status",
    "External ID",
    "Description",
]


def _token(db, username: str, role: str) -> dict[str, str]:
    make_user(db, username, role)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, username).plaintext
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(settings, db, blobs):
    from carepipe.app import create_app

    with TestClient(create_app(settings, db=db, blobs=blobs)) as client:
        yield client


def test_findings_lifecycle_permissions_and_audit(api, db):
    drill_id, (slow, formula) = stored_drill(
        db,
        findings=(
            ("Restore slower than expected", "high", date(2026, 4, 1)),
            ("=HYPERLINK(1) in a title", "low", date(2026, 5, 1)),
        ),
    )
    other_drill, (elsewhere,) = stored_drill(
        db, status="failed", findings=(("Smoke test failed", "critical", date(2026, 4, 2)),)
    )
    admin = _token(db, "ada", "admin")
    ops = _token(db, "otto", "ops")
    compliance = _token(db, "cora", "compliance")
    clinician = _token(db, "cleo", "clinician")

    # dr.read: admin, ops, compliance; not a clinician.
    for who in (admin, ops, compliance):
        r = api.get("/v1/dr/findings", params={"drill_id": drill_id}, headers=who)
        assert r.status_code == 200, r.text
        assert [f["id"] for f in r.json()] == [slow, formula]
    r = api.get("/v1/dr/findings", headers=clinician)
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    assert len(api.get("/v1/dr/findings", headers=ops).json()) == 3

    # dr.manage: admin only.
    r = api.patch(f"/v1/dr/findings/{slow}", json={"owner": "otto"}, headers=ops)
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    r = api.patch(
        f"/v1/dr/findings/{slow}",
        json={"owner": "otto", "due_date": "2026-04-15", "ticket": "OPS-17"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["owner"], body["due_date"], body["ticket"], body["status"]) == (
        "otto",
        "2026-04-15",
        "OPS-17",
        "open",
    )
    assert body["closed_at"] is None

    closed = api.patch(f"/v1/dr/findings/{slow}", json={"status": "done"}, headers=admin).json()
    assert closed["status"] == "done" and closed["closed_by"] == "user:ada"
    assert closed["closed_at"] is not None
    assert [
        f["id"] for f in api.get("/v1/dr/findings", params={"status": "open"}, headers=ops).json()
    ] == [formula, elsewhere]
    reopened = api.patch(f"/v1/dr/findings/{slow}", json={"status": "open"}, headers=admin).json()
    assert reopened["closed_at"] is None and reopened["closed_by"] is None

    # Refusals: unknown finding, bad values, unknown fields.
    r = api.patch("/v1/dr/findings/999999", json={"owner": "x"}, headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "finding_not_found"
    for bad in ({"status": "closed"}, {"due_date": "soon"}, {"owner": ""}, {"severity": "low"}):
        r = api.patch(f"/v1/dr/findings/{slow}", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)

    events = api.get("/v1/audit", params={"action": "dr.finding."}, headers=admin).json()["items"]
    got = [(e["action"], e["actor"], e["target_id"]) for e in reversed(events)]
    assert got == [
        ("dr.finding.update", "user:ada", str(slow)),
        ("dr.finding.close", "user:ada", str(slow)),
        ("dr.finding.update", "user:ada", str(slow)),
    ]
    assert events[-1]["after"] == {
        "drill_id": drill_id,
        "owner": "otto",
        "due_date": "2026-04-15",
        "ticket": "OPS-17",
    }
    assert other_drill != drill_id


def test_exports_take_the_shape_of_jiras_importers(api, db):
    drill_id, (slow, formula) = stored_drill(
        db,
        findings=(
            ("Restore slower than expected", "critical", date(2026, 4, 1)),
            ("=HYPERLINK(1) in a title", "low", date(2026, 5, 1)),
        ),
    )
    admin = _token(db, "ada", "admin")
    api.patch(f"/v1/dr/findings/{slow}", json={"status": "done", "ticket": "OPS-9"}, headers=admin)

    r = api.get("/v1/dr/findings", params={"drill_id": drill_id, "format": "csv"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == JIRA_CSV_HEADER
    first = dict(zip(["summary", "type", "priority", "assignee", "due"], rows[1][:5], strict=True))
    assert first == {
        "summary": "Restore slower than expected",
        "type": "Task",
        "priority": "Highest",
        "assignee": "ops-team",
        "due": "2026-04-01",
    }
    assert rows[1][5:8] == ["carepipe-dr", f"dr-drill-{drill_id}", "severity-critical"]
    assert rows[1][8:10] == ["Done", f"carepipe-dr-finding-{slow}"]
    assert f"drill {drill_id}" in rows[1][10] and "Ticket: OPS-9." in rows[1][10]
    # A spreadsheet must not run a formula from a finding's title.
    assert rows[2][0] == "'=HYPERLINK(1) in a title" and rows[2][2] == "Low"
    assert rows[2][8] == "To Do"

    # Jira's JSON importer: the console's download (the API's JSON is the findings).
    make_user(db, "ana", "admin")
    sign_in(api, "ana")
    r = api.get(f"/console/drills/{drill_id}/findings.json")
    assert r.status_code == 200, r.text
    doc = json.loads(r.text)
    issues = doc["projects"][0]["issues"]
    assert [i["externalId"] for i in issues] == [
        f"carepipe-dr-finding-{slow}",
        f"carepipe-dr-finding-{formula}",
    ]
    assert issues[0]["priority"] == "Highest" and issues[0]["issueType"] == "Task"
    assert issues[0]["resolution"] == "Done" and issues[0]["duedate"] == "2026-04-01"
    assert f"dr-drill-{drill_id}" in issues[1]["labels"] and issues[1]["status"] == "To Do"
    assert issues[1]["summary"] == "=HYPERLINK(1) in a title"  # JSON is not a spreadsheet
