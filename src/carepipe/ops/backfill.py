"""Backfills: replay archived messages into a pipeline, throttled, pausable, reconciled.

How it works:

- **Selection**: the archive filter (``carepipe.ops.archive``) picks messages,
  walked in (received_at, id) order in batches; each batch is one transaction
  (its jobs, tasks, items, counters), so workers start on the first batch while
  later ones are still being planned.
- **Idempotency**: a message's job is found by the job's ``message_id``, by
  ``duplicate_of_job`` for a duplicate submission, or by the idempotency key a
  job created for it would carry (``message:<id>`` unless the message recorded
  its own). An existing job is *re-run*: a fresh first-stage task with
  ``replay=true``, the job back to ``queued`` — by a conditional UPDATE that only
  moves a job that has ended (succeeded, dead, cancelled), so an overlapping
  backfill or a DLQ replay that got there first wins and this one skips the item.
  A message without a job gets one on its archived message row and blob (no
  second copy of the bytes); the (tenant, idempotency key) unique constraint makes
  a race between two backfills create it once. The job's dead tasks are marked
  ``cancelled`` (superseded by the re-run) so they leave the DLQ and cannot be
  replayed on top of it. FHIR pushes downstream are conditional, so a re-run
  never creates a second bundle.
- **Throttle**: first-stage tasks go on the backfill's own queue
  ``backfill-<id>`` (stage unchanged), rate-limited with the queue's token bucket
  (``carepipe.core.queue.set_rate_limit``), which every worker honours at claim
  time; later stages go to the normal queues. Pause/resume is that queue's pause.
  Cancel marks its ready tasks ``cancelled`` and restores their jobs' earlier state.
- **Finalisation**: once every queued item's job has ended and nothing is left
  on the queue, the items' outcomes are frozen, the reconciliation report (JSON
  and CSV, no PHI) goes to the blob store, and an audit event records both
  SHA-256s (the signed artifact for an RCA). Reads of a backfill finalise it
  when due; ``finalize_due`` does it for all (scheduler, CLI).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import SYSTEM, Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import (
    BackfillNotFinished,
    BackfillStateConflict,
    Conflict,
    InvalidRequest,
    NotFound,
)
from carepipe.core.models import Job, Message, QueueControl, Task, new_id
from carepipe.core.queue import JobStatus, TaskStatus
from carepipe.core.queue import control as queue_control
from carepipe.core.queue.wakeup import notify_in_transaction
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import REGISTRY
from carepipe.ops.archive import ArchiveFilter, after_cursor, matching
from carepipe.ops.backfill_models import Backfill, BackfillItem
from carepipe.pipelines.registry import Pipeline, get_pipeline

log = get_logger("carepipe.backfill")

BATCH = 500
MAX_RATE_PER_MINUTE = 60_000.0
RATE_WINDOW = timedelta(minutes=5)
BACKFILL_PRIORITY = 0  # "low": live traffic on the shared later-stage queues goes first
QUEUE_PREFIX = "backfill-"

# Jobs that have ended may be re-run; queued/running ones belong to someone else.
RERUNNABLE = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED)
ACTIVE = ("planning", "running", "paused")
FINAL = ("completed", "cancelled")
OUTCOME_OF_JOB = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.DEAD: "failed",
    JobStatus.WAITING_REVIEW: "waiting_review",
    JobStatus.CANCELLED: "cancelled",
}
OUTCOMES = ("succeeded", "failed", "waiting_review", "cancelled")
CSV_COLUMNS = ("message_id", "job_id", "action", "reason", "outcome", "error_code", "error_message")

BACKFILLS_STARTED = Counter(
    "carepipe_backfill_started",
    "Backfills started.",
    ["pipeline"],
    registry=REGISTRY,
)
BACKFILL_ITEMS_QUEUED = Counter(
    "carepipe_backfill_items_queued",
    "Archived messages queued for reprocessing by backfills, by action (rerun, created).",
    ["action"],
    registry=REGISTRY,
)


# -- helpers -------------------------------------------------------------------------------


def queue_name(backfill_id: str) -> str:
    return f"{QUEUE_PREFIX}{backfill_id}"


def _accepts(pipe: Pipeline, kind: str) -> bool:
    if not pipe.accepts:
        return True
    base = kind.split(";", 1)[0].strip().lower()
    return any(p == base or (p.endswith("/*") and base.startswith(p[:-1])) for p in pipe.accepts)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    bf: Backfill,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> int:
    event = audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=bf.filter.get("tenant"),
        action=action,
        target_type="backfill",
        target_id=bf.id,
        before=before,
        after=after,
        reason=reason,
    )
    return event.id


def _get(
    session: Session, principal: Principal, backfill_id: str, *, lock: bool = False
) -> Backfill:
    stmt = select(Backfill).where(Backfill.id == backfill_id)
    if lock:
        stmt = stmt.with_for_update()
    bf = session.execute(stmt).scalar_one_or_none()
    tenant = bf.filter.get("tenant") if bf is not None else None
    if bf is None or (principal.tenant is not None and tenant != principal.tenant):
        raise NotFound("no such backfill")
    return bf


# -- start ---------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What one planning batch did (written to the items table in one go)."""

    items: list[dict[str, Any]]
    enqueued: int = 0
    skipped: int = 0


def start_backfill(
    db: Database,
    principal: Principal,
    *,
    archive_filter: ArchiveFilter,
    pipeline: str,
    rate_per_minute: float,
    reason: str | None = None,
    max_attempts: int = 5,
    batch: int = BATCH,
) -> dict[str, Any]:
    """Select the archived messages matching ``archive_filter`` and queue them on ``pipeline``.

    Returns the backfill's view (see ``backfill_view``). Audited as
    ``backfill.start``; needs ``backfill.run``.
    """
    require(principal, "backfill.run")
    pipe = get_pipeline(pipeline)
    if not 0 < rate_per_minute <= MAX_RATE_PER_MINUTE:
        raise InvalidRequest(f"rate_per_minute must be between 1 and {MAX_RATE_PER_MINUTE:g}")
    if archive_filter.since is None or archive_filter.until is None:
        raise InvalidRequest("a backfill needs a date range (since and until)")
    if principal.tenant is not None:
        archive_filter = dataclasses.replace(archive_filter, tenant=principal.tenant)
    now = utcnow()
    with db.transaction() as s:
        bf = Backfill(
            status="planning",
            pipeline=pipe.name,
            filter=archive_filter.to_dict(),
            rate_per_minute=float(rate_per_minute),
            queue="",
            reason=reason,
            created_by=principal.actor,
            created_role=principal.role,
            created_at=now,
            updated_at=now,
            rate_since=now,
            matched=0,
            enqueued=0,
            skipped=0,
        )
        s.add(bf)
        s.flush()
        bf.queue = queue_name(bf.id)
        queue_control.set_rate_limit(s, bf.queue, float(rate_per_minute))
        _audit(
            s,
            principal,
            "backfill.start",
            bf,
            after={
                "pipeline": pipe.name,
                "filter": bf.filter,
                "rate_per_minute": bf.rate_per_minute,
                "queue": bf.queue,
            },
            reason=reason,
        )
        backfill_id = bf.id
    BACKFILLS_STARTED.labels(pipe.name).inc()
    log.info("backfill.start", backfill_id=backfill_id, pipeline=pipe.name, rate=rate_per_minute)

    cursor: tuple[datetime, str] | None = None
    seen_jobs: set[str] = set()
    while True:
        with db.transaction() as s:
            bf = _get(s, principal, backfill_id, lock=True)
            if bf.status == "cancelled":
                break  # cancelled while planning: stop selecting
            stmt = matching(principal, archive_filter)
            if cursor is not None:
                stmt = after_cursor(stmt, cursor, newest_first=False)
            rows = s.execute(stmt.order_by(Message.received_at, Message.id).limit(batch)).all()
            if not rows:
                break
            plan = _plan_batch(s, bf, pipe, rows, seen_jobs, max_attempts=max_attempts)
            if plan.items:
                s.execute(BackfillItem.__table__.insert(), plan.items)
            bf.matched += len(rows)
            bf.enqueued += plan.enqueued
            bf.skipped += plan.skipped
            bf.updated_at = utcnow()
            last = rows[-1][0]
            cursor = (last.received_at, last.id)
        if db.is_sqlite and plan.enqueued:
            db.signal()
        if len(rows) < batch:
            break
    with db.transaction() as s:
        bf = _get(s, principal, backfill_id, lock=True)
        bf.planned_at = utcnow()
        if bf.status == "planning":
            bf.status = "running"
        bf.updated_at = utcnow()
    log.info("backfill.planned", backfill_id=backfill_id)
    with db.session() as s:
        return backfill_view(s, _get(s, principal, backfill_id))


def _plan_batch(
    session: Session,
    bf: Backfill,
    pipe: Pipeline,
    rows: list[Any],
    seen_jobs: set[str],
    *,
    max_attempts: int,
) -> _Plan:
    """Decide and queue one batch with a handful of set-based statements (not per message)."""
    plan = _Plan(items=[])
    now = utcnow()
    first = pipe.first()

    # 1. Which job each message already has: by message id (the outer join), by
    #    ``duplicate_of_job``, or by the idempotency key a job made for it carries.
    keys: dict[str, str] = {}
    job_of: dict[str, str | None] = {}
    dup_wanted: dict[str, str] = {}
    for msg, job in rows:
        keys[msg.id] = (msg.meta or {}).get("idempotency_key") or f"message:{msg.id}"
        job_of[msg.id] = job.id if job is not None else None
        if job is None and msg.status == "duplicate" and (msg.meta or {}).get("duplicate_of_job"):
            dup_wanted[msg.id] = msg.meta["duplicate_of_job"]
    if dup_wanted:
        found = set(
            session.execute(select(Job.id).where(Job.id.in_(set(dup_wanted.values())))).scalars()
        )
        for mid, jid in dup_wanted.items():
            if jid in found:
                job_of[mid] = jid
    jobless = [msg for msg, _ in rows if job_of[msg.id] is None]
    if jobless:
        by_key = {
            (t, k): jid
            for jid, t, k in session.execute(
                select(Job.id, Job.tenant, Job.idempotency_key).where(
                    Job.idempotency_key.in_({keys[m.id] for m in jobless})
                )
            ).all()
        }
        for msg in jobless:
            job_of[msg.id] = by_key.get((msg.tenant, keys[msg.id]))

    # 2. Messages that never got a job get one, on their archived row and blob.
    to_create = [m for m in jobless if job_of[m.id] is None and _accepts(pipe, m.kind)]
    created = _create_jobs(session, to_create, pipe, keys, now)
    new_jobs = set(created.values())
    for msg in to_create:
        job_of[msg.id] = created.get(msg.id) or _job_by_key(session, msg.tenant, keys[msg.id])

    # 3. Existing jobs that have ended are claimed for a re-run (one conditional UPDATE).
    rerun_ids = {
        jid
        for mid, jid in job_of.items()
        if jid is not None and jid not in seen_jobs and jid not in new_jobs
    }
    before: dict[str, Any] = {}
    owned: set[str] = set()
    superseded: dict[str, list[int]] = {}
    if rerun_ids:
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
                ).where(Job.id.in_(rerun_ids))
            ).all()
        }
        owned = set(
            session.execute(
                update(Job)
                .where(Job.id.in_(rerun_ids), Job.status.in_(RERUNNABLE))
                .values(
                    status=JobStatus.QUEUED,
                    replay=True,
                    pipeline=pipe.name,
                    current_stage=first.name,
                    error_code=None,
                    error_message=None,
                    finished_at=None,
                    updated_at=now,
                )
                .returning(Job.id),
                execution_options={"synchronize_session": False},
            ).scalars()
        )
        if owned:
            # Dead letters of these jobs are superseded by the re-run: out of the DLQ,
            # and no longer replayable on top of it.
            for tid, jid in session.execute(
                update(Task)
                .where(Task.job_id.in_(owned), Task.status == TaskStatus.DEAD)
                .values(status=TaskStatus.CANCELLED, updated_at=now)
                .returning(Task.id, Task.job_id),
                execution_options={"synchronize_session": False},
            ).all():
                superseded.setdefault(jid, []).append(tid)

    # 4. The items, in selection order; a job is queued once per backfill.
    to_queue: list[str] = []
    for msg, _ in rows:
        item: dict[str, Any] = {
            "backfill_id": bf.id,
            "message_id": msg.id,
            "job_id": job_of[msg.id],
            "task_id": None,
            "action": "skipped",
            "reason": None,
            "prev_job": None,
            "outcome": None,
            "error_code": None,
            "error_message": None,
            "created_at": now,
        }
        jid = job_of[msg.id]
        if jid is None:
            item["reason"] = "media_not_accepted"
        elif jid in seen_jobs:
            item["reason"] = "same_job"
        elif jid in new_jobs:
            item["action"] = "created"
        elif jid in owned:
            b = before[jid]
            item["action"] = "rerun"
            item["prev_job"] = {
                "status": b.status,
                "error_code": b.error_code,
                "error_message": b.error_message,
                "finished_at": _iso(b.finished_at),
                "current_stage": b.current_stage,
                "pipeline": b.pipeline,
                "replay": b.replay,
                "superseded_tasks": superseded.get(jid, []),
            }
        else:
            status = before[jid].status if jid in before else None
            item["reason"] = "waiting_review" if status == JobStatus.WAITING_REVIEW else "in_flight"
        if jid is not None:
            seen_jobs.add(jid)
        if item["action"] == "skipped":
            plan.skipped += 1
        else:
            plan.enqueued += 1
            to_queue.append(jid)  # type: ignore[arg-type]
            BACKFILL_ITEMS_QUEUED.labels(item["action"]).inc()
        plan.items.append(item)

    # 5. Their first-stage tasks, on the backfill's throttled queue (one multi-row INSERT).
    if to_queue:
        attempts = first.max_attempts or max_attempts
        task_rows = [
            {
                "job_id": jid,
                "queue": bf.queue,
                "stage": first.name,
                "status": TaskStatus.READY,
                "priority": BACKFILL_PRIORITY,
                "run_after": now,
                "attempts": 0,
                "max_attempts": attempts,
                "replay": True,
                "created_at": now,
                "updated_at": now,
            }
            for jid in to_queue
        ]
        task_of = {
            jid: tid
            for tid, jid in session.execute(
                insert(Task).returning(Task.id, Task.job_id), task_rows
            ).all()
        }
        for item in plan.items:
            if item["action"] != "skipped":
                item["task_id"] = task_of.get(item["job_id"])
        notify_in_transaction(session, bf.queue)
    return plan


def _create_jobs(
    session: Session, msgs: list[Message], pipe: Pipeline, keys: dict[str, str], now: datetime
) -> dict[str, str]:
    """Jobs for jobless messages; returns message id -> new job id.

    One multi-row INSERT in a savepoint; if another backfill created some of them
    meanwhile (the unique (tenant, idempotency key) refuses), row by row instead,
    and the taken ones are left to the caller to find by key.
    """
    if not msgs:
        return {}
    rows = [
        {
            "id": new_id(),
            "tenant": m.tenant,
            "pipeline": pipe.name,
            "status": JobStatus.QUEUED,
            "priority": BACKFILL_PRIORITY,
            "idempotency_key": keys[m.id],
            "replay": True,
            "current_stage": pipe.first().name,
            "message_id": m.id,
            "created_at": now,
            "updated_at": now,
        }
        for m in msgs
    ]
    try:
        with session.begin_nested():
            session.execute(insert(Job), rows)
        return {r["message_id"]: r["id"] for r in rows}
    except IntegrityError:
        pass
    made: dict[str, str] = {}
    for r in rows:
        try:
            with session.begin_nested():
                session.execute(insert(Job), [r])
            made[r["message_id"]] = r["id"]
        except IntegrityError:
            continue
    return made


def _job_by_key(session: Session, tenant: str, key: str) -> str | None:
    return session.execute(
        select(Job.id).where(Job.tenant == tenant, Job.idempotency_key == key)
    ).scalar_one_or_none()


# -- pause, resume, cancel -----------------------------------------------------------------


def pause_backfill(
    session: Session, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> Backfill:
    """Stop handing out the backfill's tasks (its queue's pause). Audited."""
    require(principal, "backfill.run")
    bf = _get(session, principal, backfill_id, lock=True)
    if bf.status not in ("planning", "running"):
        raise BackfillStateConflict(f"backfill is {bf.status}; only a running one can be paused")
    before = bf.status
    queue_control.pause(session, bf.queue)
    bf.status = "paused"
    bf.updated_at = utcnow()
    _audit(
        session,
        principal,
        "backfill.pause",
        bf,
        before={"status": before},
        after={"status": bf.status},
        reason=reason,
    )
    return bf


def resume_backfill(
    session: Session, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> Backfill:
    """Hand out the backfill's tasks again, at its rate. Audited."""
    require(principal, "backfill.run")
    bf = _get(session, principal, backfill_id, lock=True)
    if bf.status != "paused":
        raise BackfillStateConflict(f"backfill is {bf.status}; only a paused one can be resumed")
    queue_control.resume(session, bf.queue)
    now = utcnow()
    bf.status = "running" if bf.planned_at is not None else "planning"
    bf.rate_since = now
    bf.updated_at = now
    _audit(
        session,
        principal,
        "backfill.resume",
        bf,
        before={"status": "paused"},
        after={"status": bf.status},
        reason=reason,
    )
    return bf


def cancel_backfill(
    session: Session, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> Backfill:
    """Cancel the backfill's waiting tasks and give their jobs back their earlier state.

    Tasks already running finish (with their later stages); the report follows
    once they have. Audited.
    """
    require(principal, "backfill.run")
    bf = _get(session, principal, backfill_id, lock=True)
    if bf.status not in ACTIVE:
        raise BackfillStateConflict(f"backfill is {bf.status}; it cannot be cancelled")
    before = bf.status
    now = utcnow()
    cancelled = session.execute(
        update(Task)
        .where(Task.queue == bf.queue, Task.status == TaskStatus.READY)
        .values(status=TaskStatus.CANCELLED, updated_at=now, finished_at=now)
        .returning(Task.id, Task.job_id),
        execution_options={"synchronize_session": False},
    ).all()
    job_ids = [job_id for _, job_id in cancelled]
    for chunk_start in range(0, len(job_ids), 500):
        chunk = job_ids[chunk_start : chunk_start + 500]
        items = session.execute(
            select(BackfillItem).where(
                BackfillItem.backfill_id == bf.id, BackfillItem.job_id.in_(chunk)
            )
        ).scalars()
        for item in items:
            if item.action == "skipped":
                continue
            _restore_job(session, item, now)
            item.outcome = "cancelled"
    # In-flight tasks may come back for a retry: they must be able to finish.
    queue_control.resume(session, bf.queue)
    bf.status = "cancelled"
    bf.cancelled_at = now
    bf.updated_at = now
    _audit(
        session,
        principal,
        "backfill.cancel",
        bf,
        before={"status": before},
        after={"status": "cancelled", "tasks_cancelled": len(cancelled)},
        reason=reason,
    )
    return bf


def _restore_job(session: Session, item: BackfillItem, now: datetime) -> None:
    prev = item.prev_job
    waiting = Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
    if item.action == "created" or not prev:
        values: dict[str, Any] = {"status": JobStatus.CANCELLED, "updated_at": now}
    else:
        finished = prev.get("finished_at")
        values = {
            "status": prev["status"],
            "error_code": prev.get("error_code"),
            "error_message": prev.get("error_message"),
            "finished_at": datetime.fromisoformat(finished) if finished else None,
            "current_stage": prev.get("current_stage"),
            "pipeline": prev.get("pipeline"),
            "replay": bool(prev.get("replay")),
            "updated_at": now,
        }
        superseded = prev.get("superseded_tasks") or []
        if superseded:
            session.execute(
                update(Task)
                .where(Task.id.in_(superseded), Task.status == TaskStatus.CANCELLED)
                .values(status=TaskStatus.DEAD, updated_at=now),
                execution_options={"synchronize_session": False},
            )
    session.execute(
        update(Job).where(Job.id == item.job_id, waiting).values(**values),
        execution_options={"synchronize_session": False},
    )


# -- progress ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    matched: int
    enqueued: int
    skipped: int
    skipped_reasons: dict[str, int]
    succeeded: int
    failed: int
    waiting_review: int
    cancelled: int
    remaining: int
    waiting_tasks: int
    observed_rate_per_minute: float | None
    eta_seconds: float | None

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed + self.waiting_review

    @property
    def percent(self) -> float:
        done = self.processed + self.cancelled
        return round(100.0 * done / self.enqueued, 1) if self.enqueued else 100.0

    def summary(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "enqueued": self.enqueued,
            "skipped": self.skipped,
            "skipped_reasons": self.skipped_reasons,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "waiting_review": self.waiting_review,
            "cancelled": self.cancelled,
            "remaining": self.remaining,
        }


def progress(session: Session, bf: Backfill, now: datetime | None = None) -> Progress:
    """Live counts: from the items' frozen outcomes, else from their jobs' status."""
    now = now or utcnow()
    counts = dict.fromkeys(OUTCOMES, 0)
    remaining = skipped = 0
    reasons: dict[str, int] = {}
    rows = session.execute(
        select(
            BackfillItem.action, BackfillItem.reason, BackfillItem.outcome, Job.status, func.count()
        )
        .outerjoin(Job, Job.id == BackfillItem.job_id)
        .where(BackfillItem.backfill_id == bf.id)
        .group_by(BackfillItem.action, BackfillItem.reason, BackfillItem.outcome, Job.status)
    ).all()
    for action, reason, outcome, job_status, n in rows:
        if action == "skipped":
            skipped += n
            reasons[reason or "unknown"] = reasons.get(reason or "unknown", 0) + n
            continue
        state = outcome or OUTCOME_OF_JOB.get(job_status)
        if state in counts:
            counts[state] += n
        else:
            remaining += n
    enqueued = sum(counts.values()) + remaining
    waiting = 0
    observed: float | None = None
    eta: float | None = None
    if bf.finished_at is None:
        waiting = int(
            session.execute(
                select(func.count())
                .select_from(Task)
                .where(Task.queue == bf.queue, Task.status == TaskStatus.READY)
            ).scalar_one()
        )
        # The rate is measured over running time only: while paused, the window ends
        # when the pause began (the queue's switch time), so the figure stays what it
        # was instead of falling as if the throttle were failing.
        end = min(_paused_at(session, bf), now) if bf.status == "paused" else now
        since = max(bf.rate_since or bf.created_at, end - RATE_WINDOW)
        minutes = (end - since).total_seconds() / 60.0
        claims = int(
            session.execute(
                select(func.count())
                .select_from(Task)
                .where(Task.queue == bf.queue, Task.started_at >= since, Task.started_at <= end)
            ).scalar_one()
        )
        if minutes >= 1 / 6 and claims:  # at least 10 s of observation
            observed = round(claims / minutes, 2)
        if bf.status == "paused":
            eta = None
        elif remaining == 0:
            eta = 0.0
        else:
            rate = min(observed or bf.rate_per_minute, bf.rate_per_minute)
            # Waiting tasks drain at the rate; those already claimed are about done.
            eta = round(max(waiting, 0) / rate * 60.0, 1)
    return Progress(
        matched=bf.matched,
        enqueued=enqueued,
        skipped=skipped,
        skipped_reasons=reasons,
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        waiting_review=counts["waiting_review"],
        cancelled=counts["cancelled"],
        remaining=remaining,
        waiting_tasks=waiting,
        observed_rate_per_minute=observed,
        eta_seconds=eta,
    )


def _paused_at(session: Session, bf: Backfill) -> datetime:
    """When the backfill's queue was paused (its control row's last switch)."""
    at = session.execute(
        select(QueueControl.updated_at).where(QueueControl.name == bf.queue)
    ).scalar_one_or_none()
    if at is None:
        at = bf.updated_at
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def backfill_view(session: Session, bf: Backfill, prog: Progress | None = None) -> dict[str, Any]:
    """Everything the API, console and CLI show about one backfill (JSON-ready)."""
    prog = prog or progress(session, bf)
    view: dict[str, Any] = {
        "id": bf.id,
        "status": bf.status,
        "pipeline": bf.pipeline,
        "filter": bf.filter,
        "rate_per_minute": bf.rate_per_minute,
        "queue": bf.queue,
        "reason": bf.reason,
        "created_by": bf.created_by,
        "created_at": _iso(bf.created_at),
        "planned_at": _iso(bf.planned_at),
        "cancelled_at": _iso(bf.cancelled_at),
        "finished_at": _iso(bf.finished_at),
        **prog.summary(),
        "percent": prog.percent,
        "waiting_tasks": prog.waiting_tasks,
        "observed_rate_per_minute": prog.observed_rate_per_minute,
        "eta_seconds": prog.eta_seconds,
        "report": None,
    }
    if bf.finished_at is not None:
        view["report"] = {
            "sha256": bf.report_sha256,
            "csv_sha256": bf.report_csv_sha256,
            "audit_event_id": bf.audit_event_id,
            "json_url": f"/v1/backfills/{bf.id}/report?format=json",
            "csv_url": f"/v1/backfills/{bf.id}/report?format=csv",
        }
    return view


# -- finalisation and the report -----------------------------------------------------------


def _is_due(session: Session, bf: Backfill) -> bool:
    if bf.finished_at is not None or bf.status == "planning":
        return False
    if bf.status not in ("running", "paused", "cancelled"):
        return False
    prog = progress(session, bf)
    if prog.remaining:
        return False
    busy = session.execute(
        select(func.count())
        .select_from(Task)
        .where(Task.queue == bf.queue, Task.status.in_((TaskStatus.READY, TaskStatus.LEASED)))
    ).scalar_one()
    return not busy


def finalize_if_due(db: Database, blobs: BlobStore, backfill_id: str) -> bool:
    """Freeze outcomes, store the report and audit its SHA-256 once the backfill is done.

    Safe to call from every reader at once: the backfill row is locked and the
    check repeated inside the transaction, so the report is written once.
    """
    with db.session() as s:
        bf = s.get(Backfill, backfill_id)
        if bf is None or not _is_due(s, bf):
            return False
    with db.transaction() as s:
        bf = s.execute(
            select(Backfill).where(Backfill.id == backfill_id).with_for_update()
        ).scalar_one()
        if not _is_due(s, bf):
            return False
        now = utcnow()
        _freeze_outcomes(s, bf)
        prog = progress(s, bf, now)
        items = list(
            s.execute(
                select(BackfillItem)
                .where(BackfillItem.backfill_id == bf.id)
                .order_by(BackfillItem.id)
            ).scalars()
        )
        bf.status = "cancelled" if bf.status == "cancelled" else "completed"
        bf.finished_at = now
        bf.updated_at = now
        report_json, report_csv = build_report(bf, prog, items, generated_at=now)
        bf.report_json_key = blobs.put(report_json)
        bf.report_csv_key = blobs.put(report_csv)
        bf.report_sha256 = sha256_hex(report_json)
        bf.report_csv_sha256 = sha256_hex(report_csv)
        bf.summary = prog.summary()
        bf.audit_event_id = _audit(
            s,
            SYSTEM,
            "backfill.report",
            bf,
            after={
                "status": bf.status,
                **{k: v for k, v in prog.summary().items() if k != "skipped_reasons"},
                "report_sha256": bf.report_sha256,
                "report_csv_sha256": bf.report_csv_sha256,
                "report_blob": bf.report_json_key,
            },
            reason=f"reconciliation report of backfill {bf.id}",
        )
        # The throttle's queue row has done its job; claims read every row, so keep it short.
        s.execute(delete(QueueControl).where(QueueControl.name == bf.queue))
    log.info("backfill.finished", backfill_id=backfill_id)
    return True


def _freeze_outcomes(session: Session, bf: Backfill) -> None:
    rows = session.execute(
        select(BackfillItem.id, Job.status, Job.error_code, Job.error_message)
        .join(Job, Job.id == BackfillItem.job_id)
        .where(
            BackfillItem.backfill_id == bf.id,
            BackfillItem.action != "skipped",
            BackfillItem.outcome.is_(None),
        )
    ).all()
    updates = []
    for item_id, status, code, message in rows:
        outcome = OUTCOME_OF_JOB.get(status, "failed")
        failed = outcome == "failed"
        updates.append(
            {
                "id": item_id,
                "outcome": outcome,
                "error_code": code if failed else None,
                "error_message": message if failed else None,
            }
        )
    if updates:
        session.execute(update(BackfillItem), updates)


def finalize_due(db: Database, blobs: BlobStore) -> list[str]:
    """Finalise every active backfill whose work is done (for a scheduler or the CLI)."""
    with db.session() as s:
        ids = list(
            s.execute(
                select(Backfill.id).where(
                    Backfill.finished_at.is_(None),
                    Backfill.status.in_(("running", "paused", "cancelled")),
                )
            ).scalars()
        )
    return [i for i in ids if finalize_if_due(db, blobs, i)]


def build_report(
    bf: Backfill, prog: Progress, items: list[BackfillItem], *, generated_at: datetime
) -> tuple[bytes, bytes]:
    """The reconciliation report as (JSON, CSV) bytes. Ids, states and error codes only: no PHI."""
    failures = [
        {
            "message_id": i.message_id,
            "job_id": i.job_id,
            "error_code": i.error_code,
            "error_message": i.error_message,
        }
        for i in items
        if i.outcome == "failed"
    ]
    doc = {
        "report": "carepipe.backfill.reconciliation/1",
        "generated_at": generated_at.isoformat(),
        "backfill": {
            "id": bf.id,
            "status": bf.status,
            "pipeline": bf.pipeline,
            "filter": bf.filter,
            "rate_per_minute": bf.rate_per_minute,
            "created_by": bf.created_by,
            "created_at": _iso(bf.created_at),
            "cancelled_at": _iso(bf.cancelled_at),
            "finished_at": _iso(bf.finished_at),
            "reason": bf.reason,
        },
        "summary": prog.summary(),
        "failures": failures,
        "skipped": [
            {"message_id": i.message_id, "job_id": i.job_id, "reason": i.reason}
            for i in items
            if i.action == "skipped"
        ],
        "cancelled": [
            {"message_id": i.message_id, "job_id": i.job_id}
            for i in items
            if i.outcome == "cancelled"
        ],
        "items": [[i.message_id, i.job_id, i.action, i.outcome or i.reason] for i in items],
        "items_columns": ["message_id", "job_id", "action", "outcome_or_reason"],
    }
    report_json = json.dumps(doc, indent=2, sort_keys=True).encode()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    # Failures first: they are what the reader came for.
    order = {"failed": 0, "cancelled": 1, None: 2}
    for i in sorted(items, key=lambda i: (order.get(i.outcome, 3), i.id)):
        writer.writerow(
            [
                i.message_id,
                i.job_id or "",
                i.action,
                i.reason or "",
                i.outcome or "",
                i.error_code or "",
                i.error_message or "",
            ]
        )
    return report_json, buf.getvalue().encode()


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    media_type: str
    filename: str
    sha256: str


def get_report(
    db: Database, blobs: BlobStore, principal: Principal, backfill_id: str, fmt: str = "json"
) -> ReportFile:
    """The stored report (checked against the SHA-256 the audit log recorded)."""
    require(principal, "backfill.read")
    if fmt not in ("json", "csv"):
        raise InvalidRequest("format must be json or csv")
    finalize_if_due(db, blobs, backfill_id)
    with db.session() as s:
        bf = _get(s, principal, backfill_id)
        if bf.finished_at is None:
            raise BackfillNotFinished(
                f"the report is written when the backfill has finished ({bf.status} now)"
            )
        key, digest = (
            (bf.report_json_key, bf.report_sha256)
            if fmt == "json"
            else (bf.report_csv_key, bf.report_csv_sha256)
        )
    assert key is not None and digest is not None
    content = blobs.get(key)
    if sha256_hex(content) != digest:
        raise Conflict("stored report does not match its recorded SHA-256")
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return ReportFile(content, media, f"backfill-{backfill_id}-report.{fmt}", digest)


# -- reading -------------------------------------------------------------------------------


def get_backfill(
    db: Database, blobs: BlobStore, principal: Principal, backfill_id: str
) -> dict[str, Any]:
    """One backfill's view, finalising it first when its work is done."""
    require(principal, "backfill.read")
    with db.session() as s:
        _get(s, principal, backfill_id)
    finalize_if_due(db, blobs, backfill_id)
    with db.session() as s:
        return backfill_view(s, _get(s, principal, backfill_id))


def list_backfills(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    limit: int = 50,
    before: tuple[datetime, str] | None = None,
) -> list[dict[str, Any]]:
    """Backfills, newest first (keyset ``before`` = (created_at, id) of the last row)."""
    require(principal, "backfill.read")
    if not 1 <= limit <= 200:
        raise InvalidRequest("limit must be between 1 and 200")
    stmt = select(Backfill)
    if status:
        stmt = stmt.where(Backfill.status == status)
    if before:
        ts, bid = before
        stmt = stmt.where(
            or_(Backfill.created_at < ts, and_(Backfill.created_at == ts, Backfill.id < bid))
        )
    rows = session.execute(
        stmt.order_by(Backfill.created_at.desc(), Backfill.id.desc()).limit(limit)
    ).scalars()
    out = []
    for bf in rows:
        if principal.tenant is not None and bf.filter.get("tenant") != principal.tenant:
            continue
        if bf.summary is not None:
            out.append(_summary_view(bf))
        else:
            out.append(backfill_view(session, bf))
    return out


def _summary_view(bf: Backfill) -> dict[str, Any]:
    s = bf.summary or {}
    enqueued = s.get("enqueued", 0)
    done = s.get("processed", 0) + s.get("cancelled", 0)
    return {
        "id": bf.id,
        "status": bf.status,
        "pipeline": bf.pipeline,
        "filter": bf.filter,
        "rate_per_minute": bf.rate_per_minute,
        "queue": bf.queue,
        "reason": bf.reason,
        "created_by": bf.created_by,
        "created_at": _iso(bf.created_at),
        "planned_at": _iso(bf.planned_at),
        "cancelled_at": _iso(bf.cancelled_at),
        "finished_at": _iso(bf.finished_at),
        **s,
        "percent": round(100.0 * done / enqueued, 1) if enqueued else 100.0,
        "waiting_tasks": 0,
        "observed_rate_per_minute": None,
        "eta_seconds": None,
        "report": {
            "sha256": bf.report_sha256,
            "csv_sha256": bf.report_csv_sha256,
            "audit_event_id": bf.audit_event_id,
            "json_url": f"/v1/backfills/{bf.id}/report?format=json",
            "csv_url": f"/v1/backfills/{bf.id}/report?format=csv",
        },
    }


def list_items(
    session: Session,
    principal: Principal,
    backfill_id: str,
    *,
    only: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The backfill's items (``only``: failed, skipped, cancelled), in selection order."""
    require(principal, "backfill.read")
    bf = _get(session, principal, backfill_id)
    stmt = (
        select(BackfillItem, Job.status, Job.error_code, Job.error_message)
        .outerjoin(Job, Job.id == BackfillItem.job_id)
        .where(BackfillItem.backfill_id == bf.id, BackfillItem.id > after_id)
    )
    if only == "skipped":
        stmt = stmt.where(BackfillItem.action == "skipped")
    elif only == "cancelled":
        stmt = stmt.where(BackfillItem.outcome == "cancelled")
    elif only == "failed":
        stmt = stmt.where(
            BackfillItem.action != "skipped",
            or_(
                BackfillItem.outcome == "failed",
                and_(BackfillItem.outcome.is_(None), Job.status == JobStatus.DEAD),
            ),
        )
    elif only:
        raise InvalidRequest("only must be failed, skipped or cancelled")
    out = []
    for item, job_status, code, message in session.execute(
        stmt.order_by(BackfillItem.id).limit(limit)
    ).all():
        outcome = item.outcome
        if outcome is None and item.action != "skipped":
            outcome = OUTCOME_OF_JOB.get(job_status, "remaining")
        failed = outcome == "failed"
        out.append(
            {
                "item_id": item.id,
                "message_id": item.message_id,
                "job_id": item.job_id,
                "action": item.action,
                "reason": item.reason,
                "outcome": outcome,
                "error_code": item.error_code or (code if failed else None),
                "error_message": item.error_message or (message if failed else None),
            }
        )
    return out


# -- metrics -------------------------------------------------------------------------------


class BackfillCollector(Collector):
    """``carepipe_backfill_items{backfill,state}`` and friends, counted at scrape time."""

    def __init__(self) -> None:
        self.db: Database | None = None

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def _database(self) -> Database | None:
        if self.db is not None:
            return self.db
        # The API and worker processes point the queue collector at their database.
        from carepipe.observability import metrics

        return metrics._collector.db if metrics._collector is not None else None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = self._database()
        if db is None:
            return
        items = GaugeMetricFamily(
            "carepipe_backfill_items",
            "Items of unfinished backfills by state (succeeded, failed, waiting_review, "
            "cancelled, skipped, remaining).",
            labels=["backfill", "pipeline", "state"],
        )
        eta = GaugeMetricFamily(
            "carepipe_backfill_eta_seconds", "Estimated seconds left.", labels=["backfill"]
        )
        rate = GaugeMetricFamily(
            "carepipe_backfill_observed_rate_per_minute",
            "Items claimed per minute over the last 5 minutes.",
            labels=["backfill"],
        )
        by_status = GaugeMetricFamily(
            "carepipe_backfills", "Backfills by status.", labels=["status"]
        )
        try:
            with db.session() as s:
                for status, n in s.execute(
                    select(Backfill.status, func.count()).group_by(Backfill.status)
                ).all():
                    by_status.add_metric([status], n)
                active = s.execute(select(Backfill).where(Backfill.finished_at.is_(None))).scalars()
                for bf in active:
                    p = progress(s, bf)
                    for state, value in (
                        ("succeeded", p.succeeded),
                        ("failed", p.failed),
                        ("waiting_review", p.waiting_review),
                        ("cancelled", p.cancelled),
                        ("skipped", p.skipped),
                        ("remaining", p.remaining),
                    ):
                        items.add_metric([bf.id, bf.pipeline, state], value)
                    if p.eta_seconds is not None:
                        eta.add_metric([bf.id], p.eta_seconds)
                    if p.observed_rate_per_minute is not None:
                        rate.add_metric([bf.id], p.observed_rate_per_minute)
        except Exception as exc:  # a scrape must not fail because one query did
            log.warning("backfill.metrics_failed", error=type(exc).__name__)
            return
        yield items
        yield eta
        yield rate
        yield by_status


COLLECTOR = BackfillCollector()
REGISTRY.register(COLLECTOR)


def install_backfill_collector(db: Database) -> None:
    """Point the scrape-time collector at ``db`` (default: the queue collector's database)."""
    COLLECTOR.db = db
