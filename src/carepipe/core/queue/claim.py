"""Claiming ready tasks with a lease.

PostgreSQL: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``,
so concurrent workers never block each other or take the same row. SQLite: the
same statement inside ``BEGIN IMMEDIATE`` (one writer at a time).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, select, text, update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.models import Job, QueueControl, Task, TaskAttempt
from carepipe.core.queue.control import give_back_tokens, take_tokens
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


_IS_READY = Task.status == literal_column(f"'{TaskStatus.READY.value}'")

# A claim only moves a lease; losing it in a database crash is the same as the
# lease expiring (the task is ready again and whoever ran it cannot commit its
# result, because every outcome re-checks the lease token in a durable
# transaction). So on PostgreSQL the claim does not wait for its WAL flush;
# the next durable commit (the task's own outcome) flushes it anyway.
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


def _claim_from(
    session: Session,
    *,
    queue_filter: Any,
    limit: int,
    worker_id: str,
    token: str,
    now: datetime,
    lease_until: datetime,
) -> list[int]:
    if limit <= 0:
        return []
    pick = (
        select(Task.id)
        # A literal, not a bound parameter: a partial index on ready tasks
        # (``WHERE status = 'ready'``) can only be matched against a constant.
        .where(_IS_READY, Task.run_after <= now, queue_filter)
        .order_by(Task.priority.desc(), Task.run_after, Task.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(Task)
        .where(Task.id.in_(pick.scalar_subquery()))
        .values(
            status=TaskStatus.LEASED,
            lease_token=token,
            lease_expires_at=lease_until,
            worker_id=worker_id,
            attempts=Task.attempts + 1,
            started_at=now,
            updated_at=now,
        )
        .returning(Task.id)
    )
    return list(session.execute(stmt, execution_options={"synchronize_session": False}).scalars())


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
    with db.transaction() as session:
        if db.is_postgres:
            session.execute(_ASYNC_COMMIT)
        controls = session.execute(
            select(QueueControl.name, QueueControl.paused, QueueControl.rate_limit_per_minute)
        ).all()
        paused = {c.name for c in controls if c.paused}
        limited = {c.name for c in controls if c.rate_limit_per_minute and not c.paused}
        if queues:
            free = [q for q in queues if q not in paused and q not in limited]
            free_filter = Task.queue.in_(free) if free else None
            limited_wanted = [q for q in queues if q in limited]
        else:
            excluded = paused | limited
            free_filter = Task.queue.not_in(excluded) if excluded else Task.queue.is_not(None)
            limited_wanted = sorted(limited)
        ids: list[int] = []
        if free_filter is not None:
            ids += _claim_from(
                session,
                queue_filter=free_filter,
                limit=limit,
                worker_id=worker_id,
                token=token,
                now=now,
                lease_until=lease_until,
            )
        for q in limited_wanted:
            room = limit - len(ids)
            if room <= 0:
                break
            granted = take_tokens(session, q, room, now)
            got = _claim_from(
                session,
                queue_filter=Task.queue == q,
                limit=granted,
                worker_id=worker_id,
                token=token,
                now=now,
                lease_until=lease_until,
            )
            give_back_tokens(session, q, granted - len(got))
            ids += got
        if not ids:
            return []
        rows = session.execute(
            select(Task, Job.tenant, Job.pipeline, Job.message_id, Job.idempotency_key, Job.replay)
            .join(Job, Job.id == Task.job_id)
            .where(Task.id.in_(ids))
        ).all()
        claimed: list[ClaimedTask] = []
        for task, tenant, pipeline, message_id, idem, job_replay in rows:
            session.add(
                TaskAttempt(
                    task_id=task.id,
                    attempt=task.attempts,
                    worker_id=worker_id,
                    started_at=now,
                    outcome="running",
                    replay=task.replay,
                )
            )
            claimed.append(
                ClaimedTask(
                    id=task.id,
                    job_id=task.job_id,
                    queue=task.queue,
                    stage=task.stage,
                    priority=task.priority,
                    attempts=task.attempts,
                    max_attempts=task.max_attempts,
                    lease_token=token,
                    lease_expires_at=lease_until,
                    run_after=task.run_after,
                    claimed_at=now,
                    replay=task.replay,
                    trace_context=task.trace_context,
                    tenant=tenant,
                    pipeline=pipeline,
                    message_id=message_id,
                    idempotency_key=idem,
                    job_replay=job_replay,
                )
            )
        session.execute(
            update(Job)
            .where(Job.id.in_({c.job_id for c in claimed}), Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        claimed.sort(key=lambda c: (-c.priority, c.run_after, c.id))
        return claimed
