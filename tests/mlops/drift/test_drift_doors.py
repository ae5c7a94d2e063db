"""Drift through every door, on both databases: a person with a personal token runs a
check over ``/v1/drift/checks`` (someone who may only read is refused), the severe result
is counted in ``/metrics`` (read over HTTP) and posted to a real local webhook; the API and
``carepipe models drift events --json`` list the same events; ``/v1/drift/monitoring`` and
``carepipe models monitor`` give the version's series; the console page shows the scores,
the events and the charts."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from carepipe.core.auth import SYSTEM
from carepipe.core.clock import utcnow
from carepipe.ops import users
from tests.mlops.drift.synthetic import Population, observations
from tests.support.cli import cli_environment
from tests.support.console import make_user
from tests.support.console_http import sign_in


@pytest.fixture
def cli(settings, monkeypatch):
    from carepipe.cli import app

    runner = CliRunner()
    monkeypatch.setenv("CAREPIPE_MODEL_WEBHOOK_URL", settings.model_webhook_url)
    with cli_environment(settings, monkeypatch):
        yield lambda *args: runner.invoke(app, list(args))


def _token(db, name: str, role: str) -> dict[str, str]:
    make_user(db, name, role)
    with db.transaction() as s:
        return {"Authorization": f"Bearer {users.issue_token(s, SYSTEM, name).plaintext}"}


def _severe_events(client: TestClient) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "carepipe_model_drift_events_total" and s.labels == {
                "engine_kind": "asr",
                "model_version": "whisper-base@1",
                "feature": "snr_db",
                "severity": "severe",
            }:
                return s.value
    return 0.0


def test_a_check_over_the_api_alerts_and_every_door_shows_it(
    client, cli, db, deploy, store, webhook
):
    vid = deploy()
    now = utcnow()
    rng = np.random.default_rng(1)
    store(observations(rng, 200, version_id=vid, start=now - timedelta(hours=44)))
    store(
        observations(
            rng,
            200,
            Population(snr_mean=14.0),
            version_id=vid,
            start=now - timedelta(hours=20),
            failed_every=10,
        )
    )
    mia = _token(db, "mia", "ml_engineer")
    cole = _token(db, "cole", "compliance")  # models.read, not models.evaluate

    r = client.post("/v1/drift/checks", headers=cole, json={"engine_kind": "asr"})
    assert r.status_code == 403, r.text
    r = client.post(
        "/v1/drift/checks", headers=mia, json={"version": "whisper-base@1", "engine_kind": "asr"}
    )
    assert r.status_code == 422, r.text

    before = _severe_events(client)
    r = client.post("/v1/drift/checks", headers=mia, json={"engine_kind": "asr"})
    assert r.status_code == 200, r.text
    [check] = r.json()["checks"]
    assert check["status"] == "severe" and check["version"] == "whisper-base@1"
    assert [f["feature"] for f in check["features"] if f["status"] == "severe"] == ["snr_db"]
    assert _severe_events(client) == before + 1
    hook = webhook.next()
    assert hook["event"] == "model.drift" and hook["check_id"] == check["id"]

    # Events: the API and the CLI give the same.
    api_events = client.get("/v1/drift/events", headers=cole, params={"severity": "severe"})
    assert api_events.status_code == 200, api_events.text
    out = cli("models", "drift", "events", "--severity", "severe", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == api_events.json()
    [event] = api_events.json()["items"]
    assert event["feature"] == "snr_db" and event["id"] in check["event_ids"]
    assert event["baseline"]["n"] == 200 and event["current"]["mean"] < event["baseline"]["mean"]
    text = cli("models", "drift", "events")
    assert "whisper-base@1" in text.stdout and "severe" in text.stdout

    # Latest checks, as the console reads them.
    latest = client.get("/v1/drift/checks", headers=cole).json()
    assert [c["id"] for c in latest] == [check["id"]]

    # Monitoring: 400 jobs over two days, one in ten of the newest failed.
    series = client.get("/v1/drift/monitoring/whisper-base@1", headers=cole, params={"hours": 48})
    assert series.status_code == 200, series.text
    totals = series.json()["totals"]
    assert totals["jobs"] == 400 and totals["failed"] == 20 and totals["failure_rate"] == 0.05
    assert 0 < totals["latency_p50_ms"] < totals["latency_p99_ms"]
    assert sum(b["jobs"] for b in series.json()["buckets"]) == 400
    out = cli("models", "monitor", "whisper-base@1", "--hours", "48", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["totals"] == totals
    out = cli("models", "monitor", "nobody@1")
    assert out.exit_code == 2 and json.loads(out.stderr)["error"]["code"] == "not_found"

    # The console page: the scores against their thresholds, the event, the charts.
    sign_in(client, "cole")
    page = client.get("/console/model-drift")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert 'data-version="whisper-base@1" data-status="severe"' in html
    assert 'data-feature="snr_db" data-status="severe"' in html
    assert 'data-feature="dialect" data-status="ok"' in html
    assert html.count('data-testid="drift-event"') == 1
    assert 'data-testid="monitor-failure_rate"' in html and "<polyline" in html
    assert " style=" not in html.split("<main", 1)[-1]  # strict CSP: no inline styles


def test_the_cli_runs_a_check_and_prints_every_feature(cli, db, deploy, store, webhook):
    vid = deploy()
    now = utcnow()
    rng = np.random.default_rng(3)
    store(observations(rng, 200, version_id=vid, start=now - timedelta(hours=44)))
    store(
        observations(
            rng,
            200,
            Population(dialect_p=(0.2, 0.3, 0.5)),
            version_id=vid,
            start=now - timedelta(hours=20),
        )
    )
    out = cli("models", "drift", "check", "whisper-base@1")
    assert out.exit_code == 0, out.output
    assert "whisper-base@1 (asr) SEVERE" in out.stdout
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert set(lines) >= {"snr_db", "dialect", "confidence", "entity_counts"}
    assert " severe " in lines["dialect"] and " ok " in lines["snr_db"]
    # The CLI waits for the webhook before it exits.
    assert webhook.next(timeout=0.5)["features"][0]["feature"] == "dialect"


ROUTES = [
    ("GET", "/v1/drift/events", None, {"models.read"}),
    ("GET", "/v1/drift/checks", None, {"models.read"}),
    ("GET", "/v1/drift/monitoring/whisper-base@1", None, {"models.read"}),
    ("POST", "/v1/drift/checks", {"version": "whisper-base@1"}, {"models.evaluate"}),
]


def test_every_role_gets_what_the_roles_table_says(client, db, deploy):
    """Expectations come from ``PERMISSIONS``: allowed answers 200, refused 403; the
    console page likewise (signed in)."""
    from carepipe.core.auth import PERMISSIONS
    from carepipe.ops.users import STAFF_ROLES

    deploy()
    for role in STAFF_ROLES:
        headers = _token(db, f"u-{role}", role)
        for method, path, body, needs in ROUTES:
            r = client.request(method, path, headers=headers, json=body)
            allowed = needs <= PERMISSIONS[role]
            assert r.status_code == (200 if allowed else 403), (role, method, path, r.text)
        client.cookies.clear()
        sign_in(client, f"u-{role}")
        page = client.get("/console/model-drift")
        assert page.status_code == (200 if "models.read" in PERMISSIONS[role] else 403), role
