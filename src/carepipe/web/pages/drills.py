"""Console "Drills" (``dr.read``: admin, ops, compliance): the drills with the last one's
summary, and each drill's report (timeline, RTO/RPO against the targets, smoke tests,
anything missing, findings) with downloads. ``dr.manage`` (admin) edits findings (owner,
due date, ticket, close) and presses "Run drill now" (a detached ``carepipe dr drill``,
see ``ops/dr/schedule.py``); the same audited services as the API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError, ValidationFailed
from carepipe.ops.backup.metrics import backups_configured
from carepipe.ops.dr import findings, schedule, service
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/drills", include_in_schema=False)
read = require_permission(findings.READ)
manage = require_permission(findings.MANAGE)
DRILL_ID = Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")
MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def _list_page(
    request: Request,
    principal: Principal,
    *,
    flashes: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    drills = service.list_drills(state.db, principal)
    finished = [d for d in drills if d.status != "running"]
    ctx: dict[str, object] = {
        "drills": drills,
        "last": finished[0] if finished else None,
        "running": next((d for d in drills if d.status == "running"), None),
        "configured": backups_configured(state.settings),
        "interval_days": state.settings.dr_drill_interval_days,
        "flashes": flashes or [],
    }
    return render(request, "drills/list.html", ctx, status)


@router.get("")
def drills_page(request: Request, principal: Principal = Depends(read)) -> Response:
    """The drills, newest first, and the last finished one's outcome."""
    return _list_page(request, principal)


@router.post("/run", dependencies=[Depends(verify_csrf)])
def run_now(request: Request, principal: Principal = Depends(manage)) -> Response:
    """Start a drill now, as its own process (audited ``dr.drill.request``)."""
    state = app_state(request)
    try:
        pid = schedule.request_drill(state.db, state.settings, principal)
    except CarePipeError as exc:
        return _list_page(
            request, principal, flashes=[("error", exc.message)], status=exc.http_status
        )
    done = f"Drill started (process {pid}); it appears here within seconds and fences writes."
    return _list_page(request, principal, flashes=[("ok", done)], status=202)


def _drill_page(
    request: Request,
    principal: Principal,
    drill_id: str,
    *,
    flashes: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    drill = service.get_drill(app_state(request).db, principal, drill_id)
    ctx: dict[str, object] = {"drill": drill, "flashes": flashes or [], "today": date.today()}
    return render(request, "drills/detail.html", ctx, status)


@router.get("/{drill_id}")
def drill_page(
    request: Request, drill_id: str = DRILL_ID, principal: Principal = Depends(read)
) -> Response:
    """One drill's report, with the findings' edit forms for ``dr.manage``."""
    return _drill_page(request, principal, drill_id)


@router.post("/{drill_id}/findings/{finding_id}", dependencies=[Depends(verify_csrf)])
def edit_finding(
    request: Request,
    drill_id: str = DRILL_ID,
    finding_id: int = Path(ge=1, le=2**53 - 1),
    owner: str = Form(..., max_length=128),
    due_date: str = Form(..., max_length=10),
    ticket: str = Form("", max_length=64),
    status: Literal["open", "done"] = Form("open"),
    principal: Principal = Depends(manage),
) -> Response:
    """Save a finding's owner, due date, ticket and status (audited)."""
    state = app_state(request)
    try:
        try:
            due = date.fromisoformat(due_date)
        except ValueError:
            raise ValidationFailed("due date must be a date (YYYY-MM-DD)") from None
        owned = {f.id for f in service.get_drill(state.db, principal, drill_id).findings}
        if finding_id not in owned:
            from carepipe.core.errors import FindingNotFound

            raise FindingNotFound(f"drill {drill_id} has no finding {finding_id}")
        f = findings.update_finding(
            state.db,
            principal,
            finding_id,
            owner=owner,
            due_date=due,
            ticket=ticket,
            status=status,
        )
    except CarePipeError as exc:
        return _drill_page(
            request, principal, drill_id, flashes=[("error", exc.message)], status=exc.http_status
        )
    word = "closed" if f.status == "done" else "saved"
    return _drill_page(request, principal, drill_id, flashes=[("ok", f"Finding {f.id} {word}.")])


@router.get("/{drill_id}/report.{fmt}")
def report(
    request: Request,
    fmt: Literal["html", "json", "pdf"],
    drill_id: str = DRILL_ID,
    principal: Principal = Depends(read),
) -> Response:
    """The drill's report as a download (HTML, JSON or PDF)."""
    body = service.report(app_state(request).db, principal, drill_id, fmt)
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="drill-{drill_id}.{fmt}"'},
    )


@router.get("/{drill_id}/findings.{fmt}")
def findings_export(
    request: Request,
    fmt: Literal["csv", "json"],
    drill_id: str = DRILL_ID,
    principal: Principal = Depends(read),
) -> Response:
    """The drill's findings for an issue tracker (Jira's CSV or JSON importer)."""
    db = app_state(request).db
    service.get_drill(db, principal, drill_id)  # drill_not_found rather than an empty file
    body = findings.export_findings(findings.list_findings(db, principal, drill_id=drill_id), fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    name = f"drill-{drill_id}-findings.{fmt}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
