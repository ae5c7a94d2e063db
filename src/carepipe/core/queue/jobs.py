"""Creating jobs: a job is born ``queued`` at its pipeline's first stage.

The caller enqueues the first task in the same transaction (``enqueue``), so a
job never exists without the work that moves it on. A job is unique per
(tenant, idempotency key); the database's unique constraint is what keeps two
racing creators (two ingests, two backfills) from making it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Job, new_id
from carepipe.core.queue.states import JobStatus

# Built once: ingestion creates a job per message, and a prebuilt INSERT executed
# with parameter dicts skips the per-call statement construction and cache-key work.
_INSERT_JOB = insert(Job.__table__)


def job_row(
    *,
    tenant: str,
    pipeline: str,
    first_stage: str,
    message_id: str,
    idempotency_key: str | None = None,
    priority: int = 1,
    replay: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new job's row, ``queued`` at ``first_stage``, with a fresh id (``row["id"]``)."""
    now = now or utcnow()
    return {
        "id": new_id(),
        "tenant": tenant,
        "pipeline": pipeline,
        "status": JobStatus.QUEUED,
        "priority": priority,
        "idempotency_key": idempotency_key,
        "replay": replay,
        "current_stage": first_stage,
        "message_id": message_id,
        "created_at": now,
        "updated_at": now,
    }


def create_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``job_row``s in one statement; a taken (tenant, key) raises ``IntegrityError``.

    Run it in a savepoint when the caller wants to recover from that (ingestion
    then looks up the existing job and answers with it).
    """
    if rows:
        session.execute(_INSERT_JOB, list(rows))


def create_missing_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the ``job_row``s whose (tenant, idempotency key) is free; returns their ids.

    One multi-row INSERT in a savepoint; if another transaction created some of
    them meanwhile (the unique constraint refuses the batch), row by row instead,
    each in its own savepoint, and the taken ones are left out: the caller finds
    the job that won by its key.
    """
    if not rows:
        return set()
    try:
        with session.begin_nested():
            session.execute(_INSERT_JOB, list(rows))
        return {r["id"] for r in rows}
    except IntegrityError:
        pass
    made: set[str] = set()
    for r in rows:
        try:
            with session.begin_nested():
                session.execute(_INSERT_JOB, [r])
            made.add(r["id"])
        except IntegrityError:
            continue
    return made
