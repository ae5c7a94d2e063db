"""Ingestion: archive the raw message first, then create the job and its first task.

The blob is written (and fsynced) before any database work; the message row,
the job and the first task are one transaction, with the job insert in a
savepoint so that a duplicate idempotency key still leaves the message archived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, UnsupportedMediaType
from carepipe.core.models import Job, Message, new_id
from carepipe.core.queue import JobStatus, enqueue_row
from carepipe.observability.metrics import MESSAGES_INGESTED
from carepipe.pipelines.registry import Pipeline, get_pipeline

# Built once: executing a prebuilt INSERT with a parameter dict skips the per-call
# statement construction and cache-key work of ``insert(...).values(...)``.
_INSERT_MESSAGE = insert(Message.__table__)
_INSERT_JOB = insert(Job.__table__)


@dataclass(frozen=True)
class Submission:
    job_id: str
    message_id: str
    created: bool  # False: an existing job was returned for the same idempotency key
    status: str
    pipeline: str


def archive_rejected(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    payload: bytes,
    content_type: str,
    source: str,
    error: CarePipeError,
    pipeline: str | None = None,
    filename: str | None = None,
    meta: dict[str, Any] | None = None,
) -> str:
    """Keep input we refused, so nothing we were sent is ever lost. Returns the message id."""
    key = blobs.put(payload)
    with db.transaction() as s:
        msg = Message(
            tenant=tenant,
            source=source,
            kind=content_type[:128],
            pipeline=pipeline,
            content_sha256=key.split("/", 1)[1],
            blob_key=key,
            size_bytes=len(payload),
            filename=filename,
            status="rejected",
            error_code=error.code,
            received_at=utcnow(),
            meta=meta or {},
        )
        s.add(msg)
        s.flush()
        msg_id = msg.id
    MESSAGES_INGESTED.labels(source, "rejected").inc()
    return msg_id


def _check_media(pipeline: Pipeline, content_type: str) -> None:
    if not pipeline.accepts:
        return
    base = content_type.split(";", 1)[0].strip().lower()
    for pattern in pipeline.accepts:
        if pattern == base or (pattern.endswith("/*") and base.startswith(pattern[:-1])):
            return
    raise UnsupportedMediaType(
        f"pipeline {pipeline.name!r} does not accept {base!r}",
        details={"accepts": list(pipeline.accepts)},
    )


def submit(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    pipeline: str,
    payload: bytes,
    content_type: str,
    priority: int = 1,
    idempotency_key: str | None = None,
    source: str = "api",
    filename: str | None = None,
    meta: dict[str, Any] | None = None,
    replay: bool = False,
    max_attempts: int = 5,
) -> Submission:
    """Archive ``payload`` and start a job on ``pipeline``.

    Unknown pipelines and unaccepted media types raise after the payload has
    been archived as a rejected message.
    """
    try:
        pipe = get_pipeline(pipeline)
        _check_media(pipe, content_type)
    except CarePipeError as exc:
        archive_rejected(
            db,
            blobs,
            tenant=tenant,
            payload=payload,
            content_type=content_type,
            source=source,
            error=exc,
            pipeline=pipeline,
            filename=filename,
            meta=meta,
        )
        raise
    key = blobs.put(payload)
    now = utcnow()
    first = pipe.first()
    msg_id, job_id = new_id(), new_id()
    # Core INSERTs rather than ORM objects: this is the ingestion hot path (HTTP
    # and MLLP), and the unit of work cost more than the statements themselves.
    with db.transaction() as s:
        s.execute(
            _INSERT_MESSAGE,
            dict(
                id=msg_id,
                tenant=tenant,
                source=source,
                kind=content_type[:128],
                pipeline=pipeline,
                content_sha256=sha256_hex(payload),
                blob_key=key,
                size_bytes=len(payload),
                filename=filename,
                status="accepted",
                received_at=now,
                metadata=meta or {},
            ),
        )
        try:
            with s.begin_nested():
                s.execute(
                    _INSERT_JOB,
                    dict(
                        id=job_id,
                        tenant=tenant,
                        pipeline=pipeline,
                        status=JobStatus.QUEUED,
                        priority=priority,
                        idempotency_key=idempotency_key,
                        replay=replay,
                        current_stage=first.name,
                        message_id=msg_id,
                        created_at=now,
                        updated_at=now,
                    ),
                )
                enqueue_row(
                    s,
                    job_id=job_id,
                    queue=first.queue_name,
                    stage=first.name,
                    priority=priority,
                    max_attempts=first.max_attempts or max_attempts,
                    replay=replay,
                )
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = s.execute(
                select(Job).where(Job.tenant == tenant, Job.idempotency_key == idempotency_key)
            ).scalar_one()
            s.execute(
                update(Message.__table__)
                .where(Message.__table__.c.id == msg_id)
                .values(
                    status="duplicate", metadata={**(meta or {}), "duplicate_of_job": existing.id}
                )
            )
            result = Submission(existing.id, msg_id, False, existing.status, existing.pipeline)
        else:
            result = Submission(job_id, msg_id, True, JobStatus.QUEUED, pipeline)
    MESSAGES_INGESTED.labels(source, "accepted" if result.created else "duplicate").inc()
    if db.is_sqlite:
        db.signal()
    return result


def find_by_idempotency_key(db: Database, tenant: str, key: str) -> Job | None:
    with db.session() as s:
        return s.execute(
            select(Job).where(Job.tenant == tenant, Job.idempotency_key == key)
        ).scalar_one_or_none()
