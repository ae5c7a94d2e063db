"""Console "Backups" (``backup.manage``, admin): the newest backup, lag against the RPO
target, the last verification and the restorable units, with "Back up now" and "Verify"
(the same audited services as ``carepipe backup now|verify``; docs/backups.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.ops.backup import service
from carepipe.ops.backup.metrics import backups_configured
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/backups", include_in_schema=False)
manage = require_permission(service.PERMISSION)
# Litestream lists every LTX file: the page shows the newest ones, the CLI lists them all.
SHOWN_BACKUPS = 50


def _page(
    request: Request,
    principal: Principal,
    *,
    flashes: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    settings = app_state(request).settings
    flashes = list(flashes or [])
    ctx: dict[str, object] = {"configured": backups_configured(settings), "status": None}
    ctx["rpo_seconds"] = settings.backup_rpo_seconds
    ctx["last_drill"] = _last_drill(request, principal)
    if ctx["configured"]:
        try:
            ctx["status"] = service.backup_status(settings, principal)
            entries = service.list_backups(settings, principal)
            ctx["backups"] = list(reversed(entries[-SHOWN_BACKUPS:]))
            ctx["backup_count"] = len(entries)
        except CarePipeError as exc:
            # The page still renders (with the buttons), so "Back up now" can fix a first run.
            flashes.append(("error", exc.message))
    ctx["flashes"] = flashes
    return render(request, "backups.html", ctx, status)


def _last_drill(request: Request, principal: Principal) -> object:
    """The newest finished drill (issue 17), for the page's "Last drill" line."""
    from carepipe.ops.dr.service import list_drills

    drills = list_drills(app_state(request).db, principal, limit=10)
    return next((d for d in drills if d.status != "running"), None)


@router.get("")
def backups_page(request: Request, principal: Principal = Depends(manage)) -> Response:
    """Status, lag against the RPO target, last verification, the newest backups."""
    return _page(request, principal)


@router.post("/now", dependencies=[Depends(verify_csrf)])
def backup_now(request: Request, principal: Principal = Depends(manage)) -> Response:
    """Ship everything committed so far (audited ``backup.now``)."""
    try:
        run = service.backup_now(app_state(request).settings, principal)
    except CarePipeError as exc:
        return _page(request, principal, flashes=[("error", exc.message)], status=exc.http_status)
    done = f"Backed up to position {run.position or '-'}."
    return _page(request, principal, flashes=[("ok", done)])


@router.post("/verify", dependencies=[Depends(verify_csrf)])
def verify(request: Request, principal: Principal = Depends(manage)) -> Response:
    """Restore to scratch and check (audited ``backup.verify``, failed ones too)."""
    try:
        report = service.verify_backup(app_state(request).settings, principal)
    except CarePipeError as exc:
        return _page(request, principal, flashes=[("error", exc.message)], status=exc.http_status)
    rows = sum(report.tables.values())
    return _page(request, principal, flashes=[("ok", f"Backup verified: {rows} rows restored.")])
