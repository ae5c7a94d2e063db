"""Backup health over HTTP (issue 17 items 2 and 4): the console "Backups" page drives a
real Litestream replica ("Back up now", "Verify", a corrupted replica), and the scheduler's
``backup.metrics`` job exports what the page shows to ``/metrics`` for the alert rules."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from carepipe.ops.scheduler import default_jobs
from tests.support.cli import sqlite_database_url
from tests.support.console import make_user
from tests.support.console_http import sign_in

run = CliRunner().invoke


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


def _backup_gauges(client: TestClient) -> dict[str, float]:
    """``carepipe_backup_*`` samples of the litestream backend, by metric name."""
    out = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name.startswith("carepipe_backup_"):
                assert set(s.labels) == {"backend"}, s  # one series per backend, no more
                if s.labels["backend"] == "litestream":
                    out[s.name] = s.value
    return out


def _export(db, blobs) -> None:
    """One run of the scheduler's job, as ``carepipe up`` runs it every 30 s."""
    next(j for j in default_jobs(db, blobs) if j.name == "backup.metrics").run()


def test_backups_page_buttons_metrics_and_a_corrupt_replica(cli_env, settings, db, blobs, tmp_path):
    from carepipe.app import create_app
    from carepipe.cli import app as cli

    for i in range(2):
        doc = tmp_path / f"doc{i}.txt"
        doc.write_text(f"note {i}")
        assert run(cli, ["submit", str(doc), "--pipeline", "two_step"]).exit_code == 0
    make_user(db, "ada", "admin")
    make_user(db, "otto", "ops")
    backed_up = settings.model_copy(update={"backup_url": str(tmp_path / "backup")})
    web = create_app(backed_up, db=db, blobs=blobs)
    with TestClient(web) as admin, TestClient(web) as ops:
        csrf = sign_in(admin, "ada")
        page = admin.get("/console/backups")
        # Nothing replicated yet: no backup, lag unknown, over the target.
        assert page.status_code == 200, page.text
        assert 'data-testid="last-backup">none yet' in page.text
        assert "unknown (nothing shipped yet) against an RPO target of 300 s" in page.text
        assert 'href="/console/backups"' in page.text  # in the admin's navigation
        _export(db, blobs)
        gauges = _backup_gauges(admin)
        assert gauges["carepipe_backup_replication_lag_seconds"] == float("inf")
        assert gauges["carepipe_backup_last_success_timestamp_seconds"] == 0
        assert gauges["carepipe_backup_last_verify_ok"] == 0

        # Forms need the session's CSRF token, like every console form.
        assert admin.post("/console/backups/now").status_code == 403
        done = admin.post("/console/backups/now", data={"csrf_token": csrf})
        assert done.status_code == 200 and "Backed up to position 0000" in done.text
        verified = admin.post("/console/backups/verify", data={"csrf_token": csrf})
        assert verified.status_code == 200, verified.text
        assert "Backup verified:" in verified.text
        page = admin.get("/console/backups").text
        assert re.search(r'data-testid="last-verify"><span class="badge">sound</span>', page)
        assert page.count('data-testid="backup-row"') >= 1
        assert "over target" not in page

        _export(db, blobs)
        gauges = _backup_gauges(admin)
        now = time.time()
        assert now - 60 < gauges["carepipe_backup_last_success_timestamp_seconds"] <= now
        assert gauges["carepipe_backup_replication_lag_seconds"] == 0
        assert now - 60 < gauges["carepipe_backup_last_verify_timestamp_seconds"] <= now
        assert gauges["carepipe_backup_last_verify_ok"] == 1
        assert gauges["carepipe_backup_rpo_target_seconds"] == 300

        # A damaged replica file: "Verify" fails, the page and the gauge say so.
        ltx = next(Path(tmp_path / "backup" / "db").rglob("*.ltx"))
        data = bytearray(ltx.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
        ltx.write_bytes(bytes(data))
        failed = admin.post("/console/backups/verify", data={"csrf_token": csrf})
        assert failed.status_code >= 400 and "backup is corrupt" in failed.text
        assert '<span class="badge badge-dead">failed</span>' in failed.text
        _export(db, blobs)
        assert _backup_gauges(admin)["carepipe_backup_last_verify_ok"] == 0

        sign_in(ops, "otto")
        assert ops.get("/console/backups").status_code == 403
        assert ops.post("/console/backups/now", data={"csrf_token": csrf}).status_code == 403
        assert 'href="/console/backups"' not in ops.get("/console/dlq").text

    # Every press is audited through the service, under the admin's name.
    r = run(cli, ["audit", "export", "--format", "json", "--action", "backup."])
    events = [(e["action"], e["actor"]) for e in json.loads(r.stdout)["events"]]
    assert events == [("backup.now", "user:ada")] + [("backup.verify", "user:ada")] * 2


def test_no_backup_job_or_series_without_backups(db, blobs, monkeypatch):
    from carepipe.core.config import get_settings

    monkeypatch.delenv("CAREPIPE_BACKUP_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert "backup.metrics" not in {j.name for j in default_jobs(db, blobs)}
    finally:
        get_settings.cache_clear()
