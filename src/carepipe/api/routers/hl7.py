"""``POST /v1/hl7``: HL7 v2 over HTTP, the same intake as MLLP."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import api_key_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal, require
from carepipe.core.errors import UnsupportedMediaType, ValidationFailed
from carepipe.pipelines.hl7_intake import receive_hl7

router = APIRouter(prefix="/v1/hl7", tags=["hl7"])
_TYPES = ("text/plain", "x-application/hl7-v2+er7", "application/hl7-v2")


@router.post(
    "",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "content": {t: {"schema": {"type": "string"}} for t in _TYPES},
            "required": True,
        }
    },
)
async def post_hl7(
    request: Request,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> JSONResponse:
    """Archive and queue one message. 202 with the ACK (AA); 422 with AE/AR if malformed.

    A malformed message is still archived and becomes a dead letter with the reason.
    """
    require(principal, "jobs.submit")
    base = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if base not in _TYPES:
        raise UnsupportedMediaType(f"send the message as one of {', '.join(_TYPES)}")
    raw = await request.body()
    if not raw.strip():
        raise ValidationFailed("empty HL7 message")
    receipt = await run_in_threadpool(
        receive_hl7,
        state.db,
        state.blobs,
        tenant=principal.tenant or "default",
        raw=raw,
        source="api",
        max_attempts=state.settings.max_attempts,
    )
    body = {
        "job_id": receipt.job_id,
        "status_url": f"/v1/jobs/{receipt.job_id}",
        "ack_code": receipt.ack_code,
        "ack": receipt.ack,
        "duplicate": not receipt.created,
    }
    if receipt.error is not None:
        body = {"error": {**receipt.error.to_dict()}, **body}
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=202 if receipt.created else 200)
