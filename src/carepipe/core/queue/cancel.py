"""Cancelling the tasks still waiting on a queue (a backfill called off).

Only ``ready`` tasks move: a leased one is being worked on and finishes (its
outcome re-checks the lease, which a cancel does not touch), and its later
stages run as usual. The jobs are the caller's to settle, since only it knows
what they were before (``rerun.restore_jobs``, ``rerun.cancel_waiting_jobs``).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Task
from carepipe.core.queue.states import TaskStatus


def cancel_ready_tasks(session: Session, queue: str) -> list[tuple[int, str]]:
    """Mark every ready task of ``queue`` ``cancelled``; returns (task id, job id) pairs."""
    now = utcnow()
    rows = session.execute(
        update(Task)
        .where(Task.queue == queue, Task.status == TaskStatus.READY)
        .values(status=TaskStatus.CANCELLED, updated_at=now, finished_at=now)
        .returning(Task.id, Task.job_id),
        execution_options={"synchronize_session": False},
    ).all()
    return [(task_id, job_id) for task_id, job_id in rows]
