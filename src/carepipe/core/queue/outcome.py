"""How a leased task ends: success (with the stage handoff), failure, release, heartbeat.

Every outcome first re-checks the lease (same token, still leased) in its own
transaction. A worker whose lease expired and was taken over finds nothing to
update and its result is dropped, which is what keeps delivery exactly-once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import error_code, is_retryable, safe_message
from carepipe.core.models import Job, Task, TaskAttempt
from carepipe.core.queue.backoff import backoff_delay
from carepipe.core.queue.claim import ClaimedTask
from carepipe.core.queue.states import JobStatus, TaskStatus
from carepipe.core.queue.wakeup import notify_in_transaction


class LeaseLost(Exception):
    """The task is no longer ours (lease expired and reclaimed, released, or cancelled)."""


# The success path runs once per task: its two statements are built once and
# executed with parameters, which skips SQLAlchemy's per-call statement
# construction and cache-key work (a measurable share of a no-op task's cost).
_TASKS = Task.__table__
_ATTEMPTS = TaskAttempt.__table__
_MARK_DONE = (
    update(_TASKS)
    .where(
        _TASKS.c.id == bindparam("p_id"),
        _TASKS.c.lease_token == bindparam("p_token"),
        _TASKS.c.status == TaskStatus.LEASED.value,
    )
    .values(
        status=TaskStatus.DONE.value,
        finished_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
        lease_token=None,
        lease_expires_at=None,
    )
)
_CLOSE_ATTEMPT = (
    update(_ATTEMPTS)
    .where(
        _ATTEMPTS.c.task_id == bindparam("p_task"),
        _ATTEMPTS.c.attempt == bindparam("p_attempt"),
        _ATTEMPTS.c.outcome == "running",
    )
    .values(
        outcome=bindparam("p_outcome"),
        finished_at=bindparam("p_now"),
        error_code=bindparam("p_code"),
        error_message=bindparam("p_message"),
    )
)


def _take_back(session: Session, task: ClaimedTask, **values: object) -> None:
    now = utcnow()
    res = session.execute(
        update(Task)
        .where(
            Task.id == task.id,
            Task.lease_token == task.lease_token,
            Task.status == TaskStatus.LEASED,
        )
        .values(updated_at=now, **values),
        execution_options={"synchronize_session": False},
    )
    if res.rowcount != 1:
        raise LeaseLost(task.id)


def _close_attempt(
    session: Session,
    task: ClaimedTask,
    outcome: str,
    code: str | None = None,
    message: str | None = None,
) -> None:
    session.execute(
        _CLOSE_ATTEMPT,
        {
            "p_task": task.id,
            "p_attempt": task.attempts,
            "p_outcome": outcome,
            "p_now": utcnow(),
            "p_code": code,
            "p_message": message,
        },
    )


def succeed(
    db: Database,
    task: ClaimedTask,
    handoff: Callable[[Session], Iterable[str]],
) -> None:
    """Mark the task done and run ``handoff`` in the same transaction.

    ``handoff`` writes the stage's artifacts, the next task and the job status,
    and returns the queues it enqueued to. It is the one writer of job state
    outside this package, and only ever runs here, inside the completing
    transaction (``tests/core/test_state_writers.py`` holds it to that). Its
    ``enqueue`` wakes the next stage's workers at commit.
    """
    with db.transaction() as session:
        res = session.execute(
            _MARK_DONE, {"p_id": task.id, "p_token": task.lease_token, "p_now": utcnow()}
        )
        if res.rowcount != 1:
            raise LeaseLost(task.id)
        _close_attempt(session, task, "done")
        list(handoff(session))  # drained: a generator handoff does its work as it is iterated


def fail(
    db: Database,
    task: ClaimedTask,
    exc: BaseException,
    *,
    retry_base: float,
    retry_cap: float,
    rng: random.Random | None = None,
) -> str:
    """Record a failure: back to ``ready`` after a backoff, or ``dead``. Returns the new status."""
    now = utcnow()
    code = error_code(exc)
    message = safe_message(exc)
    retry = is_retryable(exc) and task.attempts < task.max_attempts
    with db.transaction() as session:
        if retry:
            delay = backoff_delay(task.attempts, base=retry_base, cap=retry_cap, rng=rng)
            _take_back(
                session,
                task,
                status=TaskStatus.READY,
                run_after=now + timedelta(seconds=delay),
                lease_token=None,
                lease_expires_at=None,
                last_error_code=code,
                last_error_message=message,
            )
            _close_attempt(session, task, "retry", code, message)
            status = TaskStatus.READY
        else:
            if is_retryable(exc):
                message = f"{message} (gave up after {task.attempts} attempts)"
            _take_back(
                session,
                task,
                status=TaskStatus.DEAD,
                finished_at=now,
                lease_token=None,
                lease_expires_at=None,
                last_error_code=code,
                last_error_message=message,
            )
            _close_attempt(session, task, "dead", code, message)
            session.execute(
                update(Job)
                .where(Job.id == task.job_id)
                .values(
                    status=JobStatus.DEAD,
                    error_code=code,
                    error_message=message,
                    updated_at=now,
                    current_stage=task.stage,
                ),
                execution_options={"synchronize_session": False},
            )
            status = TaskStatus.DEAD
    return status


def release(db: Database, task: ClaimedTask) -> None:
    """Give a leased task back untouched (graceful shutdown): the attempt does not count."""
    with db.transaction() as session:
        _take_back(
            session,
            task,
            status=TaskStatus.READY,
            lease_token=None,
            lease_expires_at=None,
            attempts=Task.attempts - 1,
            run_after=utcnow(),
        )
        _close_attempt(session, task, "released")
        notify_in_transaction(session, task.queue)


def extend_leases(db: Database, tasks: list[ClaimedTask], lease_seconds: float) -> set[int]:
    """Heartbeat: push the lease of every task still ours; returns the ids that were lost."""
    if not tasks:
        return set()
    lost: set[int] = set()
    until = utcnow() + timedelta(seconds=lease_seconds)
    with db.transaction() as session:
        for t in tasks:
            res = session.execute(
                update(Task)
                .where(
                    Task.id == t.id,
                    Task.lease_token == t.lease_token,
                    Task.status == TaskStatus.LEASED,
                )
                .values(lease_expires_at=until),
                execution_options={"synchronize_session": False},
            )
            if res.rowcount != 1:
                lost.add(t.id)
    return lost
