"""Bulk replay: background job with progress, resumable, never double-queues; SQLite + PG."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from carepipe.core.auth import Principal
from carepipe.core.errors import Conflict, InvalidRequest, PermissionDenied
from carepipe.core.models import AuditEvent, Task
from carepipe.ops import bulk_replay, dlq
from carepipe.ops.bulk_replay import BulkSelection
from tests.support.console import insert_dead, make_dead

OPS = Principal(kind="user", id="olga", roles=("ops",))
COMPLIANCE = Principal(kind="user", id="cora", roles=("compliance",))


def _status_counts(db) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(Task.status, func.count()).group_by(Task.status)).all())


def test_filter_bulk_replay_runs_to_done_with_progress(db, blobs, clock):
    insert_dead(db, 30, codes=("emr_rejected", "validation_failed"))
    keep = make_dead(db, blobs, tenant="zen")
    f = dlq.DeadLetterFilter(error_code="emr_rejected")
    with pytest.raises(PermissionDenied), db.transaction() as s:
        bulk_replay.request_bulk_replay(s, COMPLIANCE, BulkSelection(filter=f))
    with pytest.raises(Conflict), db.transaction() as s:
        bulk_replay.request_bulk_replay(s, OPS, BulkSelection(filter=f), expected_total=10)
    with db.transaction() as s:
        row = bulk_replay.request_bulk_replay(
            s, OPS, BulkSelection(filter=f), reason="INC-1", expected_total=15
        )
        bulk_id = row.id
    with db.session() as s:
        assert bulk_replay.get_bulk_replay(s, OPS, bulk_id)["status"] == "queued"
    assert bulk_replay.run_pending(db, "t", batch=4) == 1
    with db.session() as s:
        v = bulk_replay.get_bulk_replay(s, OPS, bulk_id)
        assert (v["status"], v["total"], v["replayed"], v["skipped"], v["remaining"]) == (
            "done",
            15,
            15,
            0,
            0,
        )
        assert dlq.count_dead(s, OPS, f) == 0
        assert dlq.count_dead(s, OPS, dlq.DeadLetterFilter(error_code="validation_failed")) == 16
        assert s.get(Task, keep).status == "dead"
        audits = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "dlq.replay")
        ).scalar_one()
        assert audits == 15


def test_selected_ids_and_tasks_dying_after_cutoff_excluded(db, blobs, clock):
    a, b = make_dead(db, blobs), make_dead(db, blobs)
    with db.transaction() as s:
        ids_row = bulk_replay.request_bulk_replay(s, OPS, BulkSelection(task_ids=(a,)))
        all_row = bulk_replay.request_bulk_replay(
            s, OPS, BulkSelection(filter=dlq.DeadLetterFilter())
        )
        ids_id, all_id = ids_row.id, all_row.id
    clock.advance(seconds=5)
    late = make_dead(db, blobs)  # died after the operator confirmed: not part of the bulk
    bulk_replay.run_pending(db, "t")
    with db.session() as s:
        assert bulk_replay.get_bulk_replay(s, OPS, ids_id)["replayed"] == 1
        v = bulk_replay.get_bulk_replay(s, OPS, all_id)
        # `a` was replayed by the first bulk: the second skips it and replays only `b`.
        assert (v["total"], v["replayed"], v["skipped"]) == (2, 1, 1)
        assert s.get(Task, late).status == "dead" and s.get(Task, b).status == "ready"
    with pytest.raises(InvalidRequest), db.transaction() as s:
        bulk_replay.request_bulk_replay(
            s, OPS, BulkSelection(filter=dlq.DeadLetterFilter(error_code="nope"))
        )


def test_two_concurrent_bulk_replays_never_double_queue(db):
    n = 150
    insert_dead(db, n)
    f = dlq.DeadLetterFilter()
    with db.transaction() as s:
        first = bulk_replay.request_bulk_replay(s, OPS, BulkSelection(filter=f)).id
        second = bulk_replay.request_bulk_replay(s, OPS, BulkSelection(filter=f)).id
    claimed = {first: bulk_replay.claim(db, "A", first), second: bulk_replay.claim(db, "B", second)}
    assert claimed == {first: first, second: second}
    results: dict[str, dict] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(bid: str, owner: str) -> None:
        try:
            barrier.wait()
            results[bid] = bulk_replay.run_one(db, bid, owner, batch=10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(first, "A")),
        threading.Thread(target=run, args=(second, "B")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    a, b = results[first], results[second]
    assert a["status"] == b["status"] == "done"
    assert a["replayed"] + b["replayed"] == n
    assert a["replayed"] + a["skipped"] == n and b["replayed"] + b["skipped"] == n
    assert _status_counts(db) == {"ready": n}
    with db.session() as s:
        targets = (
            s.execute(select(AuditEvent.target_id).where(AuditEvent.action == "dlq.replay"))
            .scalars()
            .all()
        )
    assert len(targets) == n and len(set(targets)) == n


def test_crashed_runner_is_resumed_after_lease_expiry(db, clock):
    insert_dead(db, 12)
    with db.transaction() as s:
        bid = bulk_replay.request_bulk_replay(
            s, OPS, BulkSelection(filter=dlq.DeadLetterFilter())
        ).id
    assert bulk_replay.claim(db, "dead-runner", bid) == bid  # then "crashes"
    assert bulk_replay.claim(db, "other", bid) is None  # lease still held
    assert bulk_replay.run_pending(db, "other") == 0
    clock.advance(seconds=bulk_replay.LEASE.total_seconds() + 1)
    assert bulk_replay.run_pending(db, "other", batch=5) == 1
    with db.session() as s:
        v = bulk_replay.get_bulk_replay(s, OPS, bid)
    assert (v["status"], v["replayed"]) == ("done", 12)
