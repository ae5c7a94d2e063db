"""The queue contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carepipe.core.db import Database
from carepipe.core.errors import Conflict, EmrUnavailable, ValidationFailed
from carepipe.core.models import Job, Task, TaskAttempt
from carepipe.core.queue import (
    LeaseLost,
    backoff_delay,
    claim,
    enqueue_many,
    extend_leases,
    fail,
    pause,
    reap_expired_leases,
    release,
    replay_task,
    resume,
    set_rate_limit,
    succeed,
)
from carepipe.pipelines.ingest import submit


def _job(db: Database, blobs, *, priority: int = 1, pipeline: str = "echo", n: int = 0) -> str:
    return submit(
        db,
        blobs,
        tenant="t1",
        pipeline=pipeline,
        payload=json.dumps({"n": n}).encode(),
        content_type="application/json",
        priority=priority,
    ).job_id


def _noop(_session) -> list[str]:
    return []


def test_claims_highest_priority_first(db, blobs, clock):
    low = _job(db, blobs, priority=0, n=1)
    urgent = _job(db, blobs, priority=3, n=2)
    normal = _job(db, blobs, priority=1, n=3)
    clock.advance(1)
    got = claim(db, queues=["echo"], worker_id="w", limit=3, lease_seconds=30)
    assert [t.job_id for t in got] == [urgent, normal, low]
    # Same priority: oldest first.
    a = _job(db, blobs, n=4)
    clock.advance(1)
    b = _job(db, blobs, n=5)
    clock.advance(1)
    got = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)
    assert got[0].job_id == a and got[0].job_id != b


def test_concurrent_claims_never_share_a_task(db, blobs):
    total = 300
    for i in range(total):
        _job(db, blobs, n=i)
    seen: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def grab() -> None:
        try:
            while True:
                got = claim(
                    db,
                    queues=["echo"],
                    worker_id=threading.current_thread().name,
                    limit=7,
                    lease_seconds=30,
                )
                if not got:
                    return
                with lock:
                    seen.extend(t.id for t in got)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=grab, name=f"w{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(seen) == total
    assert len(set(seen)) == total


def test_retry_uses_exponential_backoff_then_dead(db, blobs, clock):
    job = _job(db, blobs)
    rng = random.Random(7)
    delays = []
    for attempt in (1, 2):
        t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
        assert t.attempts == attempt
        before = clock.now()
        status = fail(db, t, EmrUnavailable("down"), retry_base=10, retry_cap=1000, rng=rng)
        assert status == "ready"
        with db.session() as s:
            task = s.get(Task, t.id)
            delays.append((task.run_after - before).total_seconds())
            assert task.last_error_code == "emr_unavailable"
        # Not claimable before its time ...
        assert claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30) == []
        clock.advance(delays[-1] + 0.001)
    # Equal jitter: attempt 1 waits within [5, 10], attempt 2 within [10, 20].
    assert 5 <= delays[0] <= 10
    assert 10 <= delays[1] <= 20
    t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
    t = t.__class__(**{**t.__dict__, "max_attempts": 3})
    assert fail(db, t, EmrUnavailable("down"), retry_base=10, retry_cap=1000) == "dead"
    with db.session() as s:
        task = s.get(Task, t.id)
        assert task.status == "dead"
        assert "gave up after 3 attempts" in task.last_error_message
        assert s.get(Job, job).status == "dead"
        outcomes = (
            s.execute(
                select(TaskAttempt.outcome)
                .where(TaskAttempt.task_id == t.id)
                .order_by(TaskAttempt.attempt)
            )
            .scalars()
            .all()
        )
        assert outcomes == ["retry", "retry", "dead"]


def test_backoff_is_capped_and_jittered():
    rng = random.Random(1)
    values = {round(backoff_delay(20, base=1, cap=60, rng=rng), 6) for _ in range(50)}
    assert all(30 <= v <= 60 for v in values)
    assert len(values) > 40


def test_permanent_error_goes_dead_at_once_and_replay_requeues(db, blobs):
    job = _job(db, blobs)
    t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
    assert fail(db, t, ValidationFailed("bad"), retry_base=1, retry_cap=1) == "dead"
    with db.transaction() as s:
        replayed = replay_task(s, t.id)
        assert replayed.status == "ready" and replayed.replay
    with db.transaction() as s, pytest.raises(Conflict):
        replay_task(s, t.id)  # already re-queued: never twice
    t2 = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
    assert t2.id == t.id and t2.replay and t2.attempts == 1
    succeed(db, t2, _noop)
    with db.session() as s:
        attempts = (
            s.execute(
                select(TaskAttempt.outcome)
                .where(TaskAttempt.task_id == t.id)
                .order_by(TaskAttempt.id)
            )
            .scalars()
            .all()
        )
        assert attempts == ["dead", "done"]  # history kept
        assert s.get(Job, job).replay is True


def test_pause_and_resume(db, blobs):
    _job(db, blobs)
    with db.transaction() as s:
        pause(s, "echo")
    assert claim(db, queues=["echo"], worker_id="w", limit=5, lease_seconds=30) == []
    assert claim(db, queues=None, worker_id="w", limit=5, lease_seconds=30) == []
    with db.transaction() as s:
        resume(s, "echo")
    assert len(claim(db, queues=None, worker_id="w", limit=5, lease_seconds=30)) == 1


def test_rate_limit_holds_across_claims(db, blobs, clock):
    for i in range(20):
        _job(db, blobs, n=i)
    with db.transaction() as s:
        set_rate_limit(s, "echo", 60)  # one a second
    got = claim(db, queues=["echo"], worker_id="w", limit=10, lease_seconds=30)
    assert len(got) == 1
    assert claim(db, queues=None, worker_id="w2", limit=10, lease_seconds=30) == []
    clock.advance(0.5)
    assert claim(db, queues=["echo"], worker_id="w", limit=10, lease_seconds=30) == []
    clock.advance(0.6)
    assert len(claim(db, queues=["echo"], worker_id="w", limit=10, lease_seconds=30)) == 1
    # A long pause does not bank a burst beyond one second's worth.
    clock.advance(3600)
    assert len(claim(db, queues=None, worker_id="w", limit=10, lease_seconds=30)) == 1
    with db.transaction() as s:
        set_rate_limit(s, "echo", None)
    assert len(claim(db, queues=["echo"], worker_id="w", limit=50, lease_seconds=30)) == 17


def test_expired_lease_is_reclaimed_and_old_owner_cannot_finish(db, blobs, clock):
    _job(db, blobs)
    first = claim(db, queues=["echo"], worker_id="dead-worker", limit=1, lease_seconds=30)[0]
    clock.advance(10)
    assert extend_leases(db, [first], 30) == set()  # heartbeat keeps it
    clock.advance(25)
    assert reap_expired_leases(db) == (0, 0)  # heartbeat pushed expiry from t+30 to t+40
    clock.advance(10)
    assert reap_expired_leases(db) == (1, 0)
    second = claim(db, queues=["echo"], worker_id="new-worker", limit=1, lease_seconds=30)[0]
    assert second.id == first.id and second.attempts == 2
    with pytest.raises(LeaseLost):
        succeed(db, first, _noop)
    with pytest.raises(LeaseLost):
        release(db, first)
    assert extend_leases(db, [first], 30) == {first.id}
    succeed(db, second, _noop)
    with db.session() as s:
        assert s.get(Task, first.id).status == "done"
        outcomes = (
            s.execute(
                select(TaskAttempt.outcome)
                .where(TaskAttempt.task_id == first.id)
                .order_by(TaskAttempt.attempt)
            )
            .scalars()
            .all()
        )
        assert outcomes == ["expired", "done"]


def test_expired_lease_out_of_attempts_goes_dead(db, blobs, clock):
    _job(db, blobs)
    with db.transaction() as s:
        s.execute(Task.__table__.update().values(max_attempts=1))
    claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=5)
    clock.advance(6)
    assert reap_expired_leases(db) == (0, 1)
    with db.session() as s:
        task = s.execute(select(Task)).scalar_one()
        assert task.status == "dead" and task.last_error_code == "lease_expired"


def test_release_does_not_count_an_attempt(db, blobs):
    _job(db, blobs)
    t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
    release(db, t)
    t2 = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]
    assert t2.id == t.id and t2.attempts == 1


def test_handoff_is_atomic_with_completion(db, blobs):
    _job(db, blobs)
    t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=30)[0]

    def broken_handoff(session):
        session.add(
            Task(
                job_id=t.job_id,
                queue="x",
                stage="x",
                status="ready",
                priority=0,
                run_after=t.run_after,
                created_at=t.run_after,
                updated_at=t.run_after,
            )
        )
        raise RuntimeError("crash inside the handoff")

    with pytest.raises(RuntimeError):
        succeed(db, t, broken_handoff)
    with db.session() as s:
        assert s.get(Task, t.id).status == "leased"  # completion rolled back with the handoff
        assert s.execute(select(func.count()).select_from(Task)).scalar_one() == 1


def test_lease_expiry_uses_lease_seconds(db, blobs, clock):
    _job(db, blobs)
    t = claim(db, queues=["echo"], worker_id="w", limit=1, lease_seconds=42)[0]
    assert t.lease_expires_at - clock.now() == timedelta(seconds=42)


def test_enqueue_many_adds_claimable_tasks_in_one_statement(db, blobs, clock):
    jobs = [_job(db, blobs, n=i) for i in range(3)]
    # Their first tasks are already queued by submit: take them out of the way.
    first = claim(db, queues=["echo"], worker_id="w", limit=10, lease_seconds=30)
    assert len(first) == 3
    with db.transaction() as s:
        added = enqueue_many(
            s,
            [
                {"job_id": jobs[0], "queue": "later", "stage": "echo", "priority": 0},
                {"job_id": jobs[1], "queue": "later", "stage": "echo", "priority": 3},
                {"job_id": jobs[2], "queue": "later", "stage": "echo", "max_attempts": 2},
            ],
        )
        assert enqueue_many(s, []) == 0
    assert added == 3
    clock.advance(1)
    got = claim(db, queues=["later"], worker_id="w", limit=10, lease_seconds=30)
    assert [t.job_id for t in got] == [jobs[1], jobs[2], jobs[0]]
    assert [t.max_attempts for t in got] == [5, 2, 5]
    assert all(t.attempts == 1 and t.stage == "echo" for t in got)
