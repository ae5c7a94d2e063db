"""Backfills on SQLite and PostgreSQL: idempotency, throttle, pause/resume/cancel, report."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from carepipe.core.audit import verify_chain
from carepipe.core.crypto import sha256_hex
from carepipe.core.errors import InvalidRequest, PermissionDenied, UnknownPipeline
from carepipe.core.models import AuditEvent, Job, Message, Task
from carepipe.core.queue import claim
from carepipe.observability.metrics import REGISTRY
from carepipe.ops import backfill as bfs
from carepipe.ops.archive import ArchiveFilter
from carepipe.ops.backfill_models import BackfillItem
from carepipe.ops.queue_metrics import install_queue_collector
from carepipe.pipelines.worker import Worker
from tests.ops.backfill.helpers import (
    CLINICIAN,
    COMPLIANCE,
    OPS,
    accepted,
    count_rows,
    drain,
    message_count,
    rejected,
)


def _window(clock, days: float = 1) -> ArchiveFilter:
    now = clock.now()
    return ArchiveFilter(since=now - timedelta(days=days), until=now + timedelta(seconds=1))


def _start(db, clock, *, rate=600.0, f=None, pipeline="two_step", **kw):
    return bfs.start_backfill(
        db, OPS, archive_filter=f or _window(clock), pipeline=pipeline, rate_per_minute=rate, **kw
    )


@pytest.fixture
def history(db, blobs, settings, clock):
    """Two succeeded jobs, one dead job, one rejected message (never a job), one duplicate."""
    ok1 = accepted(db, blobs, {"n": 1}, key="order-1")
    ok2 = accepted(db, blobs, {"n": 2})
    dead = accepted(db, blobs, {"fail": "permanent"})
    rej = rejected(db, blobs, {"n": 4})
    dup = accepted(db, blobs, {"n": 1}, key="order-1")  # same key: archived as a duplicate
    assert not dup.created and dup.job_id == ok1.job_id
    drain(db, blobs, settings, clock)
    clock.advance(60)
    return {"ok1": ok1, "ok2": ok2, "dead": dead, "rej": rej, "dup": dup}


def test_rerun_reuses_jobs_and_creates_one_for_the_jobless(db, blobs, settings, clock, history):
    jobs_before = count_rows(db, Job)
    msgs_before = message_count(db)
    dead_task = count_rows(db, Task, Task.status == "dead")
    assert dead_task == 1
    view = _start(db, clock, reason="INC-7 reprocess")
    assert view["status"] == "running"
    assert view["matched"] == 5
    assert view["enqueued"] == 4  # ok1, ok2, dead, rej; dup is the same job as ok1
    assert view["skipped"] == 1 and view["skipped_reasons"] == {"same_job": 1}
    # One new job (for the rejected message), on the archived message and blob; no new message.
    assert count_rows(db, Job) == jobs_before + 1
    assert message_count(db) == msgs_before
    with db.session() as s:
        created = s.execute(select(Job).where(Job.message_id == history["rej"])).scalar_one()
        assert created.idempotency_key == f"message:{history['rej']}" and created.replay
        first_tasks = s.execute(select(Task).where(Task.queue == view["queue"])).scalars().all()
        assert len(first_tasks) == 4
        assert {t.stage for t in first_tasks} == {"t_first"}
        assert all(t.replay and t.status == "ready" for t in first_tasks)
        for key in ("ok1", "ok2", "dead"):
            job = s.get(Job, history[key].job_id)
            assert job.status == "queued" and job.replay
        # The dead letter is superseded by the re-run: it leaves the DLQ.
        assert s.execute(select(Task).where(Task.status == "dead")).first() is None
    assert view["remaining"] == 4

    drain(db, blobs, settings, clock)
    view = bfs.get_backfill(db, blobs, OPS, view["id"])
    assert view["status"] == "completed"
    assert (view["succeeded"], view["failed"], view["remaining"]) == (3, 1, 0)
    assert view["processed"] == 4
    assert count_rows(db, Job) == jobs_before + 1
    with db.session() as s:
        # Later stages ran on the normal queue, not the throttled one.
        second = s.execute(select(Task).where(Task.stage == "t_second", Task.replay)).scalars()
        assert {t.queue for t in second} == {"t_second"}


def test_rerunning_and_overlapping_backfills_never_make_a_second_job(
    db, blobs, settings, clock, history
):
    first = _start(db, clock)
    drain(db, blobs, settings, clock)
    jobs_after_first = count_rows(db, Job)
    job_ids = {j for (j,) in _items(db, first["id"], "job_id")}

    again = _start(db, clock)  # the same backfill once more
    assert again["enqueued"] == 4
    # An overlapping one while the second still has its work queued: all in flight.
    overlap = _start(db, clock, f=_window(clock, days=2))
    assert overlap["enqueued"] == 0
    assert overlap["skipped_reasons"] == {"in_flight": 4, "same_job": 1}
    drain(db, blobs, settings, clock)
    third = _start(db, clock)
    drain(db, blobs, settings, clock)
    assert count_rows(db, Job) == jobs_after_first
    for bid in (again["id"], third["id"]):
        assert {j for (j,) in _items(db, bid, "job_id")} == job_ids
    with db.session() as s:
        # Each archived message still has exactly one job.
        owners = s.execute(select(Job.message_id)).scalars().all()
        assert len(owners) == len(set(owners)) == 4
    for bid in (first["id"], again["id"], overlap["id"], third["id"]):
        assert bfs.get_backfill(db, blobs, OPS, bid)["status"] == "completed"


def _items(db, backfill_id, *cols):
    with db.session() as s:
        return s.execute(
            select(*[getattr(BackfillItem, c) for c in cols]).where(
                BackfillItem.backfill_id == backfill_id, BackfillItem.job_id.is_not(None)
            )
        ).all()


def test_throttle_is_the_queue_rate_limit(db, blobs, settings, clock):
    for n in range(12):
        accepted(db, blobs, {"n": n})
    drain(db, blobs, settings, clock)
    view = _start(db, clock, rate=60)  # one a second
    queue = view["queue"]
    live = accepted(db, blobs, {"live": True})  # normal traffic is not throttled
    got = claim(db, queues=None, worker_id="w", limit=50, lease_seconds=30)
    from_backfill = [t for t in got if t.queue == queue]
    assert len(from_backfill) == 1
    assert any(t.job_id == live.job_id for t in got)
    assert not [t for t in claim(db, queues=None, worker_id="w", limit=50, lease_seconds=30)]
    clock.advance(1)
    assert len(claim(db, queues=[queue], worker_id="w", limit=50, lease_seconds=30)) == 1
    clock.advance(5)  # the bucket holds at most one second's worth
    assert len(claim(db, queues=[queue], worker_id="w", limit=50, lease_seconds=30)) == 1
    claimed = 3
    for _ in range(20):
        clock.advance(0.5)
        claimed += len(claim(db, queues=[queue], worker_id="w", limit=50, lease_seconds=30))
    assert claimed == 12  # 10 s of simulated time released the other 9 exactly on schedule


def test_progress_eta_from_observed_rate(db, blobs, settings, clock):
    for n in range(10):
        accepted(db, blobs, {"n": n})
    drain(db, blobs, settings, clock)
    view = _start(db, clock, rate=30)  # one every 2 s
    assert view["remaining"] == 10
    assert view["eta_seconds"] == pytest.approx(20.0)  # nothing observed yet: the set rate
    worker_rounds = 0
    while worker_rounds < 12:
        clock.advance(1)
        drain_once(db, blobs, settings)
        worker_rounds += 1
    view = bfs.get_backfill(db, blobs, OPS, view["id"])
    # The bucket starts with one token and refills one per 2 s: claims at 1, 3, 5, 7, 9, 11 s.
    assert view["processed"] == 6
    assert view["observed_rate_per_minute"] == pytest.approx(30.0)  # 6 claims in 12 s
    assert view["eta_seconds"] == pytest.approx(4 / 30 * 60)


def drain_once(db, blobs, settings):
    w = Worker(db, blobs, settings, concurrency=1, worker_id="t")
    for t in claim(db, queues=None, worker_id="t", limit=10, lease_seconds=30):
        w._execute(t)


def test_pause_resume_cancel(db, blobs, settings, clock, history):
    view = _start(db, clock, rate=60)
    bid, queue = view["id"], view["queue"]
    assert bfs.pause_backfill(db, OPS, bid, reason="EMR maintenance")["status"] == "paused"
    clock.advance(30)
    assert claim(db, queues=None, worker_id="w", limit=10, lease_seconds=30) == []
    paused = bfs.get_backfill(db, blobs, OPS, bid)
    assert paused["status"] == "paused" and paused["eta_seconds"] is None
    with pytest.raises(bfs.BackfillStateConflict):
        bfs.pause_backfill(db, OPS, bid)
    assert bfs.resume_backfill(db, OPS, bid)["status"] == "running"
    got = claim(db, queues=None, worker_id="w", limit=10, lease_seconds=30)
    assert len(got) == 1 and got[0].queue == queue  # at the rate again
    cancelled = bfs.cancel_backfill(db, OPS, bid, reason="wrong window")
    assert cancelled["status"] == "cancelled"
    assert (cancelled["cancelled"], cancelled["remaining"]) == (3, 1)  # the leased one runs on
    with db.session() as s:
        tasks = s.execute(select(Task).where(Task.queue == queue)).scalars().all()
        assert sorted(t.status for t in tasks) == ["cancelled"] * 3 + ["leased"]
        # Jobs whose turn never came are back as they were; the dead letter is dead again.
        created = s.execute(select(Job).where(Job.message_id == history["rej"])).scalar_one()
        expected = {
            history["ok1"].job_id: ("succeeded", None),
            history["ok2"].job_id: ("succeeded", None),
            history["dead"].job_id: ("dead", "validation_failed"),
            created.id: ("cancelled", None),
        }
        running = got[0].job_id
        restored = 0
        for task in tasks:
            job = s.get(Job, task.job_id)
            if task.job_id == running:
                assert job.status == "running"
                continue
            assert (job.status, job.error_code) == expected[job.id]
            restored += 1
        assert restored == 3
        dead_letters = s.execute(select(Task).where(Task.status == "dead")).scalars().all()
        assert len(dead_letters) == (0 if running == history["dead"].job_id else 1)
    # The leased one finishes (with its later stage); then the report says what happened.
    assert not bfs.finalize_due(db, blobs)
    Worker(db, blobs, settings, concurrency=1, worker_id="w")._execute(got[0])
    drain(db, blobs, settings, clock)
    final = bfs.get_backfill(db, blobs, OPS, bid)
    assert final["status"] == "cancelled" and final["finished_at"]
    assert final["cancelled"] == 3 and final["processed"] == 1
    with pytest.raises(bfs.BackfillStateConflict):
        bfs.resume_backfill(db, OPS, bid)
    actions = _audit_actions(db, bid)
    assert actions == [
        "backfill.start",
        "backfill.pause",
        "backfill.resume",
        "backfill.cancel",
        "backfill.report",
    ]


def _audit_actions(db, bid):
    with db.session() as s:
        return list(
            s.execute(
                select(AuditEvent.action)
                .where(AuditEvent.target_type == "backfill", AuditEvent.target_id == bid)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def test_report_is_reconciled_stored_and_its_hash_audited(db, blobs, settings, clock, history):
    view = _start(db, clock)
    with pytest.raises(bfs.BackfillNotFinished):
        bfs.get_report(db, blobs, OPS, view["id"], "json")
    drain(db, blobs, settings, clock)
    report = bfs.get_report(db, blobs, COMPLIANCE, view["id"], "json")
    doc = json.loads(report.content)
    assert doc["summary"]["processed"] == 4
    assert doc["summary"]["succeeded"] == 3 and doc["summary"]["failed"] == 1
    assert doc["summary"]["skipped"] == 1
    assert doc["failures"] == [
        {
            "message_id": history["dead"].message_id,
            "job_id": history["dead"].job_id,
            "error_code": "validation_failed",
            "error_message": "told to fail permanently",
        }
    ]
    text = report.content.decode()
    with db.session() as s:
        for m in s.execute(select(Message)).scalars():
            # Ids and codes only: no payload bytes in the report.
            assert 'permanent"' not in text.replace('"told to fail permanently"', "")
            assert m.blob_key not in text
    # The audit log holds the SHA-256 of exactly these bytes, and the chain is intact.
    with db.session() as s:
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "backfill.report")
        ).scalar_one()
        assert event.after["report_sha256"] == sha256_hex(report.content) == report.sha256
        assert event.actor == "system:carepipe"
        assert verify_chain(s).ok
    csv_file = bfs.get_report(db, blobs, OPS, view["id"], "csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.content.decode())))
    assert len(rows) == 5
    assert rows[0]["outcome"] == "failed" and rows[0]["error_code"] == "validation_failed"
    assert sorted(r["outcome"] or r["reason"] for r in rows) == [
        "failed",
        "same_job",
        "succeeded",
        "succeeded",
        "succeeded",
    ]
    assert event.after["report_csv_sha256"] == sha256_hex(csv_file.content)
    # Reading again neither rewrites the report nor audits it twice.
    bfs.get_backfill(db, blobs, OPS, view["id"])
    assert count_rows(db, AuditEvent, AuditEvent.action == "backfill.report") == 1


def test_outcomes_are_frozen_at_the_end(db, blobs, settings, clock, history):
    first = _start(db, clock)
    drain(db, blobs, settings, clock)
    bfs.get_backfill(db, blobs, OPS, first["id"])
    _start(db, clock)  # re-runs the same jobs: the first backfill's report must not move
    after = bfs.get_backfill(db, blobs, OPS, first["id"])
    assert (after["succeeded"], after["failed"], after["remaining"]) == (3, 1, 0)


def test_waiting_review_and_media_checks_skip(db, blobs, settings, clock):
    from carepipe.pipelines.registry import Pipeline, Stage, register
    from tests.support.pipelines import first as first_stage

    register(Pipeline("bf_images", (Stage("bf_img", first_stage),), accepts=("image/*",)))
    rejected(db, blobs, {"x": 1}, pipeline="bf_images")  # JSON, but the pipeline takes images
    held = accepted(db, blobs, {"n": 1})
    drain(db, blobs, settings, clock)
    with db.transaction() as s:
        s.get(Job, held.job_id).status = "waiting_review"
    view = _start(db, clock, pipeline="bf_images")
    assert view["skipped_reasons"] == {"media_not_accepted": 1, "waiting_review": 1}
    assert view["enqueued"] == 0
    assert bfs.get_backfill(db, blobs, OPS, view["id"])["status"] == "completed"


def test_permissions_and_validation(db, blobs, clock, history):
    with pytest.raises(PermissionDenied):
        bfs.start_backfill(
            db, CLINICIAN, archive_filter=_window(clock), pipeline="two_step", rate_per_minute=10
        )
    with pytest.raises(PermissionDenied):
        bfs.start_backfill(
            db, COMPLIANCE, archive_filter=_window(clock), pipeline="two_step", rate_per_minute=10
        )
    with pytest.raises(UnknownPipeline):
        _start(db, clock, pipeline="nope")
    with pytest.raises(InvalidRequest):
        _start(db, clock, rate=0)
    with pytest.raises(InvalidRequest):
        _start(db, clock, f=ArchiveFilter(pipeline="two_step"))  # no date range
    view = _start(db, clock)
    with pytest.raises(PermissionDenied):
        bfs.pause_backfill(db, COMPLIANCE, view["id"])
    with pytest.raises(PermissionDenied):
        bfs.get_backfill(db, blobs, CLINICIAN, view["id"])
    assert bfs.get_backfill(db, blobs, COMPLIANCE, view["id"])["id"] == view["id"]
    with db.session() as s:
        assert [b["id"] for b in bfs.list_backfills(s, COMPLIANCE)] == [view["id"]]


def test_metrics_at_scrape_time(db, blobs, settings, clock, history):
    install_queue_collector(db)
    bfs.install_backfill_collector(db)
    before = REGISTRY.get_sample_value("carepipe_backfill_started_total", {"pipeline": "two_step"})
    view = _start(db, clock)
    after = REGISTRY.get_sample_value("carepipe_backfill_started_total", {"pipeline": "two_step"})
    assert after == (before or 0) + 1
    labels = {"backfill": view["id"], "pipeline": "two_step"}
    assert (
        REGISTRY.get_sample_value("carepipe_backfill_items", {**labels, "state": "remaining"}) == 4
    )
    assert REGISTRY.get_sample_value("carepipe_backfill_items", {**labels, "state": "skipped"}) == 1
    assert b"carepipe_backfill_eta_seconds" in generate_latest(REGISTRY)
    drain(db, blobs, settings, clock)
    bfs.finalize_due(db, blobs)
    # Finished backfills leave the per-backfill series (bounded label sets).
    assert (
        REGISTRY.get_sample_value("carepipe_backfill_items", {**labels, "state": "remaining"})
        is None
    )
    assert REGISTRY.get_sample_value("carepipe_backfills", {"status": "completed"}) == 1


def test_concurrent_overlapping_backfills_queue_each_job_once(db, blobs, settings, clock):
    for n in range(6):
        accepted(db, blobs, {"n": n})
        rejected(db, blobs, {"r": n})  # jobless: both backfills race to create its job
    drain(db, blobs, settings, clock)
    jobs_before = count_rows(db, Job)
    views: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait(5)
            views.append(_start(db, clock, batch=2))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(v["enqueued"] for v in views) == 12  # every message queued exactly once
    assert sum(v["skipped"] for v in views) == 12
    assert count_rows(db, Job) == jobs_before + 6  # one job per jobless message, not two
    with db.session() as s:
        queued = (
            s.execute(
                select(Task.job_id).where(Task.queue.like("backfill-%"), Task.status == "ready")
            )
            .scalars()
            .all()
        )
    assert len(queued) == len(set(queued)) == 12


@pytest.mark.parametrize(
    ("pipeline", "rate", "dated", "error"),
    [
        ("", 60.0, True, "choose the pipeline to replay into"),
        ("nope", 60.0, True, "unknown pipeline 'nope'"),
        ("two_step", 0.0, True, "rate per minute must be between 1 and 60000"),
        ("two_step", 60_001.0, True, "rate per minute must be between 1 and 60000"),
        ("two_step", 60.0, False, "a backfill needs a date range (since and until)"),
    ],
)
def test_preview_and_start_apply_the_same_rules(db, clock, history, pipeline, rate, dated, error):
    f = _window(clock) if dated else ArchiveFilter(pipeline="two_step")
    with pytest.raises((InvalidRequest, UnknownPipeline)) as on_start:
        _start(db, clock, f=f, pipeline=pipeline, rate=rate)
    with db.session() as s, pytest.raises((InvalidRequest, UnknownPipeline)) as on_preview:
        bfs.preview_backfill(s, OPS, archive_filter=f, pipeline=pipeline, rate_per_minute=rate)
    assert on_start.value.message == on_preview.value.message == error
    assert count_rows(db, BackfillItem) == 0


def test_preview_counts_what_start_selects(db, clock, history):
    with db.session() as s:
        preview = bfs.preview_backfill(
            s, OPS, archive_filter=_window(clock), pipeline="two_step", rate_per_minute=30
        )
        with pytest.raises(PermissionDenied):
            bfs.preview_backfill(
                s,
                COMPLIANCE,
                archive_filter=_window(clock),
                pipeline="two_step",
                rate_per_minute=30,
            )
    assert (preview.total, len(preview.sample), preview.minutes) == (5, 5, 5 / 30)
    assert _start(db, clock)["matched"] == preview.total
