"""Putting a task on a queue (inside the caller's transaction).

Every task row is built by ``_row`` here: a task starts ``ready`` with no
attempts, and nothing else in the code base writes one.
"""

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

# Built once and executed with parameters: enqueueing is on every hot path
# (ingestion, every stage handoff), and building the statement per call costs
# more than running it.
_INSERT_TASK = insert(Task.__table__)
# The same with the new ids, in the order the rows were given (SQLAlchemy's
# "insertmanyvalues" batches the rows and sorts RETURNING back into input order).
_INSERT_TASK_IDS = insert(Task.__table__).returning(
    Task.__table__.c.id, sort_by_parameter_order=True
)


def _row(
    *,
    job_id: str,
    queue: str,
    stage: str,
    priority: int = 1,
    run_after: datetime | None = None,
    max_attempts: int = 5,
    replay: bool = False,
    trace_context: dict[str, Any] | None = None,
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
) -> None:
    """Add a ready task; it becomes visible to workers when the caller commits."""
    enqueue_many(
        session,
        [
            {
                "job_id": job_id,
                "queue": queue,
                "stage": stage,
                "priority": priority,
                "run_after": run_after,
                "max_attempts": max_attempts,
                "replay": replay,
                "trace_context": trace_context,
            }
        ],
    )


def enqueue_many(session: Session, tasks: Iterable[Mapping[str, Any]]) -> int:
    """``enqueue`` for many tasks in one executemany (batch submissions, benchmarks).

    Each item takes ``enqueue``'s keywords. Returns how many tasks were added.
    """
    rows = [_row(**t) for t in tasks]
    if not rows:
        return 0
    session.execute(_INSERT_TASK, rows)
    _wake(session, rows)
    return len(rows)


def enqueue_returning_ids(session: Session, tasks: Iterable[Mapping[str, Any]]) -> list[int]:
    """``enqueue_many`` that returns the new tasks' ids, in the order of ``tasks``.

    For callers that keep a reference to the task they queued (a backfill's items
    point at their first-stage task); the hot paths use ``enqueue_many``, which
    skips the RETURNING.
    """
    rows = [_row(**t) for t in tasks]
    if not rows:
        return []
    ids = list(session.execute(_INSERT_TASK_IDS, rows).scalars())
    _wake(session, rows)
    return ids


def _wake(session: Session, rows: list[dict[str, Any]]) -> None:
    for queue in sorted({r["queue"] for r in rows}):
        notify_in_transaction(session, queue)
