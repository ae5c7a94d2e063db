"""``/v1/backfills`` and ``/v1/archive/messages``: reprocess the archive, for staff.

Thin adapter over ``carepipe.ops.backfill`` and ``carepipe.ops.archive``:
authentication (personal token or console session + CSRF header) by
``staff_principal``; permissions, audit and errors are the services'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import MAX_ID, PRINTABLE, PROSE, AwareTime, Text
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops import archive
from carepipe.ops import backfill as service
from carepipe.ops.archive import ArchiveFilter, decode_cursor, encode_cursor
from carepipe.ops.views import View

router = APIRouter(tags=["backfills"])


class FilterBody(BaseModel):
    """Which archived messages: received in [since, until) (both required for a backfill)."""

    since: AwareTime | None = None
    until: AwareTime | None = None
    pipeline: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    tenant: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    source: str | None = Field(None, max_length=32, pattern=PRINTABLE)
    error_code: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    status: str | None = Field(None, max_length=16, pattern=PRINTABLE)
    job_status: str | None = Field(None, max_length=16, pattern=PRINTABLE)

    def to_filter(self) -> ArchiveFilter:
        return ArchiveFilter(**self.model_dump())


class BackfillRequest(BaseModel):
    filter: FilterBody
    pipeline: str = Field(
        min_length=1, max_length=64, pattern=PRINTABLE, description="Pipeline to replay into."
    )
    rate_per_minute: float = Field(gt=0, le=service.MAX_RATE_PER_MINUTE)
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification."
    )


class ActionBody(BaseModel):
    reason: str | None = Field(None, max_length=500, pattern=PROSE)


class ArchiveList(View):
    """Archived messages (metadata only), newest first."""

    items: list[archive.ArchivedMessage]
    next_cursor: str | None
    count: int | None = Field(description="How many match (null when count=false).")
    filter: dict[str, Any] = Field(description="The filter as the server read it.")


class BackfillList(View):
    items: list[service.BackfillView]
    next_cursor: str | None


class BackfillItemList(View):
    items: list[service.BackfillItemView]
    next_after: int | None = Field(description="Pass as ``after`` for the next page.")


BACKFILL_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The backfill's id.")


# -- archive -------------------------------------------------------------------------------


def _archive_filter(
    since: AwareTime | None = None,
    until: AwareTime | None = None,
    pipeline: Text | None = None,
    tenant: Text | None = None,
    source: Text | None = None,
    error_code: Text | None = None,
    status: Text | None = None,
    job_status: Text | None = None,
) -> ArchiveFilter:
    return ArchiveFilter(
        since=since,
        until=until,
        pipeline=pipeline or None,
        tenant=tenant or None,
        source=source or None,
        error_code=error_code or None,
        status=status or None,
        job_status=job_status or None,
    )


@router.get(
    "/v1/archive/messages",
    operation_id="listArchivedMessages",
    response_model=ArchiveList,
    responses=error_responses(400),
)
def archive_messages(
    f: ArchiveFilter = Depends(_archive_filter),
    cursor: Text | None = None,
    limit: int = Query(50, ge=1, le=archive.MAX_PAGE),
    count: bool = True,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ArchiveList:
    """Archived messages (metadata only), newest first, with the total count of matches."""
    with state.db.session() as s:
        page = archive.query_messages(s, principal, f, cursor=cursor, limit=limit)
        total = archive.count_messages(s, principal, f) if count else None
    return ArchiveList(
        items=page.items, next_cursor=page.next_cursor, count=total, filter=f.to_dict()
    )


# -- backfills -----------------------------------------------------------------------------


@router.post(
    "/v1/backfills",
    status_code=201,
    operation_id="startBackfill",
    response_model=service.BackfillView,
    responses=error_responses(400),
)
def start_backfill(
    body: BackfillRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.BackfillView:
    """Replay the matching archived messages into ``pipeline`` at ``rate_per_minute``."""
    return service.start_backfill(
        state.db,
        principal,
        archive_filter=body.filter.to_filter(),
        pipeline=body.pipeline,
        rate_per_minute=body.rate_per_minute,
        reason=body.reason,
        max_attempts=state.settings.max_attempts,
    )


@router.get(
    "/v1/backfills",
    operation_id="listBackfills",
    response_model=BackfillList,
    responses=error_responses(400),
)
def list_backfills(
    status: Text | None = None,
    cursor: Text | None = None,
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> BackfillList:
    """Backfills, newest first, with their progress; ``next_cursor`` pages on."""
    before = decode_cursor(cursor) if cursor else None
    with state.db.session() as s:
        items = service.list_backfills(s, principal, status=status, limit=limit, before=before)
    nxt = None
    if len(items) == limit and items[-1].created_at:
        last = items[-1]
        nxt = encode_cursor(datetime.fromisoformat(last.created_at), last.id)
    return BackfillList(items=items, next_cursor=nxt)


@router.get(
    "/v1/backfills/{backfill_id}",
    operation_id="getBackfill",
    response_model=service.BackfillView,
    responses=error_responses(404),
)
def get_backfill(
    backfill_id: str = BACKFILL_ID,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.BackfillView:
    """Progress: processed, succeeded, failed, remaining, ETA; the report's links once done."""
    return service.get_backfill(state.db, state.blobs, principal, backfill_id)


@router.get(
    "/v1/backfills/{backfill_id}/items",
    operation_id="listBackfillItems",
    response_model=BackfillItemList,
    responses=error_responses(404),
)
def backfill_items(
    backfill_id: str = BACKFILL_ID,
    only: Literal["failed", "skipped", "cancelled"] | None = None,
    after: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> BackfillItemList:
    """The backfill's items in selection order (``after`` = the last ``item_id`` seen)."""
    with state.db.session() as s:
        items = service.list_items(
            s, principal, backfill_id, only=only, after_id=after, limit=limit
        )
    return BackfillItemList(
        items=items, next_after=items[-1].item_id if len(items) == limit else None
    )


def _act(
    action: str, state: AppState, principal: Principal, backfill_id: str, reason: str | None
) -> service.BackfillView:
    fn = {
        "pause": service.pause_backfill,
        "resume": service.resume_backfill,
        "cancel": service.cancel_backfill,
    }[action]
    fn(state.db, principal, backfill_id, reason=reason)
    # Read back through ``get_backfill``: a cancel with nothing in flight finalises now.
    return service.get_backfill(state.db, state.blobs, principal, backfill_id)


@router.post(
    "/v1/backfills/{backfill_id}/pause",
    operation_id="pauseBackfill",
    response_model=service.BackfillView,
    responses=error_responses(404, 409),
)
def pause_backfill(
    backfill_id: str = BACKFILL_ID,
    body: ActionBody | None = Body(None),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.BackfillView:
    """Stop handing out the backfill's tasks (running ones finish)."""
    return _act("pause", state, principal, backfill_id, body.reason if body else None)


@router.post(
    "/v1/backfills/{backfill_id}/resume",
    operation_id="resumeBackfill",
    response_model=service.BackfillView,
    responses=error_responses(404, 409),
)
def resume_backfill(
    backfill_id: str = BACKFILL_ID,
    body: ActionBody | None = Body(None),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.BackfillView:
    """Continue a paused backfill at its rate."""
    return _act("resume", state, principal, backfill_id, body.reason if body else None)


@router.post(
    "/v1/backfills/{backfill_id}/cancel",
    operation_id="cancelBackfill",
    response_model=service.BackfillView,
    responses=error_responses(404, 409),
)
def cancel_backfill(
    backfill_id: str = BACKFILL_ID,
    body: ActionBody | None = Body(None),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.BackfillView:
    """Cancel the waiting items (their jobs get their earlier state back)."""
    return _act("cancel", state, principal, backfill_id, body.reason if body else None)


@router.get(
    "/v1/backfills/{backfill_id}/report",
    operation_id="getBackfillReport",
    response_class=Response,
    responses={
        200: {
            "description": "The reconciliation report (X-Report-SHA256: its audited hash).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **error_responses(404, 409),
    },
)
def backfill_report(
    backfill_id: str = BACKFILL_ID,
    format: Literal["json", "csv"] = "json",
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """The reconciliation report; ``X-Report-SHA256`` is the hash recorded in the audit log."""
    report = service.get_report(state.db, state.blobs, principal, backfill_id, format)
    return Response(
        report.content,
        media_type=report.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{report.filename}"',
            "X-Report-SHA256": report.sha256,
        },
    )
