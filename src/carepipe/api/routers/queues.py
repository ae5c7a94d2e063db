"""``/v1/queues``: every queue's depth and switches; pause, resume, rate limit (staff)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops import queues as service
from carepipe.ops.views import View

router = APIRouter(prefix="/v1/queues", tags=["queues"])
QUEUE = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="Queue name.")


class QueueList(View):
    items: list[service.QueueView]


class Reason(BaseModel):
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification."
    )


class RateLimit(Reason):
    per_minute: float | None = Field(
        description="Claims a minute across all workers; null removes the limit.",
        gt=0,
        le=1_000_000,
    )


@router.get("", response_model=QueueList)
def list_queues(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> QueueList:
    """Every known queue: switches, depth by status, age of the oldest ready task."""
    return QueueList(items=service.list_queues(state.db, principal))


@router.get("/{name}", response_model=service.QueueView, responses=error_responses(404))
def get_queue(
    name: str = QUEUE,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.QueueView:
    return service.get_queue(state.db, principal, name)


@router.post("/{name}/pause", response_model=service.QueueView)
def pause(
    body: Reason | None = None,
    name: str = QUEUE,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.QueueView:
    """Stop handing out the queue's tasks (audited); running ones finish."""
    return service.pause_queue(state.db, principal, name, reason=body.reason if body else None)


@router.post("/{name}/resume", response_model=service.QueueView)
def resume(
    body: Reason | None = None,
    name: str = QUEUE,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.QueueView:
    """Hand out the queue's tasks again (audited); its workers wake at once."""
    return service.resume_queue(state.db, principal, name, reason=body.reason if body else None)


@router.put("/{name}/rate-limit", response_model=service.QueueView)
def rate_limit(
    body: RateLimit,
    name: str = QUEUE,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.QueueView:
    """Limit the queue's claims a minute across all workers (audited); null removes it."""
    return service.limit_queue(state.db, principal, name, body.per_minute, reason=body.reason)
