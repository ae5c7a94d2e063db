"""``POST /v1/hl7``: HL7 v2 over HTTP (one message or an FHS/BHS batch), the same intake as MLLP.

Every body a known caller sends is archived, refused or not: a wrong
Content-Type (415), an empty or whitespace-only body (422) and an oversized one
(413) are archived as ``rejected`` messages before the error is answered.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import api_key_principal
from carepipe.api.intake import archive_refusal, read_intake_body
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal, require
from carepipe.core.errors import UnsupportedMediaType, ValidationFailed
from carepipe.pipelines.hl7_intake import BatchReceipt, Hl7Receipt, receive_hl7_payload

router = APIRouter(prefix="/v1/hl7", tags=["hl7"])
_TYPES = ("text/plain", "x-application/hl7-v2+er7", "application/hl7-v2")


def _content_type(header: str) -> tuple[str, str | None]:
    """The media type and its ``charset`` parameter (``text/plain; charset=iso-8859-1``)."""
    base, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')[:40]
    return base.strip().lower(), charset


def _one(receipt: Hl7Receipt) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": receipt.job_id,
        "status_url": f"/v1/jobs/{receipt.job_id}",
        "ack_code": receipt.ack_code,
        "ack": receipt.ack,
        "duplicate": not receipt.created,
    }
    if receipt.warnings:
        body["warnings"] = list(receipt.warnings)
    if receipt.error is not None:
        body = {"error": receipt.error.to_dict(), **body}
    return body


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
    """Archive and queue one message (202 with the ACK; 200 for a retransmission; 422 with
    AE/AR if refused), or a batch (202 with the batch ACK and one result per message).

    A refused message is still archived and becomes a dead letter with the reason.
    The ``charset`` parameter of the Content-Type decides how the text is decoded
    (else MSH-18, else UTF-8).
    """
    require(principal, "jobs.submit")
    header = request.headers.get("content-type", "")
    base, charset = _content_type(header)
    raw = await read_intake_body(request, state, principal)
    if base not in _TYPES:
        error = UnsupportedMediaType(f"send the message as one of {', '.join(_TYPES)}")
        await archive_refusal(state, principal, raw, header, error)
        raise error
    if not raw.strip():
        error = ValidationFailed("empty HL7 message")
        await archive_refusal(state, principal, raw, header, error)
        raise error
    receipt = await run_in_threadpool(
        receive_hl7_payload,
        state.db,
        state.blobs,
        tenant=principal.tenant or "default",
        raw=raw,
        source="api",
        max_attempts=state.settings.max_attempts,
        charset=charset,
    )
    if isinstance(receipt, BatchReceipt):
        batch: dict[str, Any] = {
            "batch": True,
            "ack_code": receipt.ack_code,
            "ack": receipt.ack,
            "messages": [_one(r) for r in receipt.receipts],
        }
        if receipt.error is not None:
            return JSONResponse({"error": receipt.error.to_dict(), **batch}, status_code=422)
        created = any(r.created for r in receipt.receipts)
        return JSONResponse(batch, status_code=202 if created else 200)
    body = _one(receipt)
    if receipt.error is not None:
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=202 if receipt.created else 200)
