"""The fence service, the watch every process reads it through, and what stops while it is
set: workers claim nothing (work in flight finishes), the scheduler's writing jobs wait."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from carepipe.core.auth import Principal
from carepipe.core.errors import PermissionDenied, ValidationFailed
from carepipe.core.maintenance.state import current_fence
from carepipe.core.maintenance.watch import FenceWatch, fence_watch, release_fence_watch
from carepipe.core.models import AuditEvent, Job, Task
from carepipe.observability.metrics import REGISTRY
from carepipe.ops import maintenance
from carepipe.ops.scheduler import Periodic, Scheduler
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.worker import Worker
from tests.support.waiting import wait_until

ADMIN = Principal(kind="user", id="alice", roles=("admin",))
OPS = Principal(kind="user", id="olga", roles=("ops",))
CLINICIAN = Principal(kind="user", id="carl", roles=("clinician",))


def _audit(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_fence_is_idempotent_lift_ends_it_both_audited(db):
    first = maintenance.fence(db, ADMIN, reason="failover to site B", retry_after_seconds=30)
    assert first.fenced and first.reason == "failover to site B"
    assert first.fenced_by == "user:alice" and first.retry_after_seconds == 30
    assert first.lifted_at is None and first.drill_id is None

    # A second fence (e.g. a drill starting during a manual one) keeps the first fence:
    # its fenced_at is where an RPO window is measured from.
    again = maintenance.fence(db, ADMIN, reason="another reason", drill_id="d-1")
    assert again.fenced_at == first.fenced_at and again.reason == "failover to site B"
    (fenced,) = _audit(db, "maintenance.fence")
    assert fenced.actor == "user:alice" and fenced.reason == "failover to site B"
    assert fenced.after == {
        "fenced_at": first.fenced_at.isoformat(),
        "retry_after_seconds": 30,
        "drill_id": None,
    }

    lifted = maintenance.lift(db, ADMIN)
    assert not lifted.fenced and lifted.lifted_at is not None
    assert lifted.fenced_at == first.fenced_at  # the last fence stays readable
    (lift,) = _audit(db, "maintenance.lift")
    assert lift.before["fenced_at"] == first.fenced_at.isoformat()
    with db.session() as s:
        assert current_fence(s) is None

    # Lifting a platform that is not fenced changes nothing and audits nothing.
    assert not maintenance.lift(db, ADMIN).fenced
    assert len(_audit(db, "maintenance.lift")) == 1

    # A new fence after a lift is a new fence, with its drill and the default Retry-After.
    drill = maintenance.fence(db, ADMIN, reason="dr drill", drill_id="drill-7")
    assert drill.fenced and drill.fenced_at > first.fenced_at and drill.lifted_at is None
    assert drill.drill_id == "drill-7" and drill.retry_after_seconds == 60
    assert [e.after["drill_id"] for e in _audit(db, "maintenance.fence")] == [None, "drill-7"]


def test_permissions_and_validation(db):
    with pytest.raises(PermissionDenied):
        maintenance.fence(db, OPS, reason="not mine to set")
    with pytest.raises(PermissionDenied):
        maintenance.lift(db, OPS)
    with pytest.raises(PermissionDenied):
        maintenance.fence_status(db, CLINICIAN)
    assert maintenance.fence_status(db, OPS).fenced is False  # ops may look
    with pytest.raises(ValidationFailed):
        maintenance.fence(db, ADMIN, reason="   ")
    with pytest.raises(ValidationFailed):
        maintenance.fence(db, ADMIN, reason="x", retry_after_seconds=-5)
    assert not maintenance.fence_status(db, ADMIN).fenced
    assert _audit(db, "maintenance.fence") == []


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("carepipe_maintenance_fenced")


def test_watch_follows_the_row_tells_listeners_and_keeps_state_on_read_errors(db, tmp_path):
    watch = FenceWatch(db, poll_seconds=0.1).start()
    seen: list[bool] = []
    watch.on_change(lambda state: seen.append(state is not None))
    try:
        assert watch.current is None and _gauge() == 0
        maintenance.fence(db, ADMIN, reason="maintenance window")
        wait_until(lambda: watch.fenced, timeout=3, what="the watch to see the fence")
        assert watch.current.reason == "maintenance window" and _gauge() == 1
        assert seen == [True]
        if db.is_sqlite:
            # The database file goes away (a restore is about to replace it): the watch
            # keeps the fence it knew instead of lifting it, and does not create the file.
            path = tmp_path / "carepipe.db"
            moved = path.rename(tmp_path / "elsewhere.db")
            time.sleep(0.4)
            assert watch.fenced and not path.exists()
            moved.rename(path)
        maintenance.lift(db, ADMIN)
        wait_until(lambda: not watch.fenced, timeout=3, what="the watch to see the lift")
        assert seen == [True, False] and _gauge() == 0
    finally:
        watch.stop()


def test_fence_watch_is_one_per_database_and_sees_this_process_at_once(db):
    watch = fence_watch(db)
    try:
        assert fence_watch(db) is watch and watch.running
        # The service refreshes this process's watch itself: no poll to wait for.
        maintenance.fence(db, ADMIN, reason="now")
        assert watch.fenced
        maintenance.lift(db, ADMIN)
        assert not watch.fenced
    finally:
        release_fence_watch(db)
    assert not watch.running


def test_disposing_the_database_stops_its_watch_and_no_poll_recreates_the_file(tmp_path):
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade

    path = tmp_path / "cp.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    watch = fence_watch(db)
    assert watch.running
    thread = watch._thread
    db.dispose()
    # The poller ended inside dispose: a caller may delete the file at once.
    assert not watch.running and thread is not None and not thread.is_alive()
    path.unlink()
    time.sleep(watch.poll_seconds * 2.5)
    assert not path.exists()
    # A database used again after its dispose gets a watch again.
    upgrade(url)
    again = fence_watch(db)
    try:
        assert again is not watch and again.running
    finally:
        db.dispose()
    assert not again.running


def _job_status(db, job_id: str) -> str:
    with db.session() as s:
        return s.get(Job, job_id).status


def _submit(db, blobs, pipeline: str, payload: bytes) -> str:
    return submit(
        db, blobs, tenant="t", pipeline=pipeline, payload=payload, content_type="application/json"
    ).job_id


def test_worker_claims_nothing_while_fenced_and_lets_work_in_flight_finish(db, blobs, settings):
    slow = _submit(db, blobs, "two_step", json.dumps({"sleep": 1.5}).encode())
    worker = Worker(db, blobs, settings, concurrency=2)
    thread = worker.start_background()
    try:
        wait_until(lambda: _leased(db, slow), timeout=10, what="the slow task to be claimed")
        maintenance.fence(db, ADMIN, reason="drill")
        queued = _submit(db, blobs, "echo", b'{"after": "the fence"}')
        worker.wake()
        # The task in flight finishes and its outcome is written (its next stage is queued,
        # not run: that would be a new claim).
        wait_until(lambda: _stage_done(db, slow, "t_first"), timeout=10, what="t_first done")
        time.sleep(1.0)
        assert _job_status(db, queued) == "queued"
        assert not _stage_done(db, slow, "t_second")
        maintenance.lift(db, ADMIN)
        wait_until(lambda: _job_status(db, queued) == "succeeded", timeout=10, what="echo job")
        wait_until(lambda: _job_status(db, slow) == "succeeded", timeout=10, what="two_step")
    finally:
        worker.stop()
        thread.join(10)


def _leased(db, job_id: str) -> bool:
    with db.session() as s:
        return any(
            t.status == "leased" for t in s.scalars(select(Task).where(Task.job_id == job_id))
        )


def _stage_done(db, job_id: str, stage: str) -> bool:
    with db.session() as s:
        return any(
            t.status == "done"
            for t in s.scalars(select(Task).where(Task.job_id == job_id, Task.stage == stage))
        )


def test_scheduler_skips_writing_jobs_while_fenced_exporters_go_on(db):
    runs: dict[str, int] = {"writer": 0, "exporter": 0}
    lock = threading.Lock()

    def count(name: str) -> None:
        with lock:
            runs[name] += 1

    maintenance.fence(db, ADMIN, reason="drill")
    watch = FenceWatch(db, poll_seconds=0.1).start()
    scheduler = Scheduler(
        [
            Periodic("writer", 0.5, lambda: count("writer")),
            Periodic("exporter", 0.5, lambda: count("exporter"), writes=False),
        ],
        fence=watch,
    ).start()
    try:
        wait_until(lambda: runs["exporter"] >= 2, timeout=5, what="the exporter to run")
        assert runs["writer"] == 0
        maintenance.lift(db, ADMIN)
        wait_until(lambda: runs["writer"] >= 1, timeout=5, what="the writer after the lift")
    finally:
        scheduler.stop()
        watch.stop()
