"""Archive search and backfills: search, start (preview + confirmation), live progress,
pause / resume / cancel, report downloads.

Every page is an adapter over ``carepipe.ops.archive`` and ``carepipe.ops.backfill``:
rules, queries and permissions are the services' (the route dependency only
guards the page itself). Forms work without JavaScript; HTMX only refreshes
the progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.ops import archive
from carepipe.ops import backfill as service
from carepipe.ops.archive import ArchiveFilter
from carepipe.web import timefmt
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/backfills", include_in_schema=False)
PAGE = 50
POLL_SECONDS = 2
FILTER_FIELDS = (
    "since",
    "until",
    "pipeline",
    "tenant",
    "source",
    "error_code",
    "status",
    "job_status",
)
DEFAULT_RATE = 100
FLASHES = {
    "started": ("ok", "Backfill started."),
    "paused": ("ok", "Backfill paused: no new messages are handed out."),
    "resumed": ("ok", "Backfill resumed."),
    "cancelled": (
        "ok",
        "Backfill cancelled: waiting messages were given back their earlier state.",
    ),
}

read_archive = require_permission("archive.read")
read_backfills = require_permission("backfill.read")
run_backfills = require_permission("backfill.run")


def _time(value: str | None, name: str) -> datetime | None:
    """The console's time filters are UTC text (``2026-03-01 12:00``)."""
    return timefmt.parse_utc(value, name)


def _filter_from(params: dict[str, Any]) -> ArchiveFilter:
    return ArchiveFilter(
        since=_time(params.get("since"), "from"),
        until=_time(params.get("until"), "until"),
        pipeline=params.get("pipeline") or None,
        tenant=params.get("tenant") or None,
        source=params.get("source") or None,
        error_code=params.get("error_code") or None,
        status=params.get("status") or None,
        job_status=params.get("job_status") or None,
    )


def _form_values(f: ArchiveFilter) -> dict[str, str]:
    """The filter as the form's field values (times as UTC text, ``2026-03-01 12:00``)."""
    out: dict[str, str] = {}
    for key in FILTER_FIELDS:
        value = getattr(f, key)
        if value is None:
            continue
        out[key] = timefmt.input_value(value) if key in ("since", "until") else value
    return out


def _options(request: Request, principal: Principal) -> service.FilterOptions:
    with app_state(request).db.session() as s:
        return service.filter_options(s, principal)


def _filter_or_error(request: Request) -> tuple[ArchiveFilter | None, str | None]:
    try:
        return _filter_from(dict(request.query_params)), None
    except CarePipeError as exc:
        return None, exc.message


# -- archive search ------------------------------------------------------------------------


@router.get("/archive")
def archive_search(
    request: Request,
    cursor: str | None = None,
    principal: Principal = Depends(read_archive),
) -> Response:
    """Search the raw-message archive: count, then pages of metadata (newest first)."""
    f, error = _filter_or_error(request)
    ctx: dict[str, Any] = {
        "options": _options(request, principal),
        "error": error,
        "searched": False,
    }
    if f is not None:
        values = _form_values(f)
        ctx["filter"] = values
        if values or cursor:
            with app_state(request).db.session() as s:
                page = archive.query_messages(s, principal, f, cursor=cursor, limit=PAGE)
                total = archive.count_messages(s, principal, f)
                by_status = archive.count_by(s, principal, f, "job_status")
            ctx.update(
                searched=True,
                items=page.items,
                total=total,
                by_status=by_status,
                next_href="?" + urlencode({**values, "cursor": page.next_cursor})
                if page.next_cursor
                else None,
                first_href="?" + urlencode(values) if cursor else None,
                filter_qs=urlencode(values),
                can_backfill=principal.can("backfill.run"),
            )
    else:
        ctx["filter"] = {k: v for k, v in request.query_params.items() if k in FILTER_FIELDS}
    return render(request, "backfills/archive.html", ctx)


# -- list, new, confirm, start -------------------------------------------------------------


@router.get("")
def backfill_list(request: Request, principal: Principal = Depends(read_backfills)) -> Response:
    state = app_state(request)
    service.finalize_due(state.db, state.blobs)
    with state.db.session() as s:
        items = service.list_backfills(s, principal, limit=PAGE)
    return render(
        request,
        "backfills/list.html",
        {"items": items, "can_run": principal.can("backfill.run")},
    )


@router.get("/new")
def new_backfill(request: Request, principal: Principal = Depends(run_backfills)) -> Response:
    """Step 1: the filter, the target pipeline and the rate."""
    params = dict(request.query_params)
    f, error = _filter_or_error(request)
    values = (
        _form_values(f)
        if f is not None
        else {k: v for k, v in params.items() if k in FILTER_FIELDS}
    )
    return render(
        request,
        "backfills/new.html",
        {
            "filter": values,
            "target": params.get("target") or values.get("pipeline") or "",
            "rate": params.get("rate") or DEFAULT_RATE,
            "reason": params.get("reason") or "",
            "options": _options(request, principal),
            "error": error,
        },
    )


@router.get("/confirm")
def confirm_backfill(request: Request, principal: Principal = Depends(run_backfills)) -> Response:
    """Step 2: how many messages would be replayed, where, how fast; then confirm."""
    params = dict(request.query_params)
    try:
        f = _filter_from(params)
        target = params.get("target") or ""
        rate = float(params.get("rate") or 0)
        with app_state(request).db.session() as s:
            preview = service.preview_backfill(
                s, principal, archive_filter=f, pipeline=target, rate_per_minute=rate
            )
    except (CarePipeError, ValueError) as exc:
        message = exc.message if isinstance(exc, CarePipeError) else "rate must be a number"
        return render(
            request,
            "backfills/new.html",
            {
                "filter": {k: v for k, v in params.items() if k in FILTER_FIELDS},
                "target": params.get("target") or "",
                "rate": params.get("rate") or DEFAULT_RATE,
                "reason": params.get("reason") or "",
                "options": _options(request, principal),
                "error": message,
            },
            status=400,
        )
    values = _form_values(f)
    return render(
        request,
        "backfills/confirm.html",
        {
            "filter": values,
            "back_qs": urlencode(
                {
                    **values,
                    "target": target,
                    "rate": params.get("rate"),
                    "reason": params.get("reason") or "",
                }
            ),
            "target": preview.pipeline,
            "rate": preview.rate_per_minute,
            "reason": params.get("reason") or "",
            "total": preview.total,
            "by_status": preview.by_status,
            "sample": preview.sample,
            "minutes": preview.minutes,
        },
    )


@router.post("", dependencies=[Depends(verify_csrf)])
def start(
    request: Request,
    target: str = Form(...),
    rate: float = Form(...),
    reason: str = Form(""),
    expected_total: int = Form(0),
    since: str = Form(""),
    until: str = Form(""),
    pipeline: str = Form(""),
    tenant: str = Form(""),
    source: str = Form(""),
    error_code: str = Form(""),
    status: str = Form(""),
    job_status: str = Form(""),
    principal: Principal = Depends(run_backfills),
) -> Response:
    """Step 3 (the confirmed form): start it, then show its live progress."""
    state = app_state(request)
    f = _filter_from(
        {
            "since": since,
            "until": until,
            "pipeline": pipeline,
            "tenant": tenant,
            "source": source,
            "error_code": error_code,
            "status": status,
            "job_status": job_status,
        }
    )
    view = service.start_backfill(
        state.db,
        principal,
        archive_filter=f,
        pipeline=target,
        rate_per_minute=rate,
        reason=reason or None,
        max_attempts=state.settings.max_attempts,
    )
    qs = {"done": "started"}
    if expected_total and view.matched != expected_total:
        qs["expected"] = str(expected_total)
    return RedirectResponse(f"/console/backfills/{view.id}?{urlencode(qs)}", status_code=303)


# -- one backfill --------------------------------------------------------------------------


def _detail(request: Request, principal: Principal, backfill_id: str) -> dict[str, Any]:
    state = app_state(request)
    view = service.get_backfill(state.db, state.blobs, principal, backfill_id)
    with state.db.session() as s:
        failures = service.list_items(s, principal, backfill_id, only="failed", limit=PAGE)
    return {
        "bf": view,
        "failures": failures,
        "can_run": principal.can("backfill.run"),
        "live": view.finished_at is None,
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/{backfill_id}")
def detail(
    request: Request, backfill_id: str, principal: Principal = Depends(read_backfills)
) -> Response:
    ctx = _detail(request, principal, backfill_id)
    flashes = []
    done = FLASHES.get(request.query_params.get("done", ""))
    if done:
        flashes.append(done)
    expected = request.query_params.get("expected")
    if expected:
        flashes.append(
            (
                "info",
                f"The preview counted {expected} messages; {ctx['bf']['matched']} matched "
                "when the backfill started (messages arrived or changed in between).",
            )
        )
    ctx["flashes"] = flashes
    return render(request, "backfills/detail.html", ctx)


@router.get("/{backfill_id}/progress")
def progress_fragment(
    request: Request, backfill_id: str, principal: Principal = Depends(read_backfills)
) -> Response:
    """The live part of the detail page (HTMX polls it while the backfill is active).

    ``shown`` is the status the page shows; when it changed, the controls come along
    (an out-of-band swap), e.g. gone once the backfill has finished.
    """
    ctx = _detail(request, principal, backfill_id)
    ctx["shown"] = request.query_params.get("shown")
    return render(request, "backfills/_progress.html", ctx)


def _act(
    request: Request, principal: Principal, backfill_id: str, action: str, reason: str
) -> Response:
    fn = {
        "pause": service.pause_backfill,
        "resume": service.resume_backfill,
        "cancel": service.cancel_backfill,
    }[action]
    fn(app_state(request).db, principal, backfill_id, reason=reason or None)
    done = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
    return RedirectResponse(f"/console/backfills/{backfill_id}?done={done}", status_code=303)


@router.post("/{backfill_id}/pause", dependencies=[Depends(verify_csrf)])
def pause(
    request: Request,
    backfill_id: str,
    reason: str = Form(""),
    principal: Principal = Depends(run_backfills),
) -> Response:
    return _act(request, principal, backfill_id, "pause", reason)


@router.post("/{backfill_id}/resume", dependencies=[Depends(verify_csrf)])
def resume(
    request: Request,
    backfill_id: str,
    reason: str = Form(""),
    principal: Principal = Depends(run_backfills),
) -> Response:
    return _act(request, principal, backfill_id, "resume", reason)


@router.get("/{backfill_id}/cancel")
def confirm_cancel(
    request: Request,
    backfill_id: str,
    reason: str = Query("", max_length=2000),
    principal: Principal = Depends(run_backfills),
) -> Response:
    """Cancelling cannot be undone: say what it does to how many messages, then ask."""
    ctx = _detail(request, principal, backfill_id)
    ctx["reason"] = reason
    return render(request, "backfills/cancel_confirm.html", ctx)


@router.post("/{backfill_id}/cancel", dependencies=[Depends(verify_csrf)])
def cancel(
    request: Request,
    backfill_id: str,
    reason: str = Form(""),
    principal: Principal = Depends(run_backfills),
) -> Response:
    return _act(request, principal, backfill_id, "cancel", reason)


@router.get("/{backfill_id}/report")
def report(
    request: Request,
    backfill_id: str,
    format: str = Query("json", pattern="^(json|csv)$"),
    principal: Principal = Depends(read_backfills),
) -> Response:
    """Download the reconciliation report (``X-Report-SHA256`` = the audited hash)."""
    state = app_state(request)
    rep = service.get_report(state.db, state.blobs, principal, backfill_id, format)
    return Response(
        rep.content,
        media_type=rep.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{rep.filename}"',
            "X-Report-SHA256": rep.sha256,
            "Cache-Control": "no-store",
        },
    )
