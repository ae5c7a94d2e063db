"""Expired leases: the worker holding them died or hung."""

from __future__ import annotations

from sqlalchemy import select, update

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import WorkerCrashed
from carepipe.core.models import Job, Task, TaskAttempt
from carepipe.core.queue.states import JobStatus, TaskStatus
from carepipe.core.queue.wakeup import notify_in_transaction


def reap_expired_leases(
    db: Database, *, limit: int = 500, stall_grace: float = 0.0
) -> tuple[int, int]:
    """Return expired leased tasks to ``ready`` (or ``dead`` when out of attempts).

    Returns (requeued, dead). Safe to run from every worker at once: each row
    is changed only if it is still the expired lease that was read.

    A lease that ran out while writes were stalled (SQLite's lock held elsewhere:
    nobody could renew anything) says nothing about its worker. For
    ``stall_grace`` seconds after a stall this process saw, only leases that had
    expired before the stall began are taken back; the others' workers get that
    long to renew them or to finish.
    """
    requeued = dead = 0
    with db.transaction() as session:
        now = utcnow()  # after the lock: a reaper that waited must not judge by its old clock
        stalled_since = db.write_stall(stall_grace) if stall_grace > 0 else None
        cutoff = min(now, stalled_since) if stalled_since is not None else now
        rows = session.execute(
            select(
                Task.id,
                Task.lease_token,
                Task.attempts,
                Task.max_attempts,
                Task.job_id,
                Task.queue,
                Task.stage,
            )
            .where(Task.status == TaskStatus.LEASED, Task.lease_expires_at < cutoff)
            .limit(limit)
        ).all()
        for r in rows:
            out_of_attempts = r.attempts >= r.max_attempts
            msg = "worker lease expired (worker died or hung)"
            values: dict[str, object] = {
                "lease_token": None,
                "lease_expires_at": None,
                "updated_at": now,
                "last_error_code": WorkerCrashed.code,
                "last_error_message": msg,
            }
            if out_of_attempts:
                values.update(
                    status=TaskStatus.DEAD,
                    finished_at=now,
                    last_error_message=f"{msg} (gave up after {r.attempts} attempts)",
                )
            else:
                values.update(status=TaskStatus.READY, run_after=now)
            res = session.execute(
                update(Task)
                .where(
                    Task.id == r.id,
                    Task.lease_token == r.lease_token,
                    Task.status == TaskStatus.LEASED,
                )
                .values(**values),
                execution_options={"synchronize_session": False},
            )
            if res.rowcount != 1:
                continue
            session.execute(
                update(TaskAttempt)
                .where(
                    TaskAttempt.task_id == r.id,
                    TaskAttempt.attempt == r.attempts,
                    TaskAttempt.outcome == "running",
                )
                .values(outcome="expired", finished_at=now, error_code=WorkerCrashed.code),
                execution_options={"synchronize_session": False},
            )
            if out_of_attempts:
                dead += 1
                session.execute(
                    update(Job)
                    .where(Job.id == r.job_id)
                    .values(
                        status=JobStatus.DEAD,
                        error_code=WorkerCrashed.code,
                        error_message=msg,
                        updated_at=now,
                        current_stage=r.stage,
                    ),
                    execution_options={"synchronize_session": False},
                )
            else:
                requeued += 1
                notify_in_transaction(session, r.queue)
    return requeued, dead
