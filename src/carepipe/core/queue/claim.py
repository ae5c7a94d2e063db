"""Claiming ready tasks with a lease.

PostgreSQL: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``,
so concurrent workers never block each other or take the same row. SQLite: the
same statement inside ``BEGIN IMMEDIATE`` (one writer at a time).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.models import Job, QueueControl, Task, TaskAttempt
from carepipe.core.queue.control import give_back_tokens, take_tokens
from carepipe.core.queue.dialect import dialect_of
from carepipe.core.queue.states import JobStatus, TaskStatus


@dataclass(frozen=True)
class ClaimedTask:
    """What a worker needs to run one task, read in the claiming transaction."""

    id: int
    job_id: str
    queue: str
    stage: str
    priority: int
    attempts: int
    max_attempts: int
    lease_token: str
    lease_expires_at: datetime
    run_after: datetime
    claimed_at: datetime
    replay: bool
    trace_context: dict[str, Any] | None
    tenant: str
    pipeline: str
    message_id: str
    idempotency_key: str | None
    job_replay: bool


_IS_READY = Task.__table__.c.status == literal_column(f"'{TaskStatus.READY.value}'")


# Built once per shape and executed with parameters: the claim runs for every
# batch of tasks, and building these statements per call cost more than running
# them (see the success path in ``outcome``).
_TASKS = Task.__table__
_JOBS = Job.__table__
_CONTROLS = QueueControl.__table__
_READ_CONTROLS = select(_CONTROLS.c.name, _CONTROLS.c.paused, _CONTROLS.c.rate_limit_per_minute)
_INSERT_ATTEMPT = insert(TaskAttempt.__table__)
_CLAIMED_ROWS = (
    select(
        _TASKS.c.id,
        _TASKS.c.job_id,
        _TASKS.c.queue,
        _TASKS.c.stage,
        _TASKS.c.priority,
        _TASKS.c.attempts,
        _TASKS.c.max_attempts,
        _TASKS.c.run_after,
        _TASKS.c.replay,
        _TASKS.c.trace_context,
        _JOBS.c.tenant,
        _JOBS.c.pipeline,
        _JOBS.c.message_id,
        _JOBS.c.idempotency_key,
        _JOBS.c.replay.label("job_replay"),
    )
    .join(_JOBS, _JOBS.c.id == _TASKS.c.job_id)
    .where(_TASKS.c.id.in_(bindparam("p_ids", expanding=True)))
)
_JOBS_RUNNING = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(bindparam("p_jobs", expanding=True)),
        _JOBS.c.status == JobStatus.QUEUED.value,
    )
    .values(status=JobStatus.RUNNING.value, updated_at=bindparam("p_now"))
)


@functools.cache
def _claim_statement(exclude: bool) -> Update:
    """Lease the best ready tasks of ``queue IN :p_queues`` (``NOT IN`` with ``exclude``)."""
    queue = _TASKS.c.queue
    in_queues = bindparam("p_queues", expanding=True)
    pick = (
        select(_TASKS.c.id)
        # A literal, not a bound parameter: a partial index on ready tasks
        # (``WHERE status = 'ready'``) can only be matched against a constant.
        .where(
            _IS_READY,
            _TASKS.c.run_after <= bindparam("p_now"),
            queue.not_in(in_queues) if exclude else queue.in_(in_queues),
        )
        .order_by(_TASKS.c.priority.desc(), _TASKS.c.run_after, _TASKS.c.id)
        .limit(bindparam("p_limit"))
        # PostgreSQL: concurrent claimers skip each other's rows instead of waiting.
        # SQLite renders no row lock (``BEGIN IMMEDIATE`` already lets one writer in).
        .with_for_update(skip_locked=True)
    )
    return (
        update(_TASKS)
        .where(_TASKS.c.id.in_(pick.scalar_subquery()))
        .values(
            status=TaskStatus.LEASED.value,
            lease_token=bindparam("p_token"),
            lease_expires_at=bindparam("p_until"),
            worker_id=bindparam("p_worker"),
            attempts=_TASKS.c.attempts + 1,
            started_at=bindparam("p_now"),
            updated_at=bindparam("p_now"),
        )
        .returning(_TASKS.c.id)
    )


def _claim_from(
    session: Session,
    *,
    queues: list[str],
    exclude: bool,
    limit: int,
    worker_id: str,
    token: str,
    now: datetime,
    lease_until: datetime,
) -> list[int]:
    if limit <= 0:
        return []
    params = {
        "p_queues": queues,
        "p_now": now,
        "p_limit": limit,
        "p_token": token,
        "p_until": lease_until,
        "p_worker": worker_id,
    }
    return list(session.execute(_claim_statement(exclude), params).scalars())


def claim(
    db: Database,
    *,
    queues: list[str] | None,
    worker_id: str,
    limit: int,
    lease_seconds: float,
) -> list[ClaimedTask]:
    """Lease up to ``limit`` ready tasks (highest priority first) from ``queues`` (None = all).

    Paused queues are skipped; rate-limited queues give at most as many tasks as
    their token bucket allows.
    """
    now = utcnow()
    token = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=lease_seconds)
    common = {"worker_id": worker_id, "token": token, "now": now, "lease_until": lease_until}
    with db.transaction() as session:
        # A claim only moves a lease; losing it in a database crash is the same as the
        # lease expiring (the task is ready again and whoever ran it cannot commit its
        # result, because every outcome re-checks the lease token in a durable
        # transaction). So the claim does not wait for its log flush where the
        # database lets us choose; the next durable commit (the outcome) flushes it.
        dialect_of(session).relax_durability(session)
        controls = session.execute(_READ_CONTROLS).all()
        paused = {c.name for c in controls if c.paused}
        limited = {c.name for c in controls if c.rate_limit_per_minute and not c.paused}
        ids: list[int] = []
        if queues:
            free = [q for q in queues if q not in paused and q not in limited]
            if free:
                ids += _claim_from(session, queues=free, exclude=False, limit=limit, **common)
            limited_wanted = [q for q in queues if q in limited]
        else:
            excluded = sorted(paused | limited)
            ids += _claim_from(session, queues=excluded, exclude=True, limit=limit, **common)
            limited_wanted = sorted(limited)
        for q in limited_wanted:
            room = limit - len(ids)
            if room <= 0:
                break
            granted = take_tokens(session, q, room, now)
            got = _claim_from(session, queues=[q], exclude=False, limit=granted, **common)
            give_back_tokens(session, q, granted - len(got))
            ids += got
        if not ids:
            return []
        rows = session.execute(_CLAIMED_ROWS, {"p_ids": ids}).all()
        claimed = [
            ClaimedTask(
                id=r.id,
                job_id=r.job_id,
                queue=r.queue,
                stage=r.stage,
                priority=r.priority,
                attempts=r.attempts,
                max_attempts=r.max_attempts,
                lease_token=token,
                lease_expires_at=lease_until,
                run_after=r.run_after,
                claimed_at=now,
                replay=r.replay,
                trace_context=r.trace_context,
                tenant=r.tenant,
                pipeline=r.pipeline,
                message_id=r.message_id,
                idempotency_key=r.idempotency_key,
                job_replay=r.job_replay,
            )
            for r in rows
        ]
        session.execute(
            _INSERT_ATTEMPT,
            [
                {
                    "task_id": c.id,
                    "attempt": c.attempts,
                    "worker_id": worker_id,
                    "started_at": now,
                    "outcome": "running",
                    "replay": c.replay,
                }
                for c in claimed
            ],
        )
        session.execute(
            _JOBS_RUNNING, {"p_jobs": sorted({c.job_id for c in claimed}), "p_now": now}
        )
        claimed.sort(key=lambda c: (-c.priority, c.run_after, c.id))
        return claimed
