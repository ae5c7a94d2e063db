"""``/v1/queues`` through HTTP: depth and switches, pause/resume/rate limit, checked and audited."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.models import AuditEvent, Job
from carepipe.ops import users
from carepipe.pipelines.worker import Worker
from tests.api.conftest import make_key
from tests.support.console import FAST_HASHER, make_user
from tests.support.waiting import wait_until


@pytest.fixture
def staff(db):
    """Headers of a person in each role, acting through a personal token."""
    previous = users.use_password_hasher(FAST_HASHER)
    try:
        out = {}
        for role in ("ops", "clinician", "compliance"):
            make_user(db, f"u_{role}", role)
            with db.transaction() as s:
                out[role] = {
                    "Authorization": f"Bearer {users.issue_token(s, SYSTEM, f'u_{role}').plaintext}"
                }
        return out
    finally:
        users.use_password_hasher(previous)


def test_every_registered_queue_is_listed_with_its_depth(settings, db, blobs, staff):
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        key = make_key(db)
        c.post(
            "/v1/jobs",
            json={"pipeline": "echo", "payload": 1},
            headers={"Authorization": f"Bearer {key}"},
        )
        r = c.get("/v1/queues", headers=staff["compliance"])
        assert r.status_code == 200, r.text
        queues = {q["name"]: q for q in r.json()["items"]}
        assert {"echo", "asr", "note", "hl7", "ocr", "extract", "fhir", "emr"} <= set(queues)
        assert queues["echo"]["depth"] == {"ready": 1, "leased": 0, "dead": 0}
        assert queues["asr"]["depth"] == {"ready": 0, "leased": 0, "dead": 0}
        assert "scribe/asr" in queues["asr"]["stages"]
        assert queues["echo"]["oldest_ready_seconds"] is not None
        assert c.get("/v1/queues/nope", headers=staff["ops"]).status_code == 404


def test_pause_holds_work_resume_releases_it_and_both_are_audited(settings, db, blobs, staff):
    worker = Worker(db, blobs, settings, concurrency=1)
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        r = c.post("/v1/queues/echo/pause", json={"reason": "INC-4"}, headers=staff["ops"])
        assert r.status_code == 200 and r.json()["paused"] is True
        key = make_key(db)
        job_id = c.post(
            "/v1/jobs",
            json={"pipeline": "echo", "payload": 1},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["id"]
        worker.start_background()
        try:
            # Absence cannot be waited for: give the worker several polls to (not) claim.
            time.sleep(5 * settings.poll_interval_seconds)
            with db.session() as s:
                assert s.get(Job, job_id).status == "queued"
            r = c.post(
                "/v1/queues/echo/resume", json={"reason": "INC-4 done"}, headers=staff["ops"]
            )
            assert r.status_code == 200 and r.json()["paused"] is False

            def done() -> bool:
                with db.session() as s:
                    return s.get(Job, job_id).status == "succeeded"

            wait_until(done, timeout=20, what="the job to run after resume")
        finally:
            worker.stop()
            worker.stopped.wait(10)
        r = c.put(
            "/v1/queues/echo/rate-limit",
            json={"per_minute": 30, "reason": "backfill window"},
            headers=staff["ops"],
        )
        assert r.status_code == 200 and r.json()["rate_limit_per_minute"] == 30
        r = c.put("/v1/queues/echo/rate-limit", json={"per_minute": None}, headers=staff["ops"])
        assert r.json()["rate_limit_per_minute"] is None
    with db.session() as s:
        actions = [
            (e.action, e.target_id, e.reason)
            for e in s.execute(select(AuditEvent).where(AuditEvent.target_type == "queue"))
            .scalars()
            .all()
        ]
    assert actions[:3] == [
        ("queue.pause", "echo", "INC-4"),
        ("queue.resume", "echo", "INC-4 done"),
        ("queue.rate_limit", "echo", "backfill window"),
    ]


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("clinician", "GET", "/v1/queues", 403),
        ("compliance", "POST", "/v1/queues/echo/pause", 403),
        ("compliance", "GET", "/v1/queues", 200),
        ("ops", "POST", "/v1/queues/echo/pause", 200),
    ],
)
def test_roles(settings, db, blobs, staff, role, method, path, status):
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        r = c.request(method, path, headers=staff[role], json={} if method == "POST" else None)
        assert r.status_code == status, r.text
        if status == 403:
            assert r.json()["error"]["code"] == "permission_denied"


def test_partner_key_cannot_touch_queues(settings, db, blobs):
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        key = make_key(db)
        r = c.post("/v1/queues/echo/pause", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
