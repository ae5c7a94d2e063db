"""Backfill console pages over HTTP (TestClient): search, preview + confirm, start,
live progress fragment, pause / resume / cancel, report, CSRF and permissions."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.core.crypto import sha256_hex
from carepipe.core.models import AuditEvent
from carepipe.ops.backfill_models import Backfill
from tests.ops.backfill.helpers import accepted, drain, rejected
from tests.support.console import make_user
from tests.support.console_http import csrf_of, sign_in


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def seeded(db, blobs, settings, clock):
    start = clock.now() - timedelta(minutes=5)
    for n in range(3):
        accepted(db, blobs, {"n": n})
    accepted(db, blobs, {"fail": "permanent"})
    rejected(db, blobs)
    drain(db, blobs, settings, clock)
    clock.advance(60)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "since": start.strftime(fmt),
        "until": (clock.now() + timedelta(minutes=5)).strftime(fmt),
    }


def test_archive_search_shows_count_and_rows(client, db, seeded):
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    r = client.get("/console/backfills/archive", params={**seeded, "pipeline": "two_step"})
    assert r.status_code == 200
    assert re.search(r'data-testid="archive-count">5<', r.text)
    assert r.text.count("<tr>") == 6  # header + five messages
    assert "Backfill these 5 messages" in r.text
    r = client.get("/console/backfills/archive", params={**seeded, "job_status": "none"})
    assert re.search(r'data-testid="archive-count">1<', r.text)
    r = client.get("/console/backfills/archive", params={"since": "yesterday"})
    assert "times look like" in r.text


def test_preview_confirm_start_pause_resume_cancel(client, db, blobs, settings, clock, seeded):
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    assert client.get("/console/backfills/new").status_code == 200
    params = {
        **seeded,
        "pipeline": "two_step",
        "target": "two_step",
        "rate": "60",
        "reason": "INC-5",
    }
    r = client.get("/console/backfills/confirm", params=params)
    assert r.status_code == 200
    assert re.search(r'data-testid="confirm-count">5<', r.text)
    with db.session() as s:  # the preview starts nothing
        assert s.execute(select(Backfill)).first() is None
    form = {**params, "expected_total": "5", "csrf_token": csrf_of(r.text)}
    missing = {k: v for k, v in form.items() if k != "csrf_token"}
    r = client.post("/console/backfills", data=missing, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = client.post("/console/backfills", data=form, follow_redirects=False)
    assert r.status_code == 303
    detail_url = r.headers["location"]
    bid = detail_url.split("/")[-1].split("?")[0]
    page = client.get(detail_url)
    assert "Backfill started." in page.text
    assert 'data-testid="backfill-status">running<' in page.text
    assert f'hx-get="/console/backfills/{bid}/progress?shown=running"' in page.text
    token = csrf_of(page.text)
    r = client.post(f"/console/backfills/{bid}/pause", data={"csrf_token": token})
    assert 'data-testid="backfill-status">paused<' in r.text and 'data-testid="resume"' in r.text
    frag = client.get(f"/console/backfills/{bid}/progress")
    assert frag.text.lstrip().startswith('<section id="backfill-progress"')
    assert 'data-testid="bf-eta">paused<' in frag.text
    r = client.post(f"/console/backfills/{bid}/resume", data={"csrf_token": token})
    assert 'data-testid="backfill-status">running<' in r.text
    r = client.post(
        f"/console/backfills/{bid}/cancel", data={"csrf_token": token, "reason": "wrong window"}
    )
    assert 'data-testid="backfill-status">cancelled<' in r.text
    # A page still showing "running" gets its controls removed out of band.
    frag = client.get(f"/console/backfills/{bid}/progress", params={"shown": "running"})
    assert '<div id="backfill-controls" hx-swap-oob="true">' in frag.text
    assert 'data-testid="pause"' not in frag.text and "hx-get=" not in frag.text
    same = client.get(f"/console/backfills/{bid}/progress", params={"shown": "cancelled"})
    assert "hx-swap-oob" not in same.text
    # All five were still waiting: the report is there at once, with its audited hash.
    assert 'data-testid="report-csv"' in r.text
    sha = re.search(r'data-testid="report-sha">([0-9a-f]{64})<', r.text).group(1)
    rep = client.get(f"/console/backfills/{bid}/report?format=json")
    assert rep.headers["x-report-sha256"] == sha == sha256_hex(rep.content)
    assert json.loads(rep.content)["summary"]["cancelled"] == 5
    assert client.get(f"/console/backfills/{bid}/report?format=csv").text.startswith("message_id,")
    with db.session() as s:
        actions = s.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.reason)
            .where(AuditEvent.target_id == bid)
            .order_by(AuditEvent.id)
        ).all()
    assert [a for a, _, _ in actions] == [
        "backfill.start",
        "backfill.pause",
        "backfill.resume",
        "backfill.cancel",
        "backfill.report",
    ]
    assert actions[0][1] == "user:olga" and actions[0][2] == "INC-5"
    assert actions[3][2] == "wrong window"
    listing = client.get("/console/backfills").text
    assert bid[:12] in listing and "cancelled" in listing


def test_confirm_refuses_a_missing_date_range(client, db, seeded):
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    r = client.get("/console/backfills/confirm", params={"target": "two_step", "rate": "10"})
    assert r.status_code == 400 and 'data-testid="form-error"' in r.text
    assert "date range" in r.text


def test_permissions(client, db, seeded):
    make_user(db, "cleo", "clinician")
    make_user(db, "cora", "compliance")
    assert client.get("/console/backfills", follow_redirects=False).status_code == 303
    sign_in(client, "cleo")
    r = client.get("/console/backfills")
    assert r.status_code == 403 and "permission_denied" in r.text
    assert client.get("/console/backfills/archive").status_code == 403
    client.cookies.clear()
    sign_in(client, "cora")
    assert client.get("/console/backfills").status_code == 200
    assert client.get("/console/backfills/archive", params=seeded).status_code == 200
    assert client.get("/console/backfills/new").status_code == 403
