"""Replaying a dead task: the same task goes back to ``ready`` with ``replay=true``.

History is kept: earlier attempts stay in ``task_attempts``; the counter
restarts so the replay gets the full retry budget.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.errors import Conflict, NotFound
from carepipe.core.models import Job, Task
from carepipe.core.queue.states import JobStatus, TaskStatus
from carepipe.core.queue.wakeup import notify_in_transaction


def replay_task(session: Session, task_id: int, *, priority: int | None = None) -> Task:
    """Re-queue a dead task in the caller's transaction.

    A task that is not dead (already replayed and waiting, running or done) is a
    ``Conflict``: the conditional update makes double-queuing impossible even
    when two operators press Replay at once.
    """
    now = utcnow()
    task_row = session.get(Task, task_id)
    if task_row is not None:
        job = session.get(Job, task_row.job_id)
        if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            # A backfill already re-runs this job: a replay on top would run it twice.
            raise Conflict("the job is already queued or running again; wait for it to end")
    values: dict[str, object] = {
        "status": TaskStatus.READY,
        "replay": True,
        "attempts": 0,
        "run_after": now,
        "replay_requested_at": now,
        "updated_at": now,
        "finished_at": None,
    }
    if priority is not None:
        values["priority"] = priority
    res = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.DEAD).values(**values),
        execution_options={"synchronize_session": False},
    )
    if res.rowcount != 1:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound("no such task")
        raise Conflict(f"task is {task.status}, only dead tasks can be replayed")
    task = session.get(Task, task_id, populate_existing=True)
    assert task is not None
    session.execute(
        update(Job)
        .where(Job.id == task.job_id)
        .values(
            status=JobStatus.QUEUED,
            replay=True,
            error_code=None,
            error_message=None,
            finished_at=None,
            updated_at=now,
            current_stage=task.stage,
        ),
        execution_options={"synchronize_session": False},
    )
    notify_in_transaction(session, task.queue)
    return task
