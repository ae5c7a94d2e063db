"""HL7 v2 intake for callers of the API: permission, tenant, media type, then the pipeline.

``receive_hl7`` is what ``POST /v1/hl7`` runs: one message or an FHS/BHS batch,
archived and queued by ``carepipe.pipelines.hl7_intake`` (the same code the MLLP
listener runs). Every body it refuses is archived first as a ``rejected``
message with the error code, so nothing a known caller sent is lost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, UnsupportedMediaType, ValidationFailed
from carepipe.ops.tenancy import resolve_tenant
from carepipe.ops.views import View
from carepipe.pipelines.hl7_intake import BatchReceipt, Hl7Receipt, receive_hl7_payload
from carepipe.pipelines.ingest import archive_rejected

HL7_MEDIA_TYPES = ("text/plain", "x-application/hl7-v2+er7", "application/hl7-v2")
AckCode = Literal["AA", "AE", "AR"]


class IntakeError(View):
    """Why a message was refused (the same codes as every API error)."""

    code: str
    message: str
    details: Any = None


class Hl7MessageResult(View):
    """What became of one HL7 message, and the ACK it gets."""

    batch: Literal[False] = False
    job_id: str | None = Field(description="The job (also for a refused message, which dies).")
    status_url: str | None
    ack_code: AckCode
    ack: str = Field(description="The ACK message (ER7, segments separated by CR).")
    duplicate: bool = Field(description="A retransmission: the job of the first copy.")
    warnings: list[str] = Field(description="What the parser read leniently.")
    error: IntakeError | None = None


class Hl7BatchResult(View):
    """What became of an FHS/BHS batch: one result per message, and the batch ACK."""

    batch: Literal[True] = True
    ack_code: AckCode = Field(description="The worst code in the batch (AR > AE > AA).")
    ack: str = Field(description="The batch ACK: BHS, one ACK per message, BTS.")
    messages: list[Hl7MessageResult]
    error: IntakeError | None = None


Hl7Result = Hl7MessageResult | Hl7BatchResult


def media_type(header: str) -> tuple[str, str | None]:
    """The media type and its ``charset`` parameter (``text/plain; charset=iso-8859-1``)."""
    base, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')[:40]
    return base.strip().lower(), charset


def _error(exc: CarePipeError | None) -> IntakeError | None:
    return IntakeError.model_validate(exc.to_dict()) if exc is not None else None


def _message(receipt: Hl7Receipt) -> Hl7MessageResult:
    return Hl7MessageResult(
        job_id=receipt.job_id,
        status_url=f"/v1/jobs/{receipt.job_id}" if receipt.job_id else None,
        ack_code=receipt.ack_code,  # type: ignore[arg-type]
        ack=receipt.ack,
        duplicate=not receipt.created,
        warnings=list(receipt.warnings),
        error=_error(receipt.error),
    )


def receive_hl7(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    *,
    raw: bytes,
    content_type: str,
    source: str = "api",
    max_attempts: int = 5,
) -> Hl7Result:
    """Archive and queue one HL7 message or a batch for the principal's tenant.

    ``content_type`` is the request's header: one of ``HL7_MEDIA_TYPES``
    (``UnsupportedMediaType`` otherwise), its ``charset`` deciding how the text
    is decoded (else MSH-18, else UTF-8). An empty body is ``ValidationFailed``.
    Both refusals are archived before they are raised. A message the parser
    refuses is not raised: it is queued to die with the reason, and its result
    carries the error and an AE/AR ACK.
    """
    require(principal, "jobs.submit")
    tenant = resolve_tenant(principal)
    base, charset = media_type(content_type)
    refusal: CarePipeError | None = None
    if base not in HL7_MEDIA_TYPES:
        refusal = UnsupportedMediaType(f"send the message as one of {', '.join(HL7_MEDIA_TYPES)}")
    elif not raw.strip():
        refusal = ValidationFailed("empty HL7 message")
    if refusal is not None:
        archive_rejected(
            db,
            blobs,
            tenant=tenant,
            payload=raw,
            content_type=content_type or "application/octet-stream",
            source=source,
            error=refusal,
        )
        raise refusal
    receipt = receive_hl7_payload(
        db,
        blobs,
        tenant=tenant,
        raw=raw,
        source=source,
        max_attempts=max_attempts,
        charset=charset,
    )
    if isinstance(receipt, BatchReceipt):
        return Hl7BatchResult(
            ack_code=receipt.ack_code,  # type: ignore[arg-type]
            ack=receipt.ack,
            messages=[_message(r) for r in receipt.receipts],
            error=_error(receipt.error),
        )
    return _message(receipt)


def accepted(result: Hl7Result) -> bool | None:
    """True when something new was queued, False for a pure retransmission, None when
    the message (or the batch itself) was refused."""
    if result.error is not None:
        return None
    if isinstance(result, Hl7BatchResult):
        return any(not m.duplicate for m in result.messages)
    return not result.duplicate
