"""The fence through the front doors: ``carepipe maintenance ...`` (a subprocess) sets it,
the API and the console of a running app answer writes 503 ``maintenance`` with
Retry-After, reads keep working, readiness drains, and the lift lets writes in again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import Principal
from carepipe.core.models import AuditEvent
from carepipe.ops import maintenance
from tests.api.conftest import make_key
from tests.support.console import make_user
from tests.support.console_http import sign_in
from tests.support.up_process import CAREPIPE, up_environment
from tests.support.waiting import wait_until

ADMIN = Principal(kind="user", id="alice", roles=("admin",))
JOB = {"pipeline": "echo", "payload": {"hello": "world"}}


def _cli(tmp_path: Path, settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = up_environment(tmp_path) | {"CAREPIPE_DATABASE_URL": settings.resolved_database_url}
    return subprocess.run(
        [str(CAREPIPE), "maintenance", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def client(settings, db, blobs):
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


def test_fenced_api_refuses_writes_keeps_reads_and_drains_readiness(client, db, settings, tmp_path):
    auth = {"Authorization": f"Bearer {make_key(db)}"}
    before = client.post("/v1/jobs", json=JOB, headers=auth)
    assert before.status_code == 202, before.text
    job_url = before.json()["status_url"]

    fenced = _cli(
        tmp_path, settings, "fence", "--reason", "dr drill 42", "--retry-after", "9", "--json"
    )
    assert fenced.returncode == 0, fenced.stderr
    view = json.loads(fenced.stdout)
    assert view["fenced"] is True and view["retry_after_seconds"] == 9
    assert view["reason"] == "dr drill 42" and view["fenced_by"].startswith("cli:")

    # The app's own watch sees the fence within a poll (1 s by default).
    refused = wait_until(
        lambda: (r := client.post("/v1/jobs", json=JOB, headers=auth)).status_code == 503 and r,
        timeout=3,
        what="POST /v1/jobs to be refused",
    )
    assert refused.headers["retry-after"] == "9"
    err = refused.json()["error"]
    assert err["code"] == "maintenance" and "dr drill 42" in err["message"]
    assert err["details"]["retry_after_seconds"] == 9
    # Before authentication: a sender without (valid) credentials learns the same.
    assert client.post("/v1/jobs", json=JOB).json()["error"]["code"] == "maintenance"
    tenant = client.patch("/v1/tenants/acme", json={"ingest_rate_per_second": 5}, headers=auth)
    assert tenant.status_code == 503 and tenant.json()["error"]["code"] == "maintenance"

    # Reads go on.
    assert client.get(job_url, headers=auth).status_code == 200
    assert client.get("/v1/jobs", headers=auth).status_code == 200
    # OFREP evaluations are POSTs that only read flags: let through.
    ofrep = client.post("/ofrep/v1/evaluate/flags/nope", json={"context": {}}, headers=auth)
    assert ofrep.status_code != 503, ofrep.text

    # Readiness drains the fenced primary; liveness stays up and says why.
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "maintenance"
    assert ready.headers["retry-after"] == "9"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["maintenance"] == "fenced"

    lifted = _cli(tmp_path, settings, "lift", "--json")
    assert lifted.returncode == 0 and json.loads(lifted.stdout)["fenced"] is False
    wait_until(
        lambda: client.post("/v1/jobs", json=JOB, headers=auth).status_code == 202,
        timeout=3,
        what="POST /v1/jobs to be accepted after the lift",
    )
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}

    with db.session() as s:
        actions = [
            (e.action, e.actor.split(":")[0], e.reason)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("maintenance.%"))
                .order_by(AuditEvent.id)
            )
        ]
    assert actions == [
        ("maintenance.fence", "cli", "dr drill 42"),
        ("maintenance.lift", "cli", "dr drill 42"),
    ]


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY  # the console and the CLI adapters: the service runs on both databases above
def test_console_signs_in_shows_the_banner_and_refuses_form_posts(client, db):
    make_user(db, "admin1", "admin")
    maintenance.fence(db, ADMIN, reason="site failover")
    csrf = sign_in(client, "admin1")  # sign-in is a POST, and stays open

    page = client.get("/console/")
    assert page.status_code == 200
    assert 'data-testid="maintenance-banner"' in page.text
    assert "Maintenance: writes are paused (site failover, since" in page.text

    form = {"csrf_token": csrf, "tenant": "acme", "name": "k1", "env": "dev"}
    html = client.post("/console/keys", data=form, headers={"Accept": "text/html"})
    assert html.status_code == 503 and html.headers["retry-after"] == "60"
    assert "text/html" in html.headers["content-type"]
    assert 'data-testid="error-code">maintenance<' in html.text and "site failover" in html.text
    htmx = client.post("/console/keys", data=form, headers={"HX-Request": "true"})
    assert htmx.status_code == 503 and htmx.json()["error"]["code"] == "maintenance"
    assert htmx.headers["hx-refresh"] == "true"  # the reload shows the banner

    # Sign-out stays open too.
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code in (302, 303)

    maintenance.lift(db, ADMIN)
    assert "maintenance-banner" not in client.get("/console/login").text


@SQLITE_ONLY
def test_cli_status_text_json_and_errors(db, settings, tmp_path):
    empty = _cli(tmp_path, settings, "fence", "--reason", " ")
    assert empty.returncode == 2
    assert json.loads(empty.stderr)["error"]["code"] == "validation_failed"
    maintenance.fence(db, ADMIN, reason="dr drill 42", drill_id="d-42")
    status = _cli(tmp_path, settings, "status")
    assert status.returncode == 0, status.stderr
    assert "FENCED since" in status.stdout and "by user:alice: dr drill 42" in status.stdout
    assert "Retry-After 60 s, drill d-42" in status.stdout
