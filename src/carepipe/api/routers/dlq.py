"""``/v1/dlq``: dead letters for staff (personal token or console session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.params import MAX_ID, AwareTime, RowId, Text
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest
from carepipe.ops import bulk_replay, dlq

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


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


@router.get("")
def list_dead_letters(
    f: dlq.DeadLetterFilter = Depends(_filter),
    cursor: Text | None = None,
    limit: int = Query(50, ge=1, le=dlq.MAX_PAGE),
    counts: bool = True,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Dead tasks, newest first (keyset ``cursor``), with counts per error code."""
    with state.db.session() as s:
        page = dlq.page_dead(s, principal, f, cursor=cursor, limit=limit)
        by_error = dlq.count_by_error(s, principal, f) if counts else None
    body: dict[str, Any] = {
        "items": [{**_jsonable(r), "url": f"/v1/dlq/{r['task_id']}"} for r in page.items],
        "next_cursor": page.next_cursor,
        "filter": f.to_dict(),
    }
    if by_error is not None:
        body["counts_by_error"] = by_error
        body["total"] = sum(by_error.values())
    return body


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
    reason: str | None = Field(None, max_length=2000)
    expected_total: int | None = Field(
        None, ge=1, le=MAX_ID, description="Refuse if more dead letters than this match now."
    )
    cutoff: AwareTime | None = Field(None, description="Only tasks dead at this time.")


@router.post("/bulk-replay", status_code=202)
def start_bulk_replay(
    req: BulkReplayRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
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
        body = bulk_replay.view(row)
    bulk_replay.start_in_background(state.db)
    return {**body, "status_url": f"/v1/dlq/bulk-replay/{body['id']}"}


@router.get("/bulk-replay")
def list_bulk_replays(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> dict[str, Any]:
    with state.db.session() as s:
        return {"items": bulk_replay.list_bulk_replays(s, principal)}


@router.get("/bulk-replay/{bulk_id}")
def get_bulk_replay(
    bulk_id: str,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Progress: total, processed, replayed, skipped, remaining, status."""
    with state.db.session() as s:
        body = bulk_replay.get_bulk_replay(s, principal, bulk_id)
    if body["status"] in ("queued", "running"):
        bulk_replay.resume_stale(state.db)
    return body


@router.get("/{task_id}")
def get_dead_letter(
    task_id: RowId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """The error, attempts history and the job's stages."""
    with state.db.session() as s:
        d = dlq.dead_letter_detail(s, principal, task_id)
    d["history"] = [_jsonable(h) for h in d["history"]]
    d["job"] = _jsonable(d["job"])
    if d["message"]:
        d["message"] = _jsonable(d["message"])
    return _jsonable(d)


@router.get("/{task_id}/payload")
def get_payload(
    task_id: RowId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """The raw payload, masked: structure without values."""
    with state.db.session() as s:
        return dlq.payload_view(s, state.blobs, principal, task_id).to_dict()


class RevealRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/{task_id}/payload/reveal")
def reveal_payload(
    task_id: RowId,
    req: RevealRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """The raw payload unmasked (``payload.read_phi``); audited with the reason."""
    with state.db.transaction() as s:
        return dlq.payload_view(
            s, state.blobs, principal, task_id, reveal=True, reason=req.reason
        ).to_dict()


class ReplayRequest(BaseModel):
    reason: str | None = Field(None, max_length=2000)


@router.post("/{task_id}/replay")
def replay(
    task_id: RowId,
    req: ReplayRequest | None = None,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Re-queue the dead task with ``replay=true`` (409 ``conflict`` if it is not dead)."""
    with state.db.transaction() as s:
        t = dlq.replay_dead_task(s, principal, task_id, reason=req.reason if req else None)
        return {"task_id": t.id, "status": t.status, "queue": t.queue, "replay": t.replay}


class MapPatientRequest(BaseModel):
    mrn: str = Field(min_length=1, max_length=64)
    assigning_authority: str | None = Field(None, max_length=128)
    abha_number: str = Field(min_length=14, max_length=20)
    reason: str | None = Field(None, max_length=2000)
    replay: bool = True


@router.post("/{task_id}/map-patient")
def map_patient(
    task_id: RowId,
    req: MapPatientRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
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
