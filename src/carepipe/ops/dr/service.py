"""Drill services: permission, the audit entries, the drill and its reports.

``dr.manage`` runs a drill; ``dr.read`` reads drills and their reports. A drill is
audited ``dr.drill`` twice in the primary's log: when it starts and with its result.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import UnderMaintenance
from carepipe.core.maintenance.state import current_fence
from carepipe.ops.dr import store
from carepipe.ops.dr.views import DrillView

MANAGE = "dr.manage"
READ = "dr.read"
FORMATS = ("json", "html", "pdf")


def _audit_drill(
    db: Database, principal: Principal, drill_id: str, after: dict[str, object]
) -> None:
    with db.transaction() as session:
        audit.record(
            session,
            actor=principal.actor,
            actor_role=principal.role,
            action="dr.drill",
            target_type="dr_drill",
            target_id=drill_id,
            after=after,
        )


def _started_by(principal: Principal, requested_by: str | None) -> str:
    """The drill row's ``started_by``: the person who asked, then the identity that ran it."""
    if not requested_by or requested_by == principal.actor:
        return principal.actor
    # The column holds 128 characters; the running identity is the part that must survive.
    return f"{requested_by[: 100 - len(principal.actor)]} via {principal.actor}"[:128]


def run_drill(
    settings: Settings,
    principal: Principal,
    *,
    trigger: str = "cli",
    rto_target: int | None = None,
    rpo_target: int | None = None,
    primary_url: str | None = None,
    primary_mllp_port: int | None = None,
    failback: bool = True,
    keep_standby: bool = False,
    work_dir: Path | None = None,
    lead_in_seconds: float | None = None,
    requested_by: str | None = None,
) -> DrillView:
    """``dr.manage``: run a drill end to end (``drill_running`` if one runs) and return it.

    Targets default to the settings (``dr_rto_seconds``, ``backup_rpo_seconds``).
    ``requested_by`` names who asked for a launched drill (the console user); the drill
    still runs, and is audited, as ``principal``, and ``started_by`` names both.
    """
    # The drill's machinery (fence, standby, smoke tests) is loaded only to run one: the
    # API and console import this module for the read services.
    from carepipe.ops.dr.drill import DrillOptions, execute

    require(principal, MANAGE)
    opts = DrillOptions(
        rto_target=rto_target if rto_target is not None else settings.dr_rto_seconds,
        rpo_target=rpo_target if rpo_target is not None else settings.backup_rpo_seconds,
        primary_url=primary_url,
        primary_mllp_port=primary_mllp_port,
        failback=failback,
        keep_standby=keep_standby,
        work_dir=work_dir,
        **({"lead_in_seconds": lead_in_seconds} if lead_in_seconds is not None else {}),
    )
    db = Database(settings.resolved_database_url)
    try:
        with db.transaction() as session:
            earlier = current_fence(session)
            if earlier is not None:
                # Failback lifts the fence: a drill must not lift one it did not set.
                raise UnderMaintenance(
                    f"the platform is already fenced ({earlier.reason}); lift it first",
                    details={"retry_after_seconds": earlier.retry_after_seconds},
                )
            drill_id = store.start_drill(
                session,
                trigger=trigger,
                layout="sqlite" if db.is_sqlite else "postgresql",
                started_by=_started_by(principal, requested_by),
                started_at=utcnow(),
                rto_target_seconds=opts.rto_target,
                rpo_target_seconds=opts.rpo_target,
                # Twice the RTO target (at least an hour): no live drill runs that long.
                stale_after=timedelta(seconds=max(2 * opts.rto_target, 3600)),
            )
            audit.record(
                session,
                actor=principal.actor,
                actor_role=principal.role,
                action="dr.drill",
                target_type="dr_drill",
                target_id=drill_id,
                after={
                    "phase": "start",
                    "trigger": trigger,
                    "rto_target": opts.rto_target,
                    "rpo_target": opts.rpo_target,
                    "failback": failback,
                    **({"requested_by": requested_by} if requested_by else {}),
                },
            )
        execute(settings, db, principal, drill_id, opts)
        with db.session() as session:
            view = store.get_drill(session, drill_id)
        _audit_drill(
            db,
            principal,
            drill_id,
            {
                "phase": "result",
                "status": view.status,
                "rto_seconds": view.rto_seconds,
                "rpo_seconds": view.rpo_seconds,
                "missing": len(view.missing),
                "findings": len(view.findings),
            },
        )
        return view
    finally:
        db.dispose()


def get_drill(db: Database, principal: Principal, drill_id: str) -> DrillView:
    """``dr.read``: one drill with its timeline, smoke tests and findings."""
    require(principal, READ)
    with db.session() as session:
        return store.get_drill(session, drill_id)


def list_drills(db: Database, principal: Principal, *, limit: int = 50) -> list[DrillView]:
    """``dr.read``: the newest drills first."""
    require(principal, READ)
    with db.session() as session:
        return store.list_drills(session, limit=limit)


def report(db: Database, principal: Principal, drill_id: str, fmt: str) -> bytes:
    """``dr.read``: a drill's report as ``json``, ``html`` or ``pdf`` bytes (ids and
    counts only: no patient data)."""
    from carepipe.core.errors import InvalidRequest
    from carepipe.ops.dr import report as render

    if fmt not in FORMATS:
        raise InvalidRequest(f"report format must be one of {', '.join(FORMATS)}")
    drill = get_drill(db, principal, drill_id)
    if fmt == "json":
        return render.render_json(drill).encode()
    if fmt == "html":
        return render.render_html(drill).encode()
    return render.render_pdf(drill)
