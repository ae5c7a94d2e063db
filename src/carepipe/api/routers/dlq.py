"""``/v1/dlq``: dead letters for staff (personal token or console session)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import MAX_ID, PRINTABLE, PROSE, AwareTime, RowId, Text
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest
from carepipe.core.json_schema import IDENTIFIER_PATTERN
from carepipe.interop.identity.abha import ABHA_PATTERN
from carepipe.ops import bulk_replay, dlq
from carepipe.ops.views import View

router = APIRouter(prefix="/v1/dlq", tags=["dead letters"])


def _filter(
    pipeline: Text | None = None,
    queue: Text | None = None,
    error_code: Text | None = None,
    tenant: Text | None = None,
    since: AwareTime | None = None,
    until: AwareTime | None = None,
) -> dlq.DeadLetterFilter:
    return dlq.DeadLetterFilter.from_dict(
        {
            "pipeline": pipeline,
            "queue": queue,
            "error_code": error_code,
            "tenant": tenant,
            "since": since,
            "until": until,
        }
    )


@router.get(
    "",
    operation_id="listDeadLetters",
    response_model=dlq.DeadLetterList,
    responses=error_responses(400),
)
def list_dead_letters(
    f: dlq.DeadLetterFilter = Depends(_filter),
    cursor: Text | None = None,
    limit: int = Query(50, ge=1, le=dlq.MAX_PAGE),
    counts: bool = True,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.DeadLetterList:
    """Dead tasks, newest first (keyset ``cursor``), with counts per error code."""
    with state.db.session() as s:
        return dlq.list_dead_letters(s, principal, f, cursor=cursor, limit=limit, counts=counts)


class BulkReplayRequest(BaseModel):
    """Either ``task_ids`` or ``filter`` (all dead letters matching it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["task_ids"], "properties": {"task_ids": {"minItems": 1}}},
                {"required": ["filter"], "properties": {"filter": {"type": "object"}}},
            ],
            "not": {"required": ["task_ids", "filter"]},
        }
    )

    task_ids: list[RowId] | None = Field(None, max_length=bulk_replay.MAX_SELECTED_IDS)
    filter: dict[str, Any] | None = None
    reason: str | None = Field(None, max_length=2000, pattern=PROSE)
    expected_total: int | None = Field(
        None, ge=1, le=MAX_ID, description="Refuse if more dead letters than this match now."
    )
    cutoff: AwareTime | None = Field(None, description="Only tasks dead at this time.")


class BulkReplayAccepted(bulk_replay.BulkReplayView):
    status_url: str


class BulkReplayList(View):
    items: list[bulk_replay.BulkReplayView]


@router.post(
    "/bulk-replay",
    status_code=202,
    operation_id="startBulkReplay",
    response_model=BulkReplayAccepted,
    responses=error_responses(400, 409),
)
def start_bulk_replay(
    req: BulkReplayRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> BulkReplayAccepted:
    """Queue a bulk replay (runs in the background); poll ``status_url`` for progress."""
    if bool(req.task_ids) == (req.filter is not None):
        raise InvalidRequest("give exactly one of task_ids or filter")
    selection = bulk_replay.BulkSelection(
        task_ids=tuple(req.task_ids or ()),
        filter=dlq.DeadLetterFilter.from_dict(req.filter) if req.filter is not None else None,
    )
    with state.db.transaction() as s:
        row = bulk_replay.request_bulk_replay(
            s,
            principal,
            selection,
            reason=req.reason,
            cutoff=req.cutoff,
            expected_total=req.expected_total,
        )
        view = bulk_replay.view(row)
    bulk_replay.start_in_background(state.db)
    return BulkReplayAccepted(**view.model_dump(), status_url=f"/v1/dlq/bulk-replay/{view.id}")


@router.get("/bulk-replay", operation_id="listBulkReplays", response_model=BulkReplayList)
def list_bulk_replays(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> BulkReplayList:
    """The latest bulk replays, newest first."""
    with state.db.session() as s:
        return BulkReplayList(items=bulk_replay.list_bulk_replays(s, principal))


@router.get(
    "/bulk-replay/{bulk_id}",
    operation_id="getBulkReplay",
    response_model=bulk_replay.BulkReplayView,
    responses=error_responses(404),
)
def get_bulk_replay(
    bulk_id: str = Path(pattern=r"^[0-9a-f]{32}$"),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> bulk_replay.BulkReplayView:
    """Progress: total, processed, replayed, skipped, remaining, status."""
    with state.db.session() as s:
        view = bulk_replay.get_bulk_replay(s, principal, bulk_id)
    if view.status in ("queued", "running"):
        bulk_replay.resume_stale(state.db)
    return view


@router.get(
    "/{task_id}",
    operation_id="getDeadLetter",
    response_model=dlq.DeadLetterDetail,
    responses=error_responses(404),
)
def get_dead_letter(
    task_id: RowId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.DeadLetterDetail:
    """The error, attempts history and the job's stages."""
    with state.db.session() as s:
        return dlq.dead_letter_detail(s, principal, task_id)


@router.get(
    "/{task_id}/payload",
    operation_id="getDeadLetterPayload",
    response_model=dlq.PayloadView,
    responses=error_responses(404),
)
def get_payload(
    task_id: RowId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.PayloadView:
    """The raw payload, masked: structure without values."""
    with state.db.session() as s:
        return dlq.payload_view(s, state.blobs, principal, task_id)


class RevealRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, pattern=PROSE)


@router.post(
    "/{task_id}/payload/reveal",
    operation_id="revealDeadLetterPayload",
    response_model=dlq.PayloadView,
    responses=error_responses(404),
)
def reveal_payload(
    task_id: RowId,
    req: RevealRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.PayloadView:
    """The raw payload unmasked (``payload.read_phi``); audited with the reason."""
    with state.db.transaction() as s:
        return dlq.payload_view(s, state.blobs, principal, task_id, reveal=True, reason=req.reason)


class ReplayRequest(BaseModel):
    reason: str | None = Field(None, max_length=2000, pattern=PROSE)


@router.post(
    "/{task_id}/replay",
    operation_id="replayDeadLetter",
    response_model=dlq.ReplayedTask,
    responses=error_responses(404, 409),
)
def replay(
    task_id: RowId,
    req: ReplayRequest | None = None,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.ReplayedTask:
    """Re-queue the dead task with ``replay=true`` (409 ``conflict`` if it is not dead)."""
    with state.db.transaction() as s:
        return dlq.replay_dead_task(s, principal, task_id, reason=req.reason if req else None)


class MapPatientRequest(BaseModel):
    mrn: str = Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)
    assigning_authority: str | None = Field(None, max_length=128, pattern=PRINTABLE)
    abha_number: str = Field(pattern=ABHA_PATTERN, description="14 digits (XX-XXXX-XXXX-XXXX).")
    reason: str | None = Field(None, max_length=2000, pattern=PROSE)
    replay: bool = True


@router.post(
    "/{task_id}/map-patient",
    operation_id="mapDeadLetterPatient",
    response_model=dlq.DeadLetterMapped,
    responses=error_responses(404, 409, 422),
)
def map_patient(
    task_id: RowId,
    req: MapPatientRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dlq.DeadLetterMapped:
    """For ``patient_not_found``: link the MRN to an ABHA number, then replay."""
    with state.db.transaction() as s:
        return dlq.map_patient(
            s,
            principal,
            task_id,
            mrn=req.mrn,
            abha_number=req.abha_number,
            assigning_authority=req.assigning_authority,
            reason=req.reason,
            replay=req.replay,
        )
