"""HL7 v2 intake for MLLP and HTTP: archive, queue, then answer with an ACK.

The message is archived and its job queued before any answer: ``AA`` means
"durably queued". Malformed or unsupported messages are queued too, so they
are kept and show up as dead letters with the parser's reason, and the sender
gets ``AE``/``AR`` with that reason at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7 import parse_message
from carepipe.interop.hl7.ack import ack_code_for, build_ack
from carepipe.interop.hl7.mllp import AckDecision, MllpServerThread, sync_handler
from carepipe.observability.logging import get_logger
from carepipe.pipelines.hl7 import HL7_MEDIA_TYPE
from carepipe.pipelines.ingest import submit

log = get_logger("carepipe.hl7")


@dataclass(frozen=True)
class Hl7Receipt:
    job_id: str | None
    created: bool
    ack_code: str
    ack: str
    error: CarePipeError | None = None


def receive_hl7(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raw: bytes,
    source: str,
    max_attempts: int = 5,
) -> Hl7Receipt:
    """Archive + queue one HL7 message and build the ACK to send back."""
    error: CarePipeError | None = None
    key = None
    try:
        msg = parse_message(raw)
        key = ":".join(
            ("hl7", msg.sending_facility or "", msg.sending_application or "", msg.control_id)
        )
    except (Hl7Malformed, Hl7Unsupported) as exc:
        error = exc
    sub = submit(
        db,
        blobs,
        tenant=tenant,
        pipeline="hl7",
        payload=raw,
        content_type=HL7_MEDIA_TYPE,
        idempotency_key=key,
        source=source,
        max_attempts=max_attempts,
    )
    if error is None:
        ack = build_ack(raw, "AA")
        return Hl7Receipt(sub.job_id, sub.created, "AA", ack)
    code = ack_code_for(error)
    details = error.details if isinstance(error.details, dict) else {}
    ack = build_ack(raw, code, error.message, error_code=details.get("hl7_error"))
    return Hl7Receipt(sub.job_id, sub.created, code, ack, error)


def start_mllp(settings: Settings, db: Database, blobs: BlobStore) -> MllpServerThread:
    """Start the MLLP listener (``carepipe up`` / ``carepipe mllp``); returns the running thread."""

    def handle(raw: bytes, peer: str) -> AckDecision:
        receipt = receive_hl7(
            db,
            blobs,
            tenant=settings.mllp_tenant,
            raw=raw,
            source="mllp",
            max_attempts=settings.max_attempts,
        )
        if receipt.ack_code == "AA":
            return AckDecision.accept()
        assert receipt.error is not None
        details = receipt.error.details if isinstance(receipt.error.details, dict) else {}
        hl7_error = details.get("hl7_error") or "207"
        log.info("mllp.refused", peer=peer, code=receipt.error.code, job_id=receipt.job_id)
        if receipt.ack_code == "AR":
            return AckDecision.reject(receipt.error.message, hl7_error)
        return AckDecision.error(receipt.error.message, hl7_error)

    server = MllpServerThread(
        settings.mllp_host,
        settings.mllp_port,
        sync_handler(handle),
        settings.mllp_max_message_bytes,
    )
    server.start()  # the server logs mllp.listening with the bound port
    return server
