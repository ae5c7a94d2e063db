"""The only writer of drill rows (``dr_drills``, ``dr_findings``, ``dr_heartbeats``),
and the queries that read them back as views.

Services call these inside their own transaction and check permissions first; this
module knows nothing of who is asking.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carepipe.core.errors import DrillNotFound, DrillRunning, FindingNotFound
from carepipe.core.models import new_id
from carepipe.ops.dr.models import DrDrill, DrFinding, DrHeartbeat
from carepipe.ops.dr.views import DrillView, FindingView, SmokeResult, TimelineEvent


def start_drill(
    session: Session,
    *,
    trigger: str,
    layout: str,
    started_by: str,
    started_at: datetime,
    rto_target_seconds: int,
    rpo_target_seconds: int,
    stale_after: timedelta | None = None,
) -> str:
    """A new drill row (status ``running``); ``drill_running`` if another one runs.

    A drill still ``running`` after ``stale_after`` is one whose process died (killed,
    host rebooted): it is closed as ``error`` so that it does not block every drill after.
    """
    running = session.scalars(select(DrDrill).where(DrDrill.status == "running")).first()
    if (
        running is not None
        and stale_after is not None
        and running.started_at < started_at - stale_after
    ):
        running.status, running.finished_at = "error", started_at
        running.error = "abandoned: the drill's process ended without recording a result"
        running = None
    if running is not None:
        raise DrillRunning(f"drill {running.id} is running", details={"drill_id": running.id})
    drill = DrDrill(
        id=new_id(),
        status="running",
        trigger=trigger,
        layout=layout,
        started_by=started_by,
        started_at=started_at,
        rto_target_seconds=rto_target_seconds,
        rpo_target_seconds=rpo_target_seconds,
        timeline=[],
        smoke=[],
        missing=[],
        details={},
    )
    session.add(drill)
    session.flush()
    return drill.id


def _drill(session: Session, drill_id: str) -> DrDrill:
    drill = session.get(DrDrill, drill_id)
    if drill is None:
        raise DrillNotFound(f"no drill {drill_id}")
    return drill


def add_event(session: Session, drill_id: str, event: TimelineEvent) -> None:
    """Append one step to the drill's timeline."""
    drill = _drill(session, drill_id)
    drill.timeline = [*drill.timeline, event.model_dump(mode="json")]


def update_drill(session: Session, drill_id: str, **fields: Any) -> None:
    """Set measured fields (``fenced_at``, ``standby_ready_at``, ``rto_seconds``,
    ``rpo_seconds``, ``details``, ``missing``, ``smoke`` as SmokeResult lists...)."""
    drill = _drill(session, drill_id)
    for name, value in fields.items():
        if name == "smoke":
            value = [s.model_dump(mode="json") if isinstance(s, SmokeResult) else s for s in value]
        if not hasattr(DrDrill, name) or name in {"id", "timeline"}:
            raise AttributeError(f"dr_drills has no settable field {name}")
        setattr(drill, name, value)


def finish_drill(
    session: Session, drill_id: str, *, status: str, finished_at: datetime, error: str | None = None
) -> None:
    """Close a drill as ``passed``, ``failed`` or ``error``."""
    if status not in {"passed", "failed", "error"}:
        raise ValueError(status)
    drill = _drill(session, drill_id)
    drill.status, drill.finished_at, drill.error = status, finished_at, error


def add_finding(
    session: Session,
    drill_id: str,
    *,
    title: str,
    detail: str,
    severity: str,
    owner: str,
    due_date: date,
    created_at: datetime,
) -> int:
    """A new open finding on a drill; returns its id."""
    finding = DrFinding(
        drill_id=drill_id,
        title=title[:200],
        detail=detail,
        severity=severity,
        owner=owner,
        due_date=due_date,
        status="open",
        created_at=created_at,
    )
    session.add(finding)
    session.flush()
    return finding.id


def update_finding(session: Session, finding_id: int, **fields: Any) -> FindingView:
    """Change a finding's ``owner``, ``due_date``, ``ticket``, ``status``, ``closed_at``,
    ``closed_by``; returns it as it is now."""
    finding = session.get(DrFinding, finding_id)
    if finding is None:
        raise FindingNotFound(f"no finding {finding_id}")
    allowed = {"owner", "due_date", "ticket", "status", "closed_at", "closed_by", "detail"}
    for name, value in fields.items():
        if name not in allowed:
            raise AttributeError(f"dr_findings field {name} is not editable")
        setattr(finding, name, value)
    session.flush()
    return _finding_view(finding)


def write_heartbeat(session: Session, drill_id: str, at: datetime) -> None:
    """One heartbeat row (the drill's RPO probe)."""
    session.add(DrHeartbeat(drill_id=drill_id, written_at=at))


def newest_heartbeat(session: Session, drill_id: str) -> datetime | None:
    """The newest heartbeat of ``drill_id`` in this database (primary or standby)."""
    return session.scalar(
        select(func.max(DrHeartbeat.written_at)).where(DrHeartbeat.drill_id == drill_id)
    )


def prune_heartbeats(session: Session, drill_id: str) -> int:
    """Drop a finished drill's heartbeats from the primary (the report keeps the figures)."""
    result = session.execute(delete(DrHeartbeat).where(DrHeartbeat.drill_id == drill_id))
    return int(getattr(result, "rowcount", 0) or 0)


def _finding_view(f: DrFinding) -> FindingView:
    return FindingView(
        id=f.id,
        drill_id=f.drill_id,
        title=f.title,
        detail=f.detail,
        severity=f.severity,
        owner=f.owner,
        due_date=f.due_date,
        status=f.status,
        created_at=f.created_at,
        closed_at=f.closed_at,
        closed_by=f.closed_by,
        ticket=f.ticket,
    )


def _drill_view(d: DrDrill, findings: list[FindingView]) -> DrillView:
    def met(value: float | None, target: int) -> bool | None:
        return None if value is None else value <= target

    return DrillView(
        id=d.id,
        status=d.status,
        trigger=d.trigger,
        layout=d.layout,
        started_by=d.started_by,
        started_at=d.started_at,
        finished_at=d.finished_at,
        rto_target_seconds=d.rto_target_seconds,
        rpo_target_seconds=d.rpo_target_seconds,
        rto_seconds=d.rto_seconds,
        rpo_seconds=d.rpo_seconds,
        rto_met=met(d.rto_seconds, d.rto_target_seconds),
        rpo_met=met(d.rpo_seconds, d.rpo_target_seconds),
        fenced_at=d.fenced_at,
        standby_ready_at=d.standby_ready_at,
        timeline=[TimelineEvent.model_validate(e) for e in d.timeline],
        smoke=[SmokeResult.model_validate(s) for s in d.smoke],
        missing=list(d.missing),
        details=dict(d.details),
        error=d.error,
        findings=findings,
    )


def get_drill(session: Session, drill_id: str) -> DrillView:
    """One drill with its findings; ``drill_not_found`` when there is none."""
    drill = _drill(session, drill_id)
    return _drill_view(drill, list_findings(session, drill_id=drill_id))


def list_drills(session: Session, *, limit: int = 50) -> list[DrillView]:
    """The newest drills first, with their findings."""
    drills = session.scalars(select(DrDrill).order_by(DrDrill.started_at.desc()).limit(limit))
    return [_drill_view(d, list_findings(session, drill_id=d.id)) for d in drills]


def last_drill(session: Session, *, status: str | None = None) -> DrillView | None:
    """The newest finished drill (or the newest with ``status``), if any."""
    query = select(DrDrill).where(DrDrill.status != "running")
    if status is not None:
        query = query.where(DrDrill.status == status)
    drill = session.scalars(query.order_by(DrDrill.started_at.desc()).limit(1)).first()
    return None if drill is None else _drill_view(drill, list_findings(session, drill_id=drill.id))


def list_findings(
    session: Session, *, drill_id: str | None = None, status: str | None = None
) -> list[FindingView]:
    """Findings, oldest first, of one drill or all, optionally only ``open``/``done``."""
    query = select(DrFinding)
    if drill_id is not None:
        query = query.where(DrFinding.drill_id == drill_id)
    if status is not None:
        query = query.where(DrFinding.status == status)
    return [_finding_view(f) for f in session.scalars(query.order_by(DrFinding.id))]
