"""The scheduler's ``dr.metrics`` job exports drill health to ``/metrics`` (for the alert
rules CarePipeDrDrillOverdue, CarePipeDrDrillMissedTargets, CarePipeDrFindingsOverdue):
nothing about a drill on a fresh install, then the last passed drill, the newest drill's
outcome and measurements, and open and overdue findings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from carepipe.ops.scheduler import default_jobs
from tests.support.dr_drills import stored_drill


@pytest.fixture
def app(settings, db, blobs):
    from carepipe.app import create_app

    return create_app(settings, db=db, blobs=blobs)


def _dr(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name.startswith("carepipe_dr_"):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _export(db, blobs) -> None:
    next(j for j in default_jobs(db, blobs) if j.name == "dr.metrics").run()


def test_dr_gauges_follow_the_drills(app, db, blobs):
    now = datetime.now(UTC)
    with TestClient(app) as client:
        _export(db, blobs)
        fresh = _dr(client)
        assert fresh[("carepipe_dr_last_drill_timestamp_seconds", ())] == 0
        assert fresh[("carepipe_dr_rto_target_seconds", ())] == 7200
        assert fresh[("carepipe_dr_drill_interval_seconds", ())] == 182 * 86400
        assert fresh[("carepipe_dr_overdue_findings", ())] == 0
        assert fresh[("carepipe_dr_open_findings", (("severity", "high"),))] == 0
        # No drill yet: no "newest drill" series at all (a fresh install has not failed one).
        assert not [k for k in fresh if k[0] == "carepipe_dr_last_drill_passed"]

        passed, _ = stored_drill(db, started_at=now - timedelta(days=30), rto=40.0, rpo=1.5)
        _, (late, _soon) = stored_drill(
            db,
            status="failed",
            started_at=now - timedelta(days=1),
            rto=9000.0,
            rpo=2.5,
            layout="postgresql",
            findings=(
                ("Restore too slow", "high", date(2020, 1, 1)),
                ("Runbook step 3 unclear", "low", date(2099, 1, 1)),
            ),
        )
        _export(db, blobs)
        got = _dr(client)
        finished = (now - timedelta(days=30) + timedelta(seconds=60)).timestamp()
        assert got[("carepipe_dr_last_drill_timestamp_seconds", ())] == pytest.approx(finished)
        pg = (("layout", "postgresql"),)
        assert got[("carepipe_dr_last_drill_passed", pg)] == 0  # the newest did not pass
        assert got[("carepipe_dr_last_drill_rto_seconds", pg)] == 9000.0
        assert got[("carepipe_dr_last_drill_rpo_seconds", pg)] == 2.5
        # The older drill's layout does not linger as a second series.
        assert ("carepipe_dr_last_drill_passed", (("layout", "sqlite"),)) not in got
        assert got[("carepipe_dr_open_findings", (("severity", "high"),))] == 1
        assert got[("carepipe_dr_open_findings", (("severity", "low"),))] == 1
        assert got[("carepipe_dr_overdue_findings", ())] == 1

        from carepipe.core.auth import SYSTEM
        from carepipe.ops.dr.findings import update_finding

        update_finding(db, SYSTEM, late, status="done")
        _export(db, blobs)
        got = _dr(client)
        assert got[("carepipe_dr_overdue_findings", ())] == 0
        assert got[("carepipe_dr_open_findings", (("severity", "high"),))] == 0
        assert passed
