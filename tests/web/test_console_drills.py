"""Console "Drills" over HTTP: the list with the last drill's summary, a drill's report
(timeline, RTO/RPO against the targets, smoke tests, missing items, findings), editing
and closing findings (admin), the downloads, "Run drill now" (a real ``carepipe dr drill``
process), the "Last drill" line on the Backups page, and who may see what."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.cli import cli_environment
from tests.support.console import make_user
from tests.support.console_http import sign_in
from tests.support.dr_drills import T0, stored_drill
from tests.support.waiting import wait_until


def test_drill_pages_findings_and_downloads(app, db):
    old, _ = stored_drill(db, status="failed", rto=9000.0, missing=[{"kind": "job", "id": "j-7"}])
    new, (fid, other) = stored_drill(
        db,
        started_at=T0 + timedelta(days=2),
        findings=(
            ("Restore took longer than the last drill", "high", date(2020, 1, 1)),
            ("Document the standby port", "low", date(2099, 1, 1)),
        ),
    )
    make_user(db, "ada", "admin")
    make_user(db, "otto", "ops")
    make_user(db, "cleo", "clinician")
    with TestClient(app) as admin, TestClient(app) as ops, TestClient(app) as clinician:
        csrf = sign_in(admin, "ada")
        page = admin.get("/console/drills")
        assert page.status_code == 200, page.text
        assert 'href="/console/drills" aria-current="page"' in page.text  # in the navigation
        assert page.text.count('data-testid="drill-row"') == 2
        last = page.text.split('data-testid="last-drill"')[1].split("</section>")[0]
        assert f'href="/console/drills/{new}"' in last
        assert "42.5 s against a target of 7200 s" in last and "met" in last
        assert "1.2 s against a target of 300 s" in last
        assert "Run drill now" in page.text

        report = admin.get(f"/console/drills/{new}").text
        assert report.count('data-testid="timeline-row"') == 4
        assert report.count('data-testid="smoke-row"') == 2
        assert "Nothing acknowledged before the RPO window is missing." in report
        assert report.count('data-testid="finding-row"') == 2
        assert "overdue" in report  # the 2020 due date, still open
        for href in ("report.html", "report.json", "report.pdf", "findings.csv", "findings.json"):
            assert f'href="/console/drills/{new}/{href}"' in report
        failed = admin.get(f"/console/drills/{old}").text
        assert "missed" in failed and "j-7" in failed and 'data-testid="missing"' in failed

        # Edit, then close; a form without the session's token is refused.
        form = {"owner": "otto", "due_date": "2026-06-30", "ticket": "OPS-42", "status": "open"}
        assert admin.post(f"/console/drills/{new}/findings/{fid}", data=form).status_code == 403
        saved = admin.post(
            f"/console/drills/{new}/findings/{fid}", data={**form, "csrf_token": csrf}
        )
        assert saved.status_code == 200 and f"Finding {fid} saved." in saved.text
        row = saved.text.split(f'id="finding-{fid}"')[1].split("</tr>")[0]
        assert "otto" in row and "2026-06-30" in row and "OPS-42" in row
        closed = admin.post(
            f"/console/drills/{new}/findings/{fid}",
            data={**form, "status": "done", "csrf_token": csrf},
        )
        assert f"Finding {fid} closed." in closed.text
        row = closed.text.split(f'id="finding-{fid}"')[1].split("</tr>")[0]
        assert "badge-done" in row and "user:ada" in row
        bad = admin.post(
            f"/console/drills/{new}/findings/{fid}",
            data={**form, "due_date": "someday", "csrf_token": csrf},
        )
        assert bad.status_code == 422 and "due date must be a date" in bad.text
        # A finding of another drill is not edited through this drill's page.
        wrong = admin.post(
            f"/console/drills/{old}/findings/{other}", data={**form, "csrf_token": csrf}
        )
        assert wrong.status_code == 404

        r = admin.get(f"/console/drills/{new}/findings.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [x["Summary"] for x in rows] == [
            "Restore took longer than the last drill",
            "Document the standby port",
        ]
        assert rows[0]["Assignee"] == "otto" and rows[0]["Status"] == "Done"
        issues = json.loads(admin.get(f"/console/drills/{new}/findings.json").text)
        assert len(issues["projects"][0]["issues"]) == 2
        assert admin.get(f"/console/drills/{new}/report.pdf").content.startswith(b"%PDF-")
        assert new in admin.get(f"/console/drills/{new}/report.json").text
        assert admin.get(f"/console/drills/{new}/report.doc").status_code == 422
        assert admin.get("/console/drills/nope").status_code == 404

        # Backups page: the "Last drill" line.
        backups = admin.get("/console/backups").text
        line = backups.split('data-testid="last-drill"')[1].split("</p>")[0]
        assert f'href="/console/drills/{new}">passed</a>' in line and "RPO 1.2 s" in line

        # ops reads (no edit form, no button) but may not change; a clinician sees nothing.
        ops_csrf = sign_in(ops, "otto")
        assert 'href="/console/drills"' in ops.get("/console/dlq").text
        view = ops.get(f"/console/drills/{new}")
        assert view.status_code == 200 and "finding-form-" not in view.text
        assert "Run drill now" not in ops.get("/console/drills").text
        r = ops.post(f"/console/drills/{new}/findings/{fid}", data={**form, "csrf_token": ops_csrf})
        assert r.status_code == 403 and "permission_denied" in r.text
        assert ops.post("/console/drills/run", data={"csrf_token": ops_csrf}).status_code == 403
        sign_in(clinician, "cleo")
        assert clinician.get("/console/drills").status_code == 403
        assert clinician.get(f"/console/drills/{new}/findings.csv").status_code == 403
        assert 'href="/console/drills"' not in clinician.get("/console/").text

        # Without backups there is nothing to restore: "Run drill now" refuses.
        r = admin.post("/console/drills/run", data={"csrf_token": csrf})
        assert r.status_code == 409 and "backups are not configured" in r.text


def test_run_drill_now_launches_a_drill_process(settings, db, blobs, tmp_path, monkeypatch):
    from carepipe.app import create_app
    from carepipe.cli import app as cli

    monkeypatch.setenv("CAREPIPE_BACKUP_URL", str(tmp_path / "empty-replica"))
    monkeypatch.setenv("CAREPIPE_DR_WORK_DIR", str(tmp_path / "dr"))
    make_user(db, "ada", "admin")
    backed_up = settings.model_copy(
        update={"backup_url": str(tmp_path / "empty-replica"), "dr_work_dir": tmp_path / "dr"}
    )
    with (
        cli_environment(settings, monkeypatch),
        TestClient(create_app(backed_up, db=db, blobs=blobs)) as admin,
    ):
        csrf = sign_in(admin, "ada")
        r = admin.post("/console/drills/run", data={"csrf_token": csrf})
        assert r.status_code == 202 and "Drill started (process" in r.text

        def finished() -> dict | None:
            rows = json.loads(CliRunner().invoke(cli, ["dr", "list", "--json"]).stdout)
            return next((d for d in rows if d["status"] != "running"), None)

        drill = wait_until(finished, timeout=60, interval=0.5, what="the drill's row")
        # Nothing was ever backed up: the drill cannot restore and says so.
        assert (drill["trigger"], drill["status"]) == ("console", "error")
        # The drill runs as the CLI identity but names the console user who asked for it.
        assert drill["started_by"].startswith("user:ada via ")
        page = admin.get(f"/console/drills/{drill['id']}").text
        assert 'data-testid="drill-error"' in page and "restore" in page
        assert len(list((tmp_path / "dr").glob("launch-*-console.log"))) == 1

        audit = CliRunner().invoke(
            cli, ["audit", "export", "--format", "json", "--action", "dr.drill.request"]
        )
        events = json.loads(audit.stdout)["events"]
        assert [(e["action"], e["actor"]) for e in events] == [("dr.drill.request", "user:ada")]
        assert datetime.fromisoformat(events[0]["at"]) > datetime.now(UTC) - timedelta(minutes=5)
