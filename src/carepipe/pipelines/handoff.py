"""The stage handoff: artifacts + next task + job status, in the completing transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlalchemy.orm import Session

from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.core.models import Artifact, Job
from carepipe.core.queue import ClaimedTask, JobStatus, enqueue
from carepipe.pipelines.context import END, StageOutput
from carepipe.pipelines.registry import Pipeline


@functools.cache
def _job_update(columns: tuple[str, ...]) -> Update:
    """``UPDATE jobs SET <columns> WHERE id = :p_id``, built once per column set."""
    jobs = Job.__table__
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("p_id"))
        .values({c: bindparam(f"p_{c}") for c in columns})
    )


def store_artifact_content(blobs: BlobStore, output: StageOutput) -> dict[int, tuple[str, str]]:
    """Write artifact blobs before the transaction (content-addressed, so retries are free)."""
    keys: dict[int, tuple[str, str]] = {}
    for i, a in enumerate(output.artifacts):
        if a.content is not None:
            keys[i] = (blobs.put(a.content), sha256_hex(a.content))
    return keys


def make_handoff(
    pipeline: Pipeline,
    task: ClaimedTask,
    output: StageOutput,
    blob_keys: dict[int, tuple[str, str]],
    *,
    default_max_attempts: int,
) -> Callable[[Session], list[str]]:
    """Build the function that ``queue.succeed`` runs inside its transaction."""

    def handoff(session: Session) -> list[str]:
        now = utcnow()
        for i, a in enumerate(output.artifacts):
            key, digest = blob_keys.get(i, (None, None))
            session.add(
                Artifact(
                    job_id=task.job_id,
                    task_id=task.id,
                    stage=task.stage,
                    kind=a.kind,
                    content_type=a.content_type,
                    data=a.data,
                    blob_key=key,
                    sha256=digest,
                    engine=a.engine,
                    model_version=a.model_version,
                    confidence=a.confidence,
                    created_at=now,
                )
            )
        for effect in output.effects:
            effect(session)
        values: dict[str, Any] = {"updated_at": now}
        nxt = None
        if output.wait:
            values.update(status=JobStatus.WAITING_REVIEW, current_stage=task.stage)
        else:
            if output.next_stage == END:
                nxt = None
            elif output.next_stage:
                nxt = pipeline.stage(output.next_stage)
            else:
                nxt = pipeline.after(task.stage)
            if nxt is None:
                values.update(status=JobStatus.SUCCEEDED, current_stage=None, finished_at=now)
            else:
                values.update(status=JobStatus.RUNNING, current_stage=nxt.name)
        if output.result:
            # Merging the result is a read-modify-write: lock the row so that
            # concurrent writers of the same job serialise.
            job = session.get(Job, task.job_id, with_for_update=True)
            assert job is not None
            job.result = {**(job.result or {}), **output.result}
            for name, value in values.items():
                setattr(job, name, value)
        else:
            # Nothing to merge: one UPDATE (it takes the same row lock) instead of
            # a locking read plus a flush.
            res = session.execute(
                _job_update(tuple(sorted(values))),
                {"p_id": task.job_id, **{f"p_{k}": v for k, v in values.items()}},
            )
            assert res.rowcount == 1, "job row missing"
        if nxt is None:
            return []
        enqueue(
            session,
            job_id=task.job_id,
            queue=nxt.queue_name,
            stage=nxt.name,
            priority=task.priority,
            max_attempts=nxt.max_attempts or default_max_attempts,
            replay=task.replay or task.job_replay,
            trace_context=task.trace_context,
        )
        return [nxt.queue_name]

    return handoff
