"""A stalled SQLite writer must not turn finished work into a second run (issue 10).

Another process holding SQLite's write lock (a stopped worker mid-transaction) stops
every writer: no heartbeat can renew a lease. When the lock comes free, a lease
that ran out during the stall is not evidence that its worker died: the reaper
leaves it to its worker for a grace period, and the finished task commits once.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from carepipe.core.models import Job, Task, TaskAttempt
from carepipe.pipelines.context import StageContext, StageOutput
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.registry import Pipeline, Stage, register
from carepipe.pipelines.worker import Worker
from tests.support.waiting import wait_until

started = threading.Event()
gate = threading.Event()
runs: list[str] = []


def _gated(ctx: StageContext) -> StageOutput:
    runs.append(ctx.job_id)
    started.set()
    gate.wait(30)
    return StageOutput(result={"ran": True})


register(Pipeline("stall_t", (Stage("stall_t", _gated),), description="test: waits on a gate"))


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # Only SQLite has one database-wide write lock; PostgreSQL locks rows.
    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_lease_that_expired_during_a_write_stall_is_not_taken_back(db, blobs, settings, db_url):
    s = settings.model_copy(
        update={"lease_seconds": 2.0, "heartbeat_seconds": 0.5, "poll_interval_seconds": 0.05}
    )
    started.clear()
    gate.clear()
    runs.clear()
    sub = submit(db, blobs, tenant="t", pipeline="stall_t", payload=b"{}", content_type="x/y")
    worker = Worker(db, blobs, s, concurrency=1)
    worker.start_background()
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        assert started.wait(20)
        # Another process takes the write lock and keeps it past the lease.
        other.execute("BEGIN IMMEDIATE")
        time.sleep(s.lease_seconds + 2.0)  # the reaper and the heartbeat queue up meanwhile
        gate.set()  # the stage finishes; its commit waits too
        time.sleep(0.3)
        other.execute("COMMIT")

        def settled() -> Job | None:
            with db.session() as session:
                job = session.get(Job, sub.job_id)
                return job if job.status in ("succeeded", "dead") else None

        job = wait_until(settled, timeout=20, what="the job to finish")
    finally:
        gate.set()
        other.close()
        worker.stop()
        worker.stopped.wait(10)
    assert job.status == "succeeded"
    assert runs == [sub.job_id]  # ran once
    with db.session() as session:
        task = session.execute(select(Task).where(Task.job_id == sub.job_id)).scalar_one()
        outcomes = session.execute(
            select(TaskAttempt.outcome).where(TaskAttempt.task_id == task.id)
        ).scalars()
        assert list(outcomes) == ["done"] and task.attempts == 1
    assert db.write_stall(within=60) is not None  # the stall was seen
