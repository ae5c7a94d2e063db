"""Dead-letter queue services: list dead tasks, replay one (audited, permission-checked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.core.models import Job, Task
from carepipe.core.queue import TaskStatus, replay_task


@dataclass(frozen=True)
class DeadLetterFilter:
    pipeline: str | None = None
    queue: str | None = None
    error_code: str | None = None
    tenant: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(principal: Principal, f: DeadLetterFilter) -> Any:
    stmt = select(Task, Job).join(Job, Job.id == Task.job_id).where(Task.status == TaskStatus.DEAD)
    tenant = principal.tenant or f.tenant
    if tenant:
        stmt = stmt.where(Job.tenant == tenant)
    if f.pipeline:
        stmt = stmt.where(Job.pipeline == f.pipeline)
    if f.queue:
        stmt = stmt.where(Task.queue == f.queue)
    if f.error_code:
        stmt = stmt.where(Task.last_error_code == f.error_code)
    if f.since:
        stmt = stmt.where(Task.updated_at >= f.since)
    if f.until:
        stmt = stmt.where(Task.updated_at < f.until)
    return stmt


def list_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Dead tasks, newest first; page with ``after`` = (updated_at, id) of the last row (keyset)."""
    require(principal, "dlq.read")
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit must be between 1 and 500")
    stmt = _filtered(principal, f or DeadLetterFilter())
    if after:
        ts, tid = after
        stmt = stmt.where(or_(Task.updated_at < ts, and_(Task.updated_at == ts, Task.id < tid)))
    stmt = stmt.order_by(Task.updated_at.desc(), Task.id.desc()).limit(limit)
    return [
        {
            "task_id": t.id,
            "job_id": j.id,
            "tenant": j.tenant,
            "pipeline": j.pipeline,
            "queue": t.queue,
            "stage": t.stage,
            "attempts": t.attempts,
            "error_code": t.last_error_code,
            "error_message": t.last_error_message,
            "died_at": t.updated_at,
            "message_id": j.message_id,
        }
        for t, j in session.execute(stmt).all()
    ]


def count_by_error(
    session: Session, principal: Principal, f: DeadLetterFilter | None = None
) -> dict[str, int]:
    require(principal, "dlq.read")
    sub = _filtered(principal, f or DeadLetterFilter()).subquery()
    rows = session.execute(
        select(sub.c.last_error_code, func.count()).group_by(sub.c.last_error_code)
    ).all()
    return {code or "unknown": n for code, n in rows}


def replay_dead_task(
    session: Session, principal: Principal, task_id: int, *, reason: str | None = None
) -> Task:
    """Re-queue one dead task (``replay=true``); the audit log records who and why."""
    require(principal, "dlq.replay")
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no such task")
    job = session.get(Job, task.job_id)
    assert job is not None
    if not principal.sees_tenant(job.tenant):
        raise NotFound("no such task")
    before = {"status": task.status, "error_code": task.last_error_code, "attempts": task.attempts}
    task = replay_task(session, task_id)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="dlq.replay",
        target_type="task",
        target_id=str(task_id),
        before=before,
        after={"status": task.status, "replay": True},
        reason=reason,
    )
    return task
