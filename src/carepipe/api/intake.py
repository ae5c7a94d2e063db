"""What the intake routes (``/v1/jobs``, ``/v1/hl7``) share: read the body, archive refusals.

Nothing a known caller sent is lost: a refused submission is archived as a
``rejected`` message with the error code before the error is answered. A body
over the size limit is archived as far as it was read (the limit), marked
``truncated``. Unauthenticated requests are answered 401 before their body is
read, and nothing of theirs is archived (anyone could fill the disk).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from carepipe.api.middleware import BodyTooLarge
from carepipe.api.state import AppState
from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.ops.tenancy import resolve_tenant
from carepipe.pipelines.ingest import archive_rejected


async def archive_refusal(
    state: AppState,
    principal: Principal,
    raw: bytes,
    content_type: str,
    error: CarePipeError,
    *,
    meta: dict[str, Any] | None = None,
    source: str = "api",
) -> str:
    """Archive refused input of ``principal``'s tenant; returns the message id."""
    return await run_in_threadpool(
        archive_rejected,
        state.db,
        state.blobs,
        tenant=resolve_tenant(principal),
        payload=raw,
        content_type=content_type or "application/octet-stream",
        source=source,
        error=error,
        meta=meta,
    )


async def read_intake_body(request: Request, state: AppState, principal: Principal) -> bytes:
    """The request body; past the limit, what was read is archived and ``BodyTooLarge`` raised."""
    try:
        return await request.body()
    except BodyTooLarge as exc:
        await archive_refusal(
            state,
            principal,
            exc.received,
            request.headers.get("content-type", ""),
            exc,
            meta={"truncated": True, "declared_bytes": exc.declared, "limit": exc.limit},
        )
        raise
