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
from carepipe.interop.hl7.mllp import (
    AckDecision,
    MllpServerThread,
    sync_batch_handler,
    sync_handler,
)
from carepipe.observability.logging import get_logger
from carepipe.pipelines.hl7 import HL7_MEDIA_TYPE
from carepipe.pipelines.ingest import SubmitItem, submit_many

log = get_logger("carepipe.hl7")


@dataclass(frozen=True)
class Hl7Receipt:
    """What became of one received message, and the answer it gets."""

    raw: bytes
    job_id: str | None
    created: bool
    error: CarePipeError | None = None

    @property
    def decision(self) -> AckDecision:
        """``AA``, or ``AE``/``AR`` with the error's text and HL7 error code."""
        if self.error is None:
            return AckDecision.accept()
        details = self.error.details if isinstance(self.error.details, dict) else {}
        return AckDecision(ack_code_for(self.error), self.error.message, details.get("hl7_error"))

    @property
    def ack_code(self) -> str:
        return self.decision.code

    @property
    def ack(self) -> str:
        """The ACK message (unframed). The MLLP server builds its own from ``decision``."""
        d = self.decision
        return build_ack(self.raw, d.code, d.text, error_code=d.error_code)


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
    (receipt,) = receive_hl7_many(
        db, blobs, tenant=tenant, raws=[raw], source=source, max_attempts=max_attempts
    )
    return receipt


def receive_hl7_many(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raws: list[bytes],
    source: str,
    max_attempts: int = 5,
) -> list[Hl7Receipt]:
    """``receive_hl7`` for messages that arrived together: one transaction for all of them."""
    checked = [_check(raw) for raw in raws]
    subs = submit_many(
        db,
        blobs,
        tenant=tenant,
        pipeline="hl7",
        items=[
            SubmitItem(raw, idempotency_key=key)
            for raw, (key, _) in zip(raws, checked, strict=True)
        ],
        content_type=HL7_MEDIA_TYPE,
        source=source,
        max_attempts=max_attempts,
    )
    return [
        Hl7Receipt(raw, sub.job_id, sub.created, error)
        for raw, sub, (_, error) in zip(raws, subs, checked, strict=True)
    ]


def _check(raw: bytes) -> tuple[str | None, CarePipeError | None]:
    """The message's idempotency key (sender + control id), or why it cannot be read."""
    try:
        msg = parse_message(raw)
    except (Hl7Malformed, Hl7Unsupported) as exc:
        return None, exc
    key = ":".join(
        ("hl7", msg.sending_facility or "", msg.sending_application or "", msg.control_id)
    )
    return key, None


def start_mllp(settings: Settings, db: Database, blobs: BlobStore) -> MllpServerThread:
    """Start the MLLP listener (``carepipe up`` / ``carepipe mllp``); returns the running thread."""

    def decide(receipt: Hl7Receipt, peer: str) -> AckDecision:
        if receipt.error is not None:
            log.info("mllp.refused", peer=peer, code=receipt.error.code, job_id=receipt.job_id)
        return receipt.decision

    def handle_many(raws: list[bytes], peer: str) -> list[AckDecision]:
        receipts = receive_hl7_many(
            db,
            blobs,
            tenant=settings.mllp_tenant,
            raws=raws,
            source="mllp",
            max_attempts=settings.max_attempts,
        )
        return [decide(r, peer) for r in receipts]

    def handle(raw: bytes, peer: str) -> AckDecision:
        (decision,) = handle_many([raw], peer)
        return decision

    server = MllpServerThread(
        settings.mllp_host,
        settings.mllp_port,
        sync_handler(handle),
        settings.mllp_max_message_bytes,
        batch_handler=sync_batch_handler(handle_many),
    )
    server.start()  # the server logs mllp.listening with the bound port
    return server
