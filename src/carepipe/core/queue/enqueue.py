"""Putting a task on a queue (inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Task
from carepipe.core.queue.states import TaskStatus
from carepipe.core.queue.wakeup import notify_in_transaction

_INSERT_TASK = insert(Task.__table__)


def _row(
    *,
    job_id: str,
    queue: str,
    stage: str,
    priority: int,
    run_after: datetime | None,
    max_attempts: int,
    replay: bool,
    trace_context: dict[str, Any] | None,
) -> dict[str, Any]:
    now = utcnow()
    return {
        "job_id": job_id,
        "queue": queue,
        "stage": stage,
        "status": TaskStatus.READY,
        "priority": priority,
        "run_after": run_after or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "replay": replay,
        "trace_context": trace_context,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    session: Session,
    *,
    job_id: str,
    queue: str,
    stage: str,
    priority: int = 1,
    run_after: datetime | None = None,
    max_attempts: int = 5,
    replay: bool = False,
    trace_context: dict[str, Any] | None = None,
) -> Task:
    """Add a ready task; it becomes visible to workers when the caller commits."""
    task = Task(
        **_row(
            job_id=job_id,
            queue=queue,
            stage=stage,
            priority=priority,
            run_after=run_after,
            max_attempts=max_attempts,
            replay=replay,
            trace_context=trace_context,
        )
    )
    session.add(task)
    notify_in_transaction(session, queue)
    return task


def enqueue_many(session: Session, tasks: Iterable[Mapping[str, Any]]) -> int:
    """``enqueue`` for many tasks in one executemany (batch submissions, benchmarks).

    Each item takes ``enqueue``'s keyword arguments (``job_id``, ``queue`` and
    ``stage`` required). Returns how many tasks were added.
    """
    rows = [
        _row(
            job_id=t["job_id"],
            queue=t["queue"],
            stage=t["stage"],
            priority=t.get("priority", 1),
            run_after=t.get("run_after"),
            max_attempts=t.get("max_attempts", 5),
            replay=t.get("replay", False),
            trace_context=t.get("trace_context"),
        )
        for t in tasks
    ]
    if not rows:
        return 0
    session.execute(_INSERT_TASK, rows)
    for queue in sorted({r["queue"] for r in rows}):
        notify_in_transaction(session, queue)
    return len(rows)
