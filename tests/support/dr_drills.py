"""Stored drills for the console, API and metrics tests (the drill's own front-door tests
are in tests/ops/dr by helper "drill"): written through ``ops/dr/store.py``, the only
writer of drill rows, as a finished ``carepipe dr drill`` leaves them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from carepipe.core.db import Database
from carepipe.ops.dr import store
from carepipe.ops.dr.views import SmokeResult, TimelineEvent

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def stored_drill(
    db: Database,
    *,
    status: str = "passed",
    started_at: datetime = T0,
    rto: float | None = 42.5,
    rpo: float | None = 1.2,
    layout: str = "sqlite",
    findings: tuple[tuple[str, str, date], ...] = (),
    missing: list[dict[str, str]] | None = None,
) -> tuple[str, list[int]]:
    """A finished drill (``status``) with a timeline, smoke results and ``findings``
    (title, severity, due date); returns its id and the finding ids."""
    with db.transaction() as s:
        drill_id = store.start_drill(
            s,
            trigger="cli",
            layout=layout,
            started_by="user:ada",
            started_at=started_at,
            rto_target_seconds=7200,
            rpo_target_seconds=300,
        )
        fenced = started_at + timedelta(seconds=3)
        for step, secs, detail in (
            ("fence", 3, "writes answered 503 maintenance"),
            ("restore", 10, "litestream restore"),
            ("standby_up", 30, "standby on port 18080"),
            ("smoke", 45, "6 of 6 passed"),
        ):
            store.add_event(
                s,
                drill_id,
                TimelineEvent(at=started_at + timedelta(seconds=secs), step=step, detail=detail),
            )
        store.update_drill(
            s,
            drill_id,
            fenced_at=fenced,
            standby_ready_at=fenced + timedelta(seconds=rto or 0),
            rto_seconds=rto,
            rpo_seconds=rpo,
            smoke=[
                SmokeResult(name="health", ok=True, seconds=0.05, detail="200"),
                SmokeResult(name="mllp", ok=status == "passed", seconds=0.4, detail="AA"),
            ],
            missing=missing or [],
        )
        ids = [
            store.add_finding(
                s,
                drill_id,
                title=title,
                detail=f"{title}: seen in the drill",
                severity=severity,
                owner="ops-team",
                due_date=due,
                created_at=started_at + timedelta(minutes=1),
            )
            for title, severity, due in findings
        ]
        store.finish_drill(
            s, drill_id, status=status, finished_at=started_at + timedelta(seconds=60)
        )
    return drill_id, ids
