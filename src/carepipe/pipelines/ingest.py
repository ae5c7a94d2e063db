"""Ingestion: archive the raw message first, then create the job and its first task.

The blob is written (and fsynced) before any database work; the message row,
the job and the first task are one transaction, with the job insert in a
savepoint so that a duplicate idempotency key still leaves the message archived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, UnsupportedMediaType
from carepipe.core.models import Job, Message, new_id
from carepipe.core.queue import JobStatus, create_jobs, enqueue_many, job_row
from carepipe.observability.metrics import MESSAGES_INGESTED
from carepipe.pipelines.registry import Pipeline, get_pipeline

# Built once: executing a prebuilt INSERT with a parameter dict skips the per-call
# statement construction and cache-key work of ``insert(...).values(...)``.
_INSERT_MESSAGE = insert(Message.__table__)


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
    row = _message_row(
        tenant=tenant,
        source=source,
        content_type=content_type,
        pipeline=pipeline,
        blob_key=blobs.put(payload),
        size=len(payload),
        filename=filename,
        meta=meta,
        received_at=utcnow(),
        status="rejected",
        error_code=error.code,
    )
    with db.transaction() as s:
        s.execute(_INSERT_MESSAGE, row)
    MESSAGES_INGESTED.labels(source, "rejected").inc()
    return str(row["id"])


def _message_row(
    *,
    tenant: str,
    source: str,
    content_type: str,
    pipeline: str | None,
    blob_key: str,
    size: int,
    filename: str | None,
    meta: dict[str, Any] | None,
    received_at: datetime,
    status: str,
    error_code: str | None = None,
) -> dict[str, Any]:
    """A ``messages`` row (the raw archive) for a payload stored under ``blob_key``."""
    return {
        "id": new_id(),
        "tenant": tenant,
        "source": source,
        "kind": content_type[:128],
        "pipeline": pipeline,
        "content_sha256": blob_key.split("/", 1)[1],
        "blob_key": blob_key,
        "size_bytes": size,
        "filename": filename,
        "status": status,
        "error_code": error_code,
        "received_at": received_at,
        "metadata": meta or {},
    }


def _check_media(pipeline: Pipeline, content_type: str) -> None:
    if pipeline.accepts_media(content_type):
        return
    base = content_type.split(";", 1)[0].strip().lower()
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
    (result,) = submit_many(
        db,
        blobs,
        tenant=tenant,
        pipeline=pipeline,
        items=[SubmitItem(payload, idempotency_key, filename, meta)],
        content_type=content_type,
        priority=priority,
        source=source,
        replay=replay,
        max_attempts=max_attempts,
    )
    return result


@dataclass(frozen=True)
class SubmitItem:
    """One payload of a batch submission (``submit_many``)."""

    payload: bytes
    idempotency_key: str | None = None
    filename: str | None = None
    meta: dict[str, Any] | None = None


def submit_many(
    db: Database,
    blobs: BlobStore,
    *,
    tenant: str,
    pipeline: str,
    items: Sequence[SubmitItem],
    content_type: str,
    priority: int = 1,
    source: str = "api",
    replay: bool = False,
    max_attempts: int = 5,
) -> list[Submission]:
    """``submit`` for many payloads of one pipeline: one transaction for the whole batch.

    Every payload is archived first, then all messages, jobs and first tasks are
    written together (a listener with several messages in hand pays for one commit,
    not one per message). Results are in the order of ``items``. An unknown
    pipeline or unaccepted media type archives every payload as rejected and raises.
    """
    try:
        pipe = get_pipeline(pipeline)
        _check_media(pipe, content_type)
    except CarePipeError as exc:
        for it in items:
            archive_rejected(
                db,
                blobs,
                tenant=tenant,
                payload=it.payload,
                content_type=content_type,
                source=source,
                error=exc,
                pipeline=pipeline,
                filename=it.filename,
                meta=it.meta,
            )
        raise
    if not items:
        return []
    keys = [blobs.put(it.payload) for it in items]  # archived (and fsynced) before anything
    now = utcnow()
    first = pipe.first()
    messages = [
        _message_row(
            tenant=tenant,
            source=source,
            content_type=content_type,
            pipeline=pipe.name,
            blob_key=key,
            size=len(it.payload),
            filename=it.filename,
            meta=it.meta,
            received_at=now,
            status="accepted",
        )
        for it, key in zip(items, keys, strict=True)
    ]
    jobs = [
        job_row(
            tenant=tenant,
            pipeline=pipe.name,
            first_stage=first.name,
            message_id=m["id"],
            idempotency_key=it.idempotency_key,
            priority=priority,
            replay=replay,
            now=now,
        )
        for it, m in zip(items, messages, strict=True)
    ]
    task = {
        "queue": first.queue_name,
        "stage": first.name,
        "priority": priority,
        "max_attempts": first.max_attempts or max_attempts,
        "replay": replay,
    }
    # Core INSERTs rather than ORM objects: this is the ingestion hot path (HTTP
    # and MLLP), and the unit of work cost more than the statements themselves.
    with db.transaction() as s:
        s.execute(_INSERT_MESSAGE, messages)
        try:
            # The whole batch at once; a duplicate idempotency key (rare) undoes
            # only this savepoint, and the jobs are then created one by one.
            with s.begin_nested():
                create_jobs(s, jobs)
                enqueue_many(s, ({"job_id": j["id"], **task} for j in jobs))
            results = [
                Submission(j["id"], m["id"], True, JobStatus.QUEUED, pipe.name)
                for j, m in zip(jobs, messages, strict=True)
            ]
        except IntegrityError:
            results = [
                _create_job(s, job, message, task, meta=it.meta)
                for job, message, it in zip(jobs, messages, items, strict=True)
            ]
    for r in results:
        MESSAGES_INGESTED.labels(source, "accepted" if r.created else "duplicate").inc()
    return results  # the first tasks' workers were woken at commit (``enqueue_many``)


def _create_job(
    s: Session,
    job: dict[str, Any],
    message: dict[str, Any],
    task: dict[str, Any],
    *,
    meta: dict[str, Any] | None,
) -> Submission:
    """One job and its first task in a savepoint; an existing job for the same key wins."""
    key = job["idempotency_key"]
    try:
        with s.begin_nested():
            create_jobs(s, [job])
            enqueue_many(s, [{"job_id": job["id"], **task}])
    except IntegrityError:
        if key is None:
            raise
        existing = s.execute(
            select(Job).where(Job.tenant == job["tenant"], Job.idempotency_key == key)
        ).scalar_one()
        s.execute(
            update(Message.__table__)
            .where(Message.__table__.c.id == message["id"])
            .values(status="duplicate", metadata={**(meta or {}), "duplicate_of_job": existing.id})
        )
        return Submission(existing.id, message["id"], False, existing.status, existing.pipeline)
    return Submission(job["id"], message["id"], True, JobStatus.QUEUED, job["pipeline"])


def find_by_idempotency_key(db: Database, tenant: str, key: str) -> Job | None:
    with db.session() as s:
        return s.execute(
            select(Job).where(Job.tenant == tenant, Job.idempotency_key == key)
        ).scalar_one_or_none()
