"""Resuming a job that waits for a person (clinician review), and noting its review state.

A stage that returns ``wait=True`` leaves its job ``waiting_review`` with no task
queued. When the person is done (a clinician approves the note), :func:`resume_job`
moves the job on to the stage the caller names and queues that stage's task, in the
caller's transaction, so the approval and the resumed job commit together. The update
is conditional on the job still waiting: two approvals at once queue one task.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.errors import Conflict, NotFound
from carepipe.core.models import Job
from carepipe.core.queue.enqueue import enqueue
from carepipe.core.queue.states import JobStatus


def _merged(session: Session, job_id: str, result: dict[str, Any] | None) -> dict[str, Any]:
    current = session.execute(select(Job.result).where(Job.id == job_id)).scalar_one_or_none()
    return {**(current or {}), **(result or {})}


def resume_job(
    session: Session,
    job_id: str,
    *,
    stage: str,
    queue: str,
    max_attempts: int,
    result: dict[str, Any] | None = None,
) -> None:
    """Move a ``waiting_review`` job on to ``stage`` and queue its task (caller's transaction).

    ``result`` is merged into the job's result (e.g. the review's outcome). ``Conflict``
    when the job is no longer waiting; ``NotFound`` when there is no such job.
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("no such job")
    if job.status != JobStatus.WAITING_REVIEW:
        raise Conflict(f"the job is {job.status}, not waiting for review")
    now = utcnow()
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.WAITING_REVIEW)
        .values(
            status=JobStatus.RUNNING,
            current_stage=stage,
            # The row is locked and loaded above: merge into what it holds.
            result={**(job.result or {}), **(result or {})},
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    if res.rowcount != 1:
        raise Conflict("the job is no longer waiting for review")
    enqueue(
        session,
        job_id=job_id,
        queue=queue,
        stage=stage,
        priority=job.priority,
        max_attempts=max_attempts,
        replay=job.replay,
    )


def note_waiting_result(session: Session, job_id: str, result: dict[str, Any]) -> None:
    """Merge ``result`` into a job that still waits for review (a note returned, say).

    PHI-free summaries only (codes, counts, times): the job's result is shown to the
    submitter. ``Conflict`` when the job is no longer waiting.
    """
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.WAITING_REVIEW)
        .values(result=_merged(session, job_id, result), updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if res.rowcount != 1:
        raise Conflict("the job is no longer waiting for review")
