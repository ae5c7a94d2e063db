"""HL7 v2 intake for MLLP and HTTP: archive, queue, then answer with an ACK.

The message is archived and its job queued before any answer: ``AA`` means
"durably queued". Malformed or unsupported messages are queued too, so they
are kept and show up as dead letters with the parser's reason, and the sender
gets ``AE``/``AR`` with that reason at once.

Idempotency: a message's key is ``hl7:<MSH-4>:<MSH-3>:<MSH-10>``. The same key
with the *same* bytes is a retransmission (the existing job, ``AA`` again). The
same key with *different* bytes is a reused control id: the message is queued
under a derived key (``<key>#reused:<sha256 prefix>``) whose first stage fails
permanently with ``hl7_control_id_reused``, so it is archived, answered ``AE``
and listed with the other dead letters; the first message's job is untouched.

Batches (FHS/BHS ... BTS/FTS, over MLLP or HTTP): every message is archived and
queued on its own (its metadata names its place in the batch and the SHA-256 of
the whole file, which is kept in the blob store), and the answer is a batch of
ACKs (see ``carepipe.interop.hl7.batch``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import (
    CarePipeError,
    Hl7ControlIdReused,
    Hl7Malformed,
    Hl7Unsupported,
    PayloadTooLarge,
)
from carepipe.core.maintenance.watch import fence_watch
from carepipe.core.models import Job, Message
from carepipe.interop.hl7 import parse_message
from carepipe.interop.hl7.ack import ack_code_for, build_ack
from carepipe.interop.hl7.batch import Hl7Batch, batch_ack, is_batch, split_batch
from carepipe.interop.hl7.framing import Oversized
from carepipe.interop.hl7.mllp import (
    AckDecision,
    MllpServerThread,
    sync_batch_handler,
    sync_handler,
)
from carepipe.observability.logging import get_logger
from carepipe.pipelines.hl7 import HL7_MEDIA_TYPE, META
from carepipe.pipelines.ingest import SubmitItem, archive_rejected, submit_many

log = get_logger("carepipe.hl7")

REUSED_MARK = "#reused:"
REUSED_TEXT = "control id reused with different content"
EMPTY_BATCH_TEXT = "batch or file holds no messages"


@dataclass(frozen=True)
class Hl7Receipt:
    """What became of one received message, and the answer it gets."""

    raw: bytes
    job_id: str | None
    created: bool
    error: CarePipeError | None = None
    warnings: tuple[str, ...] = ()

    @property
    def decision(self) -> AckDecision:
        """``AA`` (its text naming any warning), or ``AE``/``AR`` with the error's reason."""
        if self.error is None:
            return AckDecision.accept("; ".join(self.warnings) or None)
        details = self.error.details if isinstance(self.error.details, dict) else {}
        return AckDecision(ack_code_for(self.error), self.error.message, details.get("hl7_error"))

    @property
    def ack_code(self) -> str:
        return self.decision.code

    @property
    def ack(self) -> str:
        """The ACK message (unframed)."""
        d = self.decision
        return build_ack(self.raw, d.code, d.text, error_code=d.error_code)


@dataclass(frozen=True)
class BatchReceipt:
    """What became of an HL7 batch: one receipt per message, and the batch ACK."""

    batch: Hl7Batch
    receipts: list[Hl7Receipt] = field(default_factory=list)
    error: CarePipeError | None = None  # the batch itself was refused (nothing inside)

    @property
    def ack_code(self) -> str:
        """The worst code of the batch (AR > AE > AA): a summary for logs and HTTP."""
        if self.error is not None:
            return "AR"
        codes = {r.ack_code for r in self.receipts}
        return "AR" if "AR" in codes else "AE" if "AE" in codes else "AA"

    @property
    def ack(self) -> str:
        """The batch ACK: BHS, one ACK per message in order, BTS (FHS/FTS for a file)."""
        comment = self.error.message if self.error is not None else None
        return batch_ack(self.batch, [r.ack for r in self.receipts], comment)


@dataclass(frozen=True)
class _Checked:
    key: str | None
    error: CarePipeError | None
    warnings: tuple[str, ...]


def _check(raw: bytes, charset: str | None) -> _Checked:
    """The message's idempotency key (sender + control id), or why it cannot be read."""
    try:
        msg = parse_message(raw, charset=charset)
    except (Hl7Malformed, Hl7Unsupported) as exc:
        return _Checked(None, exc, ())
    key = ":".join(
        ("hl7", msg.sending_facility or "", msg.sending_application or "", msg.control_id)
    )
    return _Checked(key[:200], None, msg.warnings)


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _reused_key(key: str, sha: str) -> str:
    return f"{key}{REUSED_MARK}{sha[:16]}"


def _reused_error(original_job: str | None) -> Hl7ControlIdReused:
    return Hl7ControlIdReused(
        REUSED_TEXT, details={"hl7_error": "205", "original_job": original_job}
    )


def _existing(db: Database, tenant: str, keys: set[str]) -> dict[str, tuple[str, str]]:
    """key -> (job id, content sha256 of its archived message), for keys already used."""
    if not keys:
        return {}
    with db.session() as s:
        rows = s.execute(
            select(Job.idempotency_key, Job.id, Message.content_sha256)
            .join(Message, Message.id == Job.message_id)
            .where(Job.tenant == tenant, Job.idempotency_key.in_(sorted(keys)))
        ).all()
    return {str(k): (str(j), str(h)) for k, j, h in rows}


def receive_hl7(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raw: bytes,
    source: str,
    max_attempts: int = 5,
    charset: str | None = None,
) -> Hl7Receipt:
    """Archive + queue one HL7 message and build the ACK to send back."""
    (receipt,) = receive_hl7_many(
        db,
        blobs,
        tenant=tenant,
        raws=[raw],
        source=source,
        max_attempts=max_attempts,
        charset=charset,
    )
    return receipt


def receive_hl7_many(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raws: Sequence[bytes],
    source: str,
    max_attempts: int = 5,
    charset: str | None = None,
    metas: Sequence[dict[str, Any]] | None = None,
) -> list[Hl7Receipt]:
    """``receive_hl7`` for messages that arrived together: one transaction for all of them.

    ``charset`` is the transport's declared charset (HTTP), kept with each message
    so the parse stage decodes it the same way; ``metas`` adds per-message
    ``hl7`` metadata (a batch position).
    """
    checked = [_check(raw, charset) for raw in raws]
    shas = [_sha(raw) for raw in raws]
    existing = _existing(db, tenant, {c.key for c in checked if c.key})
    keys: list[str | None] = []
    errors: list[CarePipeError | None] = []
    hl7_meta: list[dict[str, Any]] = []
    first_in_call: dict[str, str] = {}  # key -> sha of the first message with it in this call
    for i, (c, sha) in enumerate(zip(checked, shas, strict=True)):
        meta: dict[str, Any] = dict(metas[i]) if metas else {}
        if charset:
            meta["charset"] = charset
        key, error = c.key, c.error
        if key is not None:
            known = existing.get(key)
            # The content the key stands for: the stored message's, else the first in this call.
            reference = known[1] if known is not None else first_in_call.setdefault(key, sha)
            if reference != sha:
                original = known[0] if known is not None else None
                meta.update(control_id_reused=True, original_job=original)
                key, error = _reused_key(key, sha), _reused_error(original)
        keys.append(key)
        errors.append(error)
        hl7_meta.append(meta)
    subs = submit_many(
        db,
        blobs,
        tenant=tenant,
        pipeline="hl7",
        items=[
            SubmitItem(raw, idempotency_key=key, meta={META: meta} if meta else None)
            for raw, key, meta in zip(raws, keys, hl7_meta, strict=True)
        ],
        content_type=HL7_MEDIA_TYPE,
        source=source,
        max_attempts=max_attempts,
    )
    receipts = [
        Hl7Receipt(raw, sub.job_id, sub.created, error, c.warnings)
        for raw, sub, error, c in zip(raws, subs, errors, checked, strict=True)
    ]
    return _recheck_races(db, blobs, tenant, source, max_attempts, receipts, keys, shas)


def _recheck_races(
    db: Database,
    blobs: BlobStore,
    tenant: str,
    source: str,
    max_attempts: int,
    receipts: list[Hl7Receipt],
    keys: list[str | None],
    shas: list[str],
) -> list[Hl7Receipt]:
    """A "duplicate" whose content differs from the job it matched: a reused control id
    that raced the first message (both checked before either was stored)."""
    dup_keys = {
        k
        for r, k in zip(receipts, keys, strict=True)
        if not r.created and k and REUSED_MARK not in k
    }
    if not dup_keys:
        return receipts
    stored = _existing(db, tenant, dup_keys)
    out = list(receipts)
    for i, (r, k, sha) in enumerate(zip(receipts, keys, shas, strict=True)):
        if r.created or not k or k not in stored or stored[k][1] == sha:
            continue
        original = stored[k][0]
        (again,) = submit_many(
            db,
            blobs,
            tenant=tenant,
            pipeline="hl7",
            items=[
                SubmitItem(
                    r.raw,
                    idempotency_key=_reused_key(k, sha),
                    meta={META: {"control_id_reused": True, "original_job": original}},
                )
            ],
            content_type=HL7_MEDIA_TYPE,
            source=source,
            max_attempts=max_attempts,
        )
        out[i] = Hl7Receipt(r.raw, again.job_id, again.created, _reused_error(original))
    return out


def receive_hl7_batch(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raw: bytes,
    source: str,
    max_attempts: int = 5,
    charset: str | None = None,
) -> BatchReceipt:
    """Archive + queue every message of an FHS/BHS batch; the batch ACK answers them all."""
    batch = split_batch(raw)
    if not batch.messages:
        error = Hl7Malformed(EMPTY_BATCH_TEXT, details={"hl7_error": "100", "segment": "BHS"})
        archive_rejected(
            db,
            blobs,
            tenant=tenant,
            payload=raw,
            content_type=HL7_MEDIA_TYPE,
            source=source,
            error=error,
            pipeline="hl7",
        )
        return BatchReceipt(batch, [], error)
    file_key = blobs.put(raw)  # the whole file, kept as sent (envelope included)
    n = len(batch.messages)
    metas = [
        {"batch": {"index": i + 1, "count": n, "file_sha256": file_key.split("/", 1)[1]}}
        for i in range(n)
    ]
    receipts = receive_hl7_many(
        db,
        blobs,
        tenant=tenant,
        raws=list(batch.messages),
        source=source,
        max_attempts=max_attempts,
        charset=charset,
        metas=metas,
    )
    if batch.declared_count is not None and batch.declared_count != n:
        log.warning("hl7.batch_count_mismatch", declared=batch.declared_count, found=n)
    return BatchReceipt(batch, receipts)


def receive_hl7_payload(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    raw: bytes,
    source: str,
    max_attempts: int = 5,
    charset: str | None = None,
) -> Hl7Receipt | BatchReceipt:
    """One message or one batch, whichever ``raw`` is."""
    kwargs: dict[str, Any] = {
        "tenant": tenant,
        "raw": raw,
        "source": source,
        "max_attempts": max_attempts,
        "charset": charset,
    }
    if is_batch(raw):
        return receive_hl7_batch(db, blobs, **kwargs)
    return receive_hl7(db, blobs, **kwargs)


def archive_oversized(
    db: Database, blobs: BlobStore, *, tenant: str, event: Oversized, source: str
) -> str:
    """Archive the kept prefix of a frame we refused for its size (with its size and hash)."""
    error = PayloadTooLarge("message exceeds the maximum size")
    return archive_rejected(
        db,
        blobs,
        tenant=tenant,
        payload=event.prefix,
        content_type=HL7_MEDIA_TYPE,
        source=source,
        error=error,
        pipeline="hl7",
        meta={
            META: {
                "truncated": True,
                "original_size_bytes": event.size,
                "original_sha256": event.sha256,
            }
        },
    )


def start_mllp(settings: Settings, db: Database, blobs: BlobStore) -> MllpServerThread:
    """Start the MLLP listener (``carepipe up`` / ``carepipe mllp``); returns the running thread."""
    tenant = settings.mllp_tenant

    def decide(receipt: Hl7Receipt | BatchReceipt, peer: str) -> AckDecision:
        if isinstance(receipt, BatchReceipt):
            log.info(
                "mllp.batch",
                peer=peer,
                messages=len(receipt.receipts),
                code=receipt.ack_code,
            )
            return AckDecision(receipt.ack_code, ack=receipt.ack)  # type: ignore[arg-type]
        if receipt.error is not None:
            log.info("mllp.refused", peer=peer, code=receipt.error.code, job_id=receipt.job_id)
        return receipt.decision

    def handle_many(raws: list[bytes], peer: str) -> list[AckDecision]:
        singles = [i for i, raw in enumerate(raws) if not is_batch(raw)]
        answers: dict[int, Hl7Receipt | BatchReceipt] = {}
        if singles:
            receipts = receive_hl7_many(
                db,
                blobs,
                tenant=tenant,
                raws=[raws[i] for i in singles],
                source="mllp",
                max_attempts=settings.max_attempts,
            )
            answers.update(zip(singles, receipts, strict=True))
        for i, raw in enumerate(raws):
            if i not in answers:
                answers[i] = receive_hl7_batch(
                    db,
                    blobs,
                    tenant=tenant,
                    raw=raw,
                    source="mllp",
                    max_attempts=settings.max_attempts,
                )
        return [decide(answers[i], peer) for i in range(len(raws))]

    def handle(raw: bytes, peer: str) -> AckDecision:
        (decision,) = handle_many([raw], peer)
        return decision

    def oversized(event: Oversized, peer: str) -> None:
        archive_oversized(db, blobs, tenant=tenant, event=event, source="mllp")

    server = MllpServerThread(
        settings.mllp_host,
        settings.mllp_port,
        sync_handler(handle),
        settings.mllp_max_message_bytes,
        batch_handler=sync_batch_handler(handle_many),
        oversized_handler=_async(oversized),
        oversized_keep_bytes=settings.mllp_oversized_keep_bytes,
        max_in_flight=settings.mllp_max_in_flight,
    )
    server.start()  # the server logs mllp.listening with the bound port
    _follow_fence(server, db)
    return server


def _follow_fence(server: MllpServerThread, db: Database) -> None:
    """Close the port while the platform is fenced and listen again on the lift: a
    refused connection makes MLLP senders keep their messages and retry, so nothing is
    acknowledged that a standby restored from the backup could lack (issue 17)."""
    watch = fence_watch(db)
    # Both read ``current`` rather than the state passed: the last call wins either way.
    watch.on_change(lambda _state: server.set_accepting(watch.current is None))
    if watch.current is not None:
        server.set_accepting(False)


def _async(fn: Any) -> Any:
    """A blocking ``fn(event, peer)`` run in the loop's thread pool."""

    async def run(event: Oversized, peer: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, fn, event, peer)

    return run
