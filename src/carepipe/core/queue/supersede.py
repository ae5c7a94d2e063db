"""Superseding dead tasks: a job queued again leaves the dead-letter queue.

When a job is re-run from its first stage (a backfill), its dead tasks are no
longer the job's open failure: they become ``cancelled``, so the console stops
listing them and nobody can replay one on top of the re-run (which would run the
job twice). If the re-run is called off before it starts, they are put back.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Task
from carepipe.core.queue.states import TaskStatus


def supersede_dead_tasks(session: Session, job_ids: Collection[str]) -> dict[str, list[int]]:
    """Mark the dead tasks of ``job_ids`` ``cancelled``; returns job id -> task ids."""
    if not job_ids:
        return {}
    rows = session.execute(
        update(Task)
        .where(Task.job_id.in_(job_ids), Task.status == TaskStatus.DEAD)
        .values(status=TaskStatus.CANCELLED, updated_at=utcnow())
        .returning(Task.id, Task.job_id),
        execution_options={"synchronize_session": False},
    ).all()
    superseded: dict[str, list[int]] = {}
    for task_id, job_id in rows:
        superseded.setdefault(job_id, []).append(task_id)
    return superseded


def restore_superseded(session: Session, task_ids: Collection[int]) -> int:
    """Make superseded tasks dead letters again; returns how many were.

    Only tasks still ``cancelled`` move: one that was dealt with since stays as it is.
    """
    if not task_ids:
        return 0
    res = session.execute(
        update(Task)
        .where(Task.id.in_(task_ids), Task.status == TaskStatus.CANCELLED)
        .values(status=TaskStatus.DEAD, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return int(res.rowcount or 0)
