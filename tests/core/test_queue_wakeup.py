"""Workers are woken by the queue operation itself, when its transaction commits.

Embedded (SQLite): the ``Database``'s condition variable is signalled after the
outermost commit, never before it, at a savepoint's release, or after a
rollback. PostgreSQL: ``NOTIFY`` is delivered at commit. Services therefore
never send a wake-up themselves.
"""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest

from carepipe.core.db import Database
from carepipe.core.queue import enqueue, pause, resume
from carepipe.core.queue.dialect import CHANNEL
from carepipe.pipelines.ingest import submit


def _job(db: Database, blobs) -> str:
    return submit(
        db,
        blobs,
        tenant="t1",
        pipeline="echo",
        payload=json.dumps({"n": 1}).encode(),
        content_type="application/json",
    ).job_id


def _embedded_only(db: Database) -> None:
    if db.is_postgres:
        pytest.skip("PostgreSQL wakes workers by NOTIFY (test_notify_is_sent_at_commit)")


def test_embedded_workers_are_woken_after_the_commit(db, blobs):
    _embedded_only(db)
    job_id = _job(db, blobs)
    before = db.wakeup_generation
    with db.transaction() as s:
        with s.begin_nested():
            enqueue(s, job_id=job_id, queue="wake-q", stage="echo")
        assert db.wakeup_generation == before  # a savepoint's release is not the commit
        enqueue(s, job_id=job_id, queue="wake-q2", stage="echo")
        assert db.wakeup_generation == before
    assert db.wakeup_generation == before + 1  # once per commit, however many queues


def test_embedded_rollback_wakes_nobody(db, blobs):
    _embedded_only(db)
    job_id = _job(db, blobs)
    before = db.wakeup_generation
    with pytest.raises(RuntimeError), db.transaction() as s:
        enqueue(s, job_id=job_id, queue="wake-q", stage="echo")
        raise RuntimeError("changed my mind")
    with db.session() as s:  # a later commit with nothing queued
        s.commit()
    assert db.wakeup_generation == before


def test_embedded_resume_wakes_but_pause_does_not(db):
    _embedded_only(db)
    with db.transaction() as s:
        pause(s, "wake-q")
    before = db.wakeup_generation
    with db.transaction() as s:
        pause(s, "wake-q")
    assert db.wakeup_generation == before
    with db.transaction() as s:
        resume(s, "wake-q")
    assert db.wakeup_generation == before + 1


def test_notify_is_sent_at_commit(db, blobs):
    if not db.is_postgres:
        pytest.skip("embedded workers are woken in-process (tests above)")
    job_id = _job(db, blobs)
    # The channel is shared by every process on the database (a worker left by
    # another test may be queueing 'echo'), so only this test's queue counts.
    queue = f"wake-{uuid.uuid4().hex[:12]}"
    dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def ours(timeout: float, stop_after: int | None = None) -> list[str]:
        got = listener.notifies(timeout=timeout, stop_after=stop_after)
        return [n.payload for n in got if n.payload == queue]

    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with db.transaction() as s:
            enqueue(s, job_id=job_id, queue=queue, stage="echo")
            enqueue(s, job_id=job_id, queue=queue, stage="echo")
            s.flush()
            assert ours(0.3) == []
        got: list[str] = []
        deadline = time.monotonic() + 2.0
        while not got and time.monotonic() < deadline:
            got = ours(deadline - time.monotonic(), stop_after=1)
        assert got == [queue]
        assert ours(0.3) == []  # one per queue
