"""Re-running jobs that have ended, from their first stage, and giving them back.

A re-run takes a job that has ended (succeeded, dead or cancelled) back to
``queued`` with ``replay=true``, by a conditional UPDATE: a job that is queued,
running or waiting for review belongs to someone else (a worker, a DLQ replay,
another backfill, a clinician) and is left alone, so two re-runs racing for the
same job queue it once. The caller enqueues the first-stage task in the same
transaction. What the job was before is returned as a ``JobSnapshot``, so a
re-run called off before it started can put the job back (``restore_jobs``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Job
from carepipe.core.queue.states import JobStatus
from carepipe.core.queue.supersede import restore_superseded, supersede_dead_tasks

RERUNNABLE = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED)
# A job whose re-run has not finished: only these are given back or cancelled.
_WAITING = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class JobSnapshot:
    """A job's state before a re-run took it, and the dead tasks the re-run superseded."""

    status: str
    error_code: str | None
    error_message: str | None
    finished_at: datetime | None
    current_stage: str | None
    pipeline: str
    replay: bool
    superseded_tasks: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (kept by the caller, e.g. on a backfill item)."""
        return {
            "status": self.status,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "current_stage": self.current_stage,
            "pipeline": self.pipeline,
            "replay": self.replay,
            "superseded_tasks": list(self.superseded_tasks),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSnapshot:
        finished = data.get("finished_at")
        return cls(
            status=data["status"],
            error_code=data.get("error_code"),
            error_message=data.get("error_message"),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            current_stage=data.get("current_stage"),
            pipeline=data.get("pipeline") or "",
            replay=bool(data.get("replay")),
            superseded_tasks=tuple(data.get("superseded_tasks") or ()),
        )


@dataclass(frozen=True)
class Rerun:
    """What ``rerun_jobs`` did: the jobs it took, and the status of those it left."""

    taken: dict[str, JobSnapshot]
    # Not ended (someone else's work), by status; None for a job id that does not exist.
    left: dict[str, str | None]


def rerun_jobs(
    session: Session, job_ids: Collection[str], *, pipeline: str, first_stage: str
) -> Rerun:
    """Take the ended jobs among ``job_ids`` back to ``queued`` at ``first_stage``.

    Their dead tasks are superseded in the same statement batch. The caller
    enqueues each taken job's first task (``replay=True``) before committing.
    """
    if not job_ids:
        return Rerun({}, {})
    now = utcnow()
    before = {
        r.id: r
        for r in session.execute(
            select(
                Job.id,
                Job.status,
                Job.error_code,
                Job.error_message,
                Job.finished_at,
                Job.current_stage,
                Job.pipeline,
                Job.replay,
            ).where(Job.id.in_(job_ids))
        ).all()
    }
    taken_ids = set(
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.status.in_(RERUNNABLE))
            .values(
                status=JobStatus.QUEUED,
                replay=True,
                pipeline=pipeline,
                current_stage=first_stage,
                error_code=None,
                error_message=None,
                finished_at=None,
                updated_at=now,
            )
            .returning(Job.id),
            execution_options={"synchronize_session": False},
        ).scalars()
    )
    superseded = supersede_dead_tasks(session, taken_ids)
    taken = {
        jid: JobSnapshot(
            status=before[jid].status,
            error_code=before[jid].error_code,
            error_message=before[jid].error_message,
            finished_at=before[jid].finished_at,
            current_stage=before[jid].current_stage,
            pipeline=before[jid].pipeline,
            replay=before[jid].replay,
            superseded_tasks=tuple(superseded.get(jid, ())),
        )
        for jid in taken_ids
    }
    left = {jid: (before[jid].status if jid in before else None) for jid in job_ids}
    for jid in taken_ids:
        left.pop(jid, None)
    return Rerun(taken, left)


def restore_jobs(session: Session, snapshots: Mapping[str, JobSnapshot]) -> None:
    """Give re-run jobs whose turn never came their earlier state and dead letters back.

    Only a job still queued or running moves; the superseded tasks become dead
    letters again (``restore_superseded``).
    """
    now = utcnow()
    for job_id, snap in snapshots.items():
        restore_superseded(session, snap.superseded_tasks)
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(_WAITING))
            .values(
                status=snap.status,
                error_code=snap.error_code,
                error_message=snap.error_message,
                finished_at=snap.finished_at,
                current_stage=snap.current_stage,
                pipeline=snap.pipeline,
                replay=snap.replay,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )


def cancel_waiting_jobs(session: Session, job_ids: Collection[str]) -> None:
    """Cancel jobs that were queued for a first run that is called off (no earlier state).

    Only a job still queued or running moves.
    """
    if not job_ids:
        return
    session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.status.in_(_WAITING))
        .values(status=JobStatus.CANCELLED, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
