"""Dead letters: list, detail, reveal, fix (MRN -> ABHA) and replay, bulk replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError, InvalidRequest
from carepipe.ops import bulk_replay, dlq
from carepipe.ops.users import console_secret
from carepipe.web import timefmt
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/dlq", include_in_schema=False)
PAGE = 50
GRANT_SECONDS = 600
FLASHES = {
    "replayed": "Task re-queued for replay.",
    "mapped": "MRN linked to the ABHA number and the task re-queued for replay.",
    "mapped_only": "MRN linked to the ABHA number.",
}
TERMINAL_JOB = ("succeeded", "dead", "cancelled", "waiting_review")

read_dlq = require_permission("dlq.read")


def _time(value: str | None, name: str = "time") -> datetime | None:
    """The console's time filters are UTC text (``2026-03-01 12:00``)."""
    return timefmt.parse_utc(value, name)


def _filter_from(params: dict[str, Any]) -> dlq.DeadLetterFilter:
    return dlq.DeadLetterFilter(
        pipeline=params.get("pipeline") or None,
        queue=params.get("queue") or None,
        error_code=params.get("error_code") or None,
        tenant=params.get("tenant") or None,
        since=_time(params.get("since"), "died from"),
        until=_time(params.get("until"), "until"),
    )


def _form_values(f: dlq.DeadLetterFilter) -> dict[str, str]:
    out = {k: v for k, v in f.to_dict().items() if k not in ("since", "until")}
    for k in ("since", "until"):
        ts = getattr(f, k)
        if ts is not None:
            out[k] = timefmt.input_value(ts)
    return out


def _grants(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        console_secret(app_state(request).settings), salt="carepipe.payload-grant"
    )


# -- list ----------------------------------------------------------------------------------


@router.get("")
def dead_letters(
    request: Request,
    cursor: str | None = None,
    principal: Principal = Depends(read_dlq),
) -> Response:
    params = dict(request.query_params)
    f = _filter_from(params)
    state = app_state(request)
    with state.db.session() as s:
        page = dlq.page_dead(s, principal, f, cursor=cursor, limit=PAGE)
        counts = dlq.count_by_error(
            s,
            principal,
            dlq.DeadLetterFilter(
                pipeline=f.pipeline, queue=f.queue, tenant=f.tenant, since=f.since, until=f.until
            ),
        )
        total = dlq.count_dead(s, principal, f)
        options = dlq.facets(s, principal)
        recent = bulk_replay.list_bulk_replays(s, principal, limit=5)
    values = _form_values(f)
    base = {k: v for k, v in values.items() if k != "error_code"}
    chips = [
        {
            "code": code,
            "count": n,
            "href": "?" + urlencode({**base, "error_code": code}),
            "current": code == f.error_code,
        }
        for code, n in counts.items()
    ]
    return render(
        request,
        "dlq/list.html",
        {
            "items": page.items,
            "next_href": "?" + urlencode({**values, "cursor": page.next_cursor})
            if page.next_cursor
            else None,
            "first_href": "?" + urlencode(values) if cursor else None,
            "filter": values,
            "filter_qs": urlencode(values),
            "chips": chips,
            "all_href": "?" + urlencode(base),
            "total": total,
            "options": options,
            "recent": recent,
            "can_replay": principal.can("dlq.replay"),
        },
    )


# -- bulk replay ---------------------------------------------------------------------------


@router.get("/bulk-replay/confirm")
def confirm_filter(request: Request, principal: Principal = Depends(read_dlq)) -> Response:
    """Step 1 of "replay all matching": show how many, and when that count was taken."""
    f = _filter_from(dict(request.query_params))
    cutoff = datetime.now(UTC)
    with app_state(request).db.session() as s:
        total = dlq.count_dead(s, principal, f, died_before=cutoff)
        preview = dlq.list_dead(s, principal, f, limit=10)
    return render(
        request,
        "dlq/confirm.html",
        {
            "mode": "filter",
            "total": total,
            "cutoff": cutoff.isoformat(),
            "filter": _form_values(f),
            "filter_desc": f.to_dict(),
            "preview": preview,
            "task_ids": [],
            "can_replay": principal.can("dlq.replay"),
        },
    )


@router.post("/bulk-replay/confirm", dependencies=[Depends(verify_csrf)])
async def confirm_selected(request: Request, principal: Principal = Depends(read_dlq)) -> Response:
    """Step 1 for ticked rows."""
    form = await request.form()
    ids = []
    for v in form.getlist("task_id"):
        try:
            ids.append(int(str(v)))
        except ValueError:
            continue
    if not ids:
        raise InvalidRequest("tick at least one dead letter")
    return render(
        request,
        "dlq/confirm.html",
        {
            "mode": "ids",
            "total": len(ids),
            "task_ids": ids,
            "cutoff": datetime.now(UTC).isoformat(),
            "filter": {},
            "filter_desc": {},
            "preview": [],
            "can_replay": principal.can("dlq.replay"),
        },
    )


@router.post("/bulk-replay", dependencies=[Depends(verify_csrf)])
async def start_bulk(request: Request, principal: Principal = Depends(read_dlq)) -> Response:
    """Step 2: the operator confirmed; queue the background job and show its progress."""
    form = await request.form()
    reason = str(form.get("reason") or "").strip() or None
    ids = [int(str(v)) for v in form.getlist("task_id") if str(v).isdigit()]
    if ids:
        selection = bulk_replay.BulkSelection(task_ids=tuple(ids))
    else:
        fields = {
            k: str(form.get(k) or "")
            for k in ("pipeline", "queue", "error_code", "tenant", "since", "until")
        }
        selection = bulk_replay.BulkSelection(filter=_filter_from(fields))
    cutoff = _time(str(form.get("cutoff") or "")) if form.get("cutoff") else None
    expected = int(str(form.get("expected_total"))) if form.get("expected_total") else None
    state = app_state(request)

    def _create() -> str:
        with state.db.transaction() as s:
            row = bulk_replay.request_bulk_replay(
                s, principal, selection, reason=reason, cutoff=cutoff, expected_total=expected
            )
            return row.id

    from starlette.concurrency import run_in_threadpool

    bulk_id = await run_in_threadpool(_create)
    bulk_replay.start_in_background(state.db)
    return RedirectResponse(f"/console/dlq/bulk-replay/{bulk_id}", status_code=303)


@router.get("/bulk-replay/{bulk_id}")
def bulk_page(request: Request, bulk_id: str, principal: Principal = Depends(read_dlq)) -> Response:
    state = app_state(request)
    with state.db.session() as s:
        bulk = bulk_replay.get_bulk_replay(s, principal, bulk_id)
    if bulk["status"] in ("queued", "running"):
        bulk_replay.resume_stale(state.db)
    return render(request, "dlq/bulk.html", {"bulk": bulk})


@router.get("/bulk-replay/{bulk_id}/progress")
def bulk_progress(
    request: Request, bulk_id: str, principal: Principal = Depends(read_dlq)
) -> Response:
    """HTMX fragment, polled every second until the job ends."""
    with app_state(request).db.session() as s:
        bulk = bulk_replay.get_bulk_replay(s, principal, bulk_id)
    return render(request, "dlq/_bulk_progress.html", {"bulk": bulk})


# -- one dead letter -----------------------------------------------------------------------


def _detail_context(
    request: Request,
    principal: Principal,
    task_id: int,
    *,
    reveal: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    state = app_state(request)
    ctx: dict[str, Any] = {}
    with state.db.session() as s:
        detail = dlq.dead_letter_detail(s, principal, task_id)
    # A reveal, and the MRN shown to whoever may map it, write audit events.
    hint_wanted = detail.can_map_patient
    with state.db.transaction() if (reveal or hint_wanted) else state.db.session() as s:
        try:
            payload = dlq.payload_view(
                s, state.blobs, principal, task_id, reveal=reveal, reason=reason
            )
        except CarePipeError as exc:
            if reveal:
                raise
            payload, ctx["payload_error"] = None, exc.message
        hint = None
        if hint_wanted and payload is not None:
            hint = dlq.mapping_hint(s, state.blobs, principal, task_id)
    if reveal and payload is not None and payload.kind in ("audio", "image", "pdf"):
        grant = _grants(request).dumps({"u": principal.id, "t": task_id})
        ctx["media_url"] = f"/console/dlq/{task_id}/payload/raw?grant={grant}"
    flash = FLASHES.get(request.query_params.get("done", ""))
    ctx.update(
        {
            "d": detail,
            "payload": payload,
            "mrn_hint": hint,
            "flashes": [("ok", flash)] if flash else [],
            "reason": reason or "",
        }
    )
    return ctx


@router.get("/{task_id}")
def detail_page(
    request: Request, task_id: int, principal: Principal = Depends(read_dlq)
) -> Response:
    return render(request, "dlq/detail.html", _detail_context(request, principal, task_id))


@router.get("/{task_id}/status")
def status_fragment(
    request: Request, task_id: int, principal: Principal = Depends(read_dlq)
) -> Response:
    """HTMX fragment: task and job status, polled after a replay until the job ends."""
    with app_state(request).db.session() as s:
        detail = dlq.dead_letter_detail(s, principal, task_id)
    # Once the job has ended, reload the whole page: the error, the attempts and the
    # actions shown beside this status were those of the task before its replay.
    headers = {"HX-Refresh": "true"} if detail.job.status in TERMINAL_JOB else None
    return render(
        request, "dlq/_status.html", {"d": detail, "terminal": TERMINAL_JOB}, headers=headers
    )


@router.post("/{task_id}/reveal", dependencies=[Depends(verify_csrf)])
def reveal(
    request: Request,
    task_id: int,
    reason: str = Form(""),
    principal: Principal = Depends(read_dlq),
) -> Response:
    """Show the payload unmasked (``payload.read_phi`` + a reason); audited."""
    ctx = _detail_context(request, principal, task_id, reveal=True, reason=reason)
    return render(request, "dlq/detail.html", ctx)


@router.get("/{task_id}/payload/raw")
def payload_raw(
    request: Request,
    task_id: int,
    grant: str = Query(...),
    principal: Principal = Depends(read_dlq),
) -> Response:
    """Audio/image bytes for the player, behind the grant issued by an audited reveal."""
    try:
        data = _grants(request).loads(grant, max_age=GRANT_SECONDS)
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("u") != principal.id or data.get("t") != task_id:
        from carepipe.core.errors import PermissionDenied

        raise PermissionDenied("reveal the payload first (the link expired or is not yours)")
    state = app_state(request)
    with state.db.session() as s:
        raw, media_type = dlq.payload_media(s, state.blobs, principal, task_id)
    return Response(
        raw,
        media_type=media_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@router.post("/{task_id}/replay", dependencies=[Depends(verify_csrf)])
def replay(
    request: Request,
    task_id: int,
    reason: str = Form(""),
    principal: Principal = Depends(read_dlq),
) -> Response:
    with app_state(request).db.transaction() as s:
        dlq.replay_dead_task(s, principal, task_id, reason=reason.strip() or None)
    return RedirectResponse(f"/console/dlq/{task_id}?done=replayed", status_code=303)


@router.post("/{task_id}/map-patient", dependencies=[Depends(verify_csrf)])
def map_patient(
    request: Request,
    task_id: int,
    mrn: str = Form(...),
    abha_number: str = Form(...),
    assigning_authority: str = Form(""),
    reason: str = Form(""),
    replay: str = Form("yes"),
    principal: Principal = Depends(read_dlq),
) -> Response:
    do_replay = replay == "yes"
    with app_state(request).db.transaction() as s:
        dlq.map_patient(
            s,
            principal,
            task_id,
            mrn=mrn,
            abha_number=abha_number,
            assigning_authority=assigning_authority or None,
            reason=reason.strip() or None,
            replay=do_replay,
        )
    done = "mapped" if do_replay else "mapped_only"
    return RedirectResponse(f"/console/dlq/{task_id}?done={done}", status_code=303)
