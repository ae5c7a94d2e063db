"""Scheduled drills: the due decision with a frozen clock, and the scheduler's
``dr.schedule`` job launching a real ``carepipe dr drill --trigger schedule`` process
that fails fast (backups configured, nothing backed up yet: the drill cannot restore and
ends as ``error``), then not trying again the same day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from carepipe.core.maintenance.state import current_fence
from carepipe.ops.dr.schedule import Decision, DrillHistory, drill_due
from carepipe.ops.scheduler import default_jobs
from tests.support.cli import cli_environment, sqlite_database_url
from tests.support.dr_drills import stored_drill
from tests.support.waiting import wait_until

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _due(history: DrillHistory, **kw: object) -> Decision:
    args: dict = {"now": NOW, "interval_days": 182, "configured": True, **kw}
    return drill_due(history, **args)


def test_due_decision():
    old = DrillHistory(NOW - 200 * DAY, NOW - 200 * DAY, running=False)
    assert _due(old) == Decision(True, "the last drill is older than the interval")
    recent = DrillHistory(NOW - 100 * DAY, NOW - 100 * DAY, running=False)
    assert not _due(recent).due
    assert _due(DrillHistory(NOW - 182 * DAY, None, False)).due  # exactly the interval
    assert not _due(DrillHistory(NOW - 181 * DAY, None, False)).due
    # Off, no backups, or a drill running: never.
    assert _due(old, interval_days=0).reason.startswith("scheduled drills are off")
    assert _due(old, configured=False).reason == "backups are not configured"
    assert _due(DrillHistory(NOW - 200 * DAY, NOW, True)).reason == "a drill is running"
    # A fresh install is not due: the first drill fences writes, a person picks its time.
    assert _due(DrillHistory(None, None, False)).reason == "no drill yet: run the first one by hand"
    # After an error (a newer row that did not complete) or a launch that left no row:
    # at most one attempt a day.
    errored = DrillHistory(NOW - 200 * DAY, NOW - 3 * 3600 * timedelta(seconds=1), False)
    assert _due(errored).reason == "attempted less than a day ago"
    assert _due(DrillHistory(NOW - 200 * DAY, NOW - 25 * 3600 * timedelta(seconds=1), False)).due
    assert not _due(old, last_launch_at=NOW - timedelta(hours=23)).due
    assert _due(old, last_launch_at=NOW - timedelta(hours=25)).due


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


def test_scheduler_launches_a_real_drill_once(settings, db, blobs, tmp_path, monkeypatch):
    from carepipe.cli import app as cli

    # Backups configured, but nothing was ever shipped to the replica.
    monkeypatch.setenv("CAREPIPE_BACKUP_URL", str(tmp_path / "empty-replica"))
    monkeypatch.setenv("CAREPIPE_DR_WORK_DIR", str(tmp_path / "dr"))
    stored_drill(db, started_at=datetime.now(UTC) - 200 * DAY)
    with cli_environment(settings, monkeypatch):
        job = next(j for j in default_jobs(db, blobs) if j.name == "dr.schedule")
        first = job.run()
        assert first == Decision(True, "the last drill is older than the interval")

        def launched() -> dict | None:
            r = CliRunner().invoke(cli, ["dr", "list", "--json"])
            drills = json.loads(r.stdout) if r.exit_code == 0 else []
            mine = [d for d in drills if d["trigger"] == "schedule" and d["status"] != "running"]
            return mine[0] if mine else None

        drill = wait_until(launched, timeout=60, interval=0.5, what="the scheduled drill's row")
        assert drill["status"] == "error", drill
        assert drill["started_by"] and drill["error"]
        logs = list((tmp_path / "dr").glob("launch-*-schedule.log"))
        assert len(logs) == 1

        # The fence the drill set is lifted again (just after the row is closed).
        def unfenced() -> bool:
            with db.session() as s:
                return current_fence(s) is None

        wait_until(unfenced, timeout=20, interval=0.2, what="the fence lifted")

        # The error does not bring the next tick back before a day has passed.
        assert job.run() == Decision(False, "attempted less than a day ago")
    assert len(list((tmp_path / "dr").glob("launch-*.log"))) == 1
