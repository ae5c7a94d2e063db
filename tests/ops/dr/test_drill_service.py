"""The drill services' rules, on SQLite and PostgreSQL: who may run and read drills,
what stops a drill from starting, what a drill that dies leaves behind, the findings a
drill's results produce and the report in its three forms."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from carepipe.core.auth import Principal
from carepipe.core.errors import (
    DrillNotFound,
    DrillRunning,
    InvalidRequest,
    PermissionDenied,
    UnderMaintenance,
)
from carepipe.ops import maintenance
from carepipe.ops.dr import service, store
from carepipe.ops.dr.assess import DrillFacts, assess
from carepipe.ops.dr.views import SmokeResult
from tests.support.dr_drills import stored_drill
from tests.support.live_server import free_port

ADMIN = Principal(kind="user", id="ada", roles=("admin",))
OPS = Principal(kind="user", id="olu", roles=("ops",))
COMPLIANCE = Principal(kind="user", id="cy", roles=("compliance",))
CLINICIAN = Principal(kind="user", id="cl", roles=("clinician",))


def test_only_dr_manage_runs_a_drill_and_dr_read_reads_them(settings, db):
    with pytest.raises(PermissionDenied):
        service.run_drill(settings, OPS)
    assert service.list_drills(db, ADMIN) == []  # nothing was started
    drill_id, _ = stored_drill(db)
    for reader in (ADMIN, OPS, COMPLIANCE):
        assert [d.id for d in service.list_drills(db, reader)] == [drill_id]
        assert service.get_drill(db, reader, drill_id).status == "passed"
    with pytest.raises(PermissionDenied):
        service.list_drills(db, CLINICIAN)
    with pytest.raises(PermissionDenied):
        service.report(db, CLINICIAN, drill_id, "json")
    with pytest.raises(DrillNotFound):
        service.get_drill(db, ADMIN, "nope")


def test_report_in_three_forms(settings, db):
    drill_id, _ = stored_drill(
        db,
        status="failed",
        rpo=400.0,
        findings=(("RPO target missed", "critical", date(2026, 3, 8)),),
    )
    data = json.loads(service.report(db, COMPLIANCE, drill_id, "json"))
    assert data["id"] == drill_id and data["rpo_met"] is False
    html = service.report(db, COMPLIANCE, drill_id, "html").decode()
    assert "400.00 s" in html and "MISSED" in html and "RPO target missed" in html
    assert "<script" not in html
    assert service.report(db, COMPLIANCE, drill_id, "pdf").startswith(b"%PDF")
    with pytest.raises(InvalidRequest):
        service.report(db, COMPLIANCE, drill_id, "docx")


def test_a_drill_does_not_start_over_another_or_over_a_fence(settings, db):
    with db.transaction() as s:
        running = store.start_drill(
            s,
            trigger="cli",
            layout="sqlite",
            started_by="user:x",
            started_at=settings_now(),
            rto_target_seconds=60,
            rpo_target_seconds=5,
        )
    with pytest.raises(DrillRunning):
        service.run_drill(settings, ADMIN)
    with db.transaction() as s:
        store.finish_drill(s, running, status="error", finished_at=settings_now())
    # A drill whose process died (still "running" hours later) does not block the next.
    with db.transaction() as s:
        abandoned = store.start_drill(
            s,
            trigger="cli",
            layout="sqlite",
            started_by="user:x",
            started_at=settings_now() - timedelta(hours=3),
            rto_target_seconds=60,
            rpo_target_seconds=5,
        )
    with db.transaction() as s:
        fresh = store.start_drill(
            s,
            trigger="cli",
            layout="sqlite",
            started_by="user:y",
            started_at=settings_now(),
            rto_target_seconds=60,
            rpo_target_seconds=5,
            stale_after=timedelta(hours=2),
        )
    with db.transaction() as s:
        stale = store.get_drill(s, abandoned)
        store.finish_drill(s, fresh, status="error", finished_at=settings_now())
    assert stale.status == "error" and "abandoned" in (stale.error or "")
    # A fence set by someone else: the drill's failback would lift it, so it refuses.
    maintenance.fence(db, ADMIN, reason="storage migration")
    with pytest.raises(UnderMaintenance):
        service.run_drill(settings, ADMIN)
    assert maintenance.fence_status(db, ADMIN).fenced
    assert len(service.list_drills(db, ADMIN)) == 3  # none started over the fence


# SQLite only: on PostgreSQL the standby would run pgBackRest against the shared server's
# host (tests/ops/dr/test_drill_pg.py uses a throwaway cluster instead).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_drill_that_dies_records_where_and_unfences(settings, db):
    # No backup configured: the restore cannot run. The drill ends ``error`` with its
    # partial timeline, a critical finding, and the primary unfenced.
    nobody = f"http://127.0.0.1:{free_port()}"  # no primary API to probe: not confirmed
    view = service.run_drill(
        settings,
        ADMIN,
        rpo_target=5,
        lead_in_seconds=0.3,
        primary_url=nobody,
        primary_mllp_port=free_port(),
    )
    assert view.status == "error"
    assert "BackupNotConfigured" in (view.error or "")
    steps = [e.step for e in view.timeline]
    assert steps[:3] == ["heartbeat", "fence", "fence_effective"]
    assert steps[-2:] == ["findings", "failback"] and "error" in steps
    assert view.details["failed_step"] == "restore"
    (finding,) = view.findings
    assert finding.severity == "critical" and "could not run to the end" in finding.title
    assert view.details["fence"]["ok"] is None  # nothing answered at the primary's URL
    assert not maintenance.fence_status(db, ADMIN).fenced
    with db.session() as s:  # the heartbeats went with the drill (the report keeps figures)
        assert store.newest_heartbeat(s, view.id) is None


def settings_now():
    from carepipe.core.clock import utcnow

    return utcnow()


def _facts(**kw) -> DrillFacts:
    ok = [SmokeResult(name=n, ok=True, seconds=0.1) for n in ("health", "mllp")]
    base = dict(
        rto_target=7200,
        rpo_target=300,
        rto_seconds=40.0,
        rpo_seconds=1.0,
        smoke=ok,
        fence={"ok": True},
        backup_verify={"ok": True, "verified_at": "x"},
    )
    return DrillFacts(**(base | kw))


def test_findings_follow_the_results():
    assert assess(_facts()) == []
    found = assess(
        _facts(
            rpo_seconds=200.0,
            rto_seconds=None,
            smoke=[
                SmokeResult(name="row_counts", ok=False, seconds=0.1, detail="jobs 10/9"),
                SmokeResult(
                    name="console_signin", ok=False, seconds=0, detail="no headless browser: x"
                ),
            ],
            missing=[{"kind": "job", "id": "a"}, {"kind": "job", "id": "b"}],
            backup_verify=None,
            fence={"ok": None, "api": "not reachable", "mllp": "not probed"},
        )
    )
    by_title = {f.title: f.severity for f in found}
    assert by_title == {
        "Smoke test row_counts failed on the standby": "critical",
        "2 acknowledged job(s) missing on the standby": "critical",
        "Drill could not check the console: no headless browser": "medium",
        "RPO close to its target": "medium",
        "RTO not measured: the standby never passed its smoke tests": "high",
        "Backup never verified": "low",
        "Fence not confirmed on the primary": "low",
    }
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key=["critical", "high", "medium", "low"].index
    )
    assert found[0].due(date(2026, 1, 1)) == date(2026, 1, 8)
    assert found[-1].due(date(2026, 1, 1)) == date(2026, 4, 1)
    missed = {f.title for f in assess(_facts(rpo_seconds=301.0, rto_seconds=7300.0))}
    assert missed == {"RPO target missed", "RTO target missed"}
