"""The queue operations a backfill stands on, on SQLite and PostgreSQL.

Creating jobs once per key, enqueueing with ids, re-running ended jobs (and
superseding their dead letters), giving them back, and cancelling a queue's
waiting tasks.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from carepipe.core.db import Database
from carepipe.core.errors import UnknownPipeline, ValidationFailed
from carepipe.core.models import Job, Task
from carepipe.core.queue import (
    JobSnapshot,
    cancel_ready_tasks,
    cancel_waiting_jobs,
    claim,
    create_jobs,
    create_missing_jobs,
    enqueue_returning_ids,
    fail,
    job_row,
    rerun_jobs,
    restore_jobs,
)
from carepipe.pipelines.ingest import archive_rejected, submit
from carepipe.pipelines.worker import Worker


def _job(db: Database, blobs, n: int, pipeline: str = "echo") -> str:
    return submit(
        db,
        blobs,
        tenant="t1",
        pipeline=pipeline,
        payload=json.dumps({"n": n}).encode(),
        content_type="application/json",
    ).job_id


def _run(db: Database, blobs, settings) -> None:
    """Run every ready task through the real worker code, once."""
    worker = Worker(db, blobs, settings, concurrency=1, worker_id="w")
    for t in claim(db, queues=None, worker_id="w", limit=50, lease_seconds=30):
        worker._execute(t)


def _dead_job(db: Database, blobs) -> tuple[str, int]:
    job_id = _job(db, blobs, 99)
    (t,) = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)
    assert t.job_id == job_id
    assert fail(db, t, ValidationFailed("bad input"), retry_base=1, retry_cap=1) == "dead"
    return job_id, t.id


def _job_state(db: Database, job_id: str) -> tuple[str, str | None, bool]:
    with db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job.status, job.error_code, job.replay


def _task_status(db: Database, task_id: int) -> str:
    with db.session() as s:
        task = s.get(Task, task_id)
        assert task is not None
        return task.status


def _message(db: Database, blobs, n: int) -> str:
    return archive_rejected(
        db,
        blobs,
        tenant="t1",
        payload=json.dumps({"m": n}).encode(),
        content_type="application/json",
        source="api",
        error=UnknownPipeline("not deployed"),
    )


def test_rerun_takes_ended_jobs_once_and_supersedes_their_dead_letters(db, blobs, settings):
    done = _job(db, blobs, 1)
    _run(db, blobs, settings)
    dead, dead_task = _dead_job(db, blobs)
    busy = _job(db, blobs, 2)  # still queued: someone else's work
    with db.transaction() as s:
        rerun = rerun_jobs(
            s, [done, dead, busy, "no-such-job"], pipeline="echo", first_stage="echo"
        )
    assert set(rerun.taken) == {done, dead}
    assert rerun.left == {busy: "queued", "no-such-job": None}
    assert rerun.taken[done].status == "succeeded" and rerun.taken[done].finished_at
    assert rerun.taken[dead].status == "dead"
    assert rerun.taken[dead].error_code == "validation_failed"
    assert rerun.taken[dead].superseded_tasks == (dead_task,)
    assert _job_state(db, done) == ("queued", None, True)
    assert _job_state(db, dead) == ("queued", None, True)
    assert _task_status(db, dead_task) == "cancelled"  # out of the DLQ
    # A second re-run (another backfill, overlapping) gets none of them: queued once.
    with db.transaction() as s:
        again = rerun_jobs(s, [done, dead], pipeline="echo", first_stage="echo")
    assert again.taken == {}
    assert again.left == {done: "queued", dead: "queued"}


def test_restore_gives_back_state_and_dead_letters_only_to_jobs_still_waiting(
    db, blobs, settings, clock
):
    done = _job(db, blobs, 1)
    _run(db, blobs, settings)
    dead, dead_task = _dead_job(db, blobs)
    clock.advance(60)
    with db.transaction() as s:
        rerun = rerun_jobs(s, [done, dead], pipeline="echo", first_stage="echo")
        enqueue_returning_ids(
            s, [{"job_id": done, "queue": "echo", "stage": "echo", "replay": True}]
        )
    _run(db, blobs, settings)  # the re-run of ``done`` finished: it is not given back
    with db.session() as s:
        finished = s.get(Job, done).finished_at  # type: ignore[union-attr]
    assert finished is not None and finished > rerun.taken[done].finished_at  # type: ignore[operator]
    with db.transaction() as s:
        restore_jobs(s, rerun.taken)
    assert _job_state(db, dead) == ("dead", "validation_failed", False)
    assert _task_status(db, dead_task) == "dead"  # a dead letter again, replayable
    with db.session() as s:
        assert s.get(Job, done).finished_at == finished  # type: ignore[union-attr]
    assert _job_state(db, done)[0] == "succeeded"


def test_cancel_ready_tasks_leaves_the_leased_one_running(db, blobs, clock):
    jobs = [_job(db, blobs, n) for n in range(3)]
    with db.transaction() as s:
        ids = enqueue_returning_ids(
            s, [{"job_id": j, "queue": "bf-q", "stage": "echo", "replay": True} for j in jobs]
        )
    (leased,) = claim(db, queues=["bf-q"], worker_id="w", limit=1, lease_seconds=30)
    clock.advance(5)
    with db.transaction() as s:
        cancelled = cancel_ready_tasks(s, "bf-q")
    assert sorted(cancelled) == sorted((i, j) for i, j in zip(ids, jobs) if i != leased.id)
    assert _task_status(db, leased.id) == "leased"
    with db.session() as s:
        for task_id, _ in cancelled:
            task = s.get(Task, task_id)
            assert task.status == "cancelled" and task.finished_at == clock.now()  # type: ignore[union-attr]
    with db.transaction() as s:
        assert cancel_ready_tasks(s, "bf-q") == []


def test_cancel_waiting_jobs_leaves_ended_ones(db, blobs, settings):
    done = _job(db, blobs, 1)
    _run(db, blobs, settings)
    waiting = _job(db, blobs, 2)
    with db.transaction() as s:
        cancel_waiting_jobs(s, [done, waiting])
    assert _job_state(db, done)[0] == "succeeded"
    assert _job_state(db, waiting)[0] == "cancelled"


def test_enqueue_returning_ids_in_the_order_given(db, blobs):
    jobs = [_job(db, blobs, n) for n in range(40)]
    order = list(reversed(jobs))
    with db.transaction() as s:
        ids = enqueue_returning_ids(
            s, [{"job_id": j, "queue": "ids-q", "stage": "echo"} for j in order]
        )
    with db.session() as s:
        got = dict(s.execute(select(Task.id, Task.job_id).where(Task.queue == "ids-q")).all())
    assert [got[i] for i in ids] == order
    with db.transaction() as s:
        assert enqueue_returning_ids(s, []) == []


def test_create_missing_jobs_makes_each_key_once(db, blobs):
    m1, m2 = _message(db, blobs, 1), _message(db, blobs, 2)
    first = job_row(
        tenant="t1", pipeline="echo", first_stage="echo", message_id=m1, idempotency_key="k1"
    )
    with db.transaction() as s:
        create_jobs(s, [first])
    again = job_row(
        tenant="t1", pipeline="echo", first_stage="echo", message_id=m1, idempotency_key="k1"
    )
    other = job_row(
        tenant="t1", pipeline="echo", first_stage="echo", message_id=m2, idempotency_key="k2"
    )
    with db.transaction() as s:
        made = create_missing_jobs(s, [again, other])
    assert made == {other["id"]}
    with db.session() as s:
        keys = s.execute(select(Job.idempotency_key, func.count()).group_by(Job.idempotency_key))
        assert dict(keys.all()) == {"k1": 1, "k2": 1}
        job = s.get(Job, other["id"])
        assert (job.status, job.current_stage) == ("queued", "echo")  # type: ignore[union-attr]


def test_job_snapshot_round_trips_through_json():
    from datetime import UTC, datetime

    snap = JobSnapshot(
        status="dead",
        error_code="validation_failed",
        error_message="bad",
        finished_at=datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(seconds=1),
        current_stage="parse",
        pipeline="hl7",
        replay=False,
        superseded_tasks=(4, 7),
    )
    assert JobSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap
