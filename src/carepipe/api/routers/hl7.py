"""``POST /v1/hl7``: HL7 v2 over HTTP (one message or an FHS/BHS batch), the same intake as MLLP.

Every body a known caller sends is archived, refused or not: a wrong
Content-Type (415), an empty or whitespace-only body (422) and an oversized one
(413) are archived as ``rejected`` messages before the error is answered.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import api_key_principal
from carepipe.api.intake import read_intake_body
from carepipe.api.openapi import error_responses
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops import intake

router = APIRouter(prefix="/v1/hl7", tags=["hl7"])


@router.post(
    "",
    status_code=202,
    operation_id="receiveHl7",
    response_model=intake.Hl7Result,
    responses={
        202: {"description": "Archived and queued (a batch: at least one message is new)."},
        200: {
            "model": intake.Hl7Result,
            "description": "A retransmission: the job of the first copy, ACKed again.",
        },
        **error_responses(413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "content": {t: {"schema": {"type": "string"}} for t in intake.HL7_MEDIA_TYPES},
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

    A refused message is still archived and becomes a dead letter with the reason;
    its 422 body is the message's result, whose ``error`` says why. The ``charset``
    parameter of the Content-Type decides how the text is decoded (else MSH-18,
    else UTF-8).
    """
    raw = await read_intake_body(request, state, principal)
    result = await run_in_threadpool(
        intake.receive_hl7,
        state.db,
        state.blobs,
        principal,
        raw=raw,
        content_type=request.headers.get("content-type", ""),
        max_attempts=state.settings.max_attempts,
    )
    new = intake.accepted(result)
    status = 422 if new is None else 202 if new else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)
