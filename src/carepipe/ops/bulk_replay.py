"""Bulk replay of dead letters: a durable background job with progress.

Design (see docs/console.md): the request is a row in ``bulk_replays``; a runner
thread in the API process (started on demand, or ``carepipe dlq bulk-replay`` in
the foreground) claims it with a lease and works through the selection in
batches. Each batch — the replays, their audit events, the progress counters and
the keyset position — is one transaction, so a crash loses nothing and a
restarted runner continues where the last one stopped (the lease expires).

A task is never queued twice: ``replay_task`` only moves a task that is still
``dead`` (a conditional UPDATE), so two bulk replays over the same dead letters,
or a bulk replay racing an operator's single replay, replay each task once; the
loser counts it as ``skipped``.

This module writes only its own table (``bulk_replays``): every task and job
change is ``carepipe.core.queue.replay_task`` (through ``ops.dlq``), which also
wakes the workers when each batch commits.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, Conflict, InvalidRequest, NotFound
from carepipe.core.models import Task
from carepipe.observability.logging import get_logger
from carepipe.ops.dlq import DeadLetterFilter, _filtered, count_dead, replay_dead_task
from carepipe.ops.user_models import BulkReplay
from carepipe.ops.views import View

log = get_logger("carepipe.bulk_replay")

MAX_SELECTED_IDS = 1000
BATCH = 200
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class BulkSelection:
    """Either explicit task ids (ticked rows) or every dead letter matching a filter."""

    task_ids: tuple[int, ...] = ()
    filter: DeadLetterFilter | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.task_ids:
            return {"task_ids": list(self.task_ids)}
        return {"filter": (self.filter or DeadLetterFilter()).to_dict()}


class BulkReplayView(View):
    """One bulk replay: what it selected and how far it got."""

    id: str
    status: str = Field(description="queued, running, completed or failed")
    selection: dict[str, Any] = Field(description="task_ids, or the dead-letter filter")
    cutoff: datetime = Field(description="Only tasks dead at this time are replayed.")
    total: int
    processed: int
    replayed: int
    skipped: int
    remaining: int
    percent: float
    reason: str | None
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def view(row: BulkReplay) -> BulkReplayView:
    return BulkReplayView(
        id=row.id,
        status=row.status,
        selection=row.selection,
        cutoff=row.cutoff,
        total=row.total,
        processed=row.processed,
        replayed=row.replayed,
        skipped=row.skipped,
        remaining=max(row.total - row.processed, 0),
        percent=round(100.0 * row.processed / row.total, 1) if row.total else 100.0,
        reason=row.reason,
        error=row.error,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def request_bulk_replay(
    session: Session,
    principal: Principal,
    selection: BulkSelection,
    *,
    reason: str | None = None,
    cutoff: datetime | None = None,
    expected_total: int | None = None,
) -> BulkReplay:
    """Record a bulk replay to run in the background; returns the queued row.

    ``cutoff``: a filter selects tasks that were dead at that time (the moment
    the operator saw the count); ``expected_total``: the count they confirmed —
    if more match now, the request is refused (``Conflict``) so nobody replays
    more than they agreed to.
    """
    require(principal, "dlq.replay")
    now = utcnow()
    cutoff = min(cutoff or now, now)
    if selection.task_ids:
        ids = tuple(dict.fromkeys(int(t) for t in selection.task_ids))
        if len(ids) > MAX_SELECTED_IDS:
            raise InvalidRequest(
                f"at most {MAX_SELECTED_IDS} ticked tasks; use 'all matching the filter'"
            )
        selection = BulkSelection(task_ids=ids)
        total = len(ids)
    else:
        total = count_dead(
            session, principal, selection.filter or DeadLetterFilter(), died_before=cutoff
        )
    if total == 0:
        raise InvalidRequest("nothing to replay: no dead letters match")
    if expected_total is not None and total > expected_total:
        raise Conflict(
            f"{total} dead letters match now, more than the {expected_total} confirmed",
            details={"total": total},
        )
    row = BulkReplay(
        id=uuid.uuid4().hex,
        status="queued",
        selection=selection.to_dict(),
        cutoff=cutoff,
        total=total,
        processed=0,
        replayed=0,
        skipped=0,
        reason=reason,
        requested_by=principal.actor,
        requested_roles=list(principal.roles),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="dlq.bulk_replay.request",
        target_type="bulk_replay",
        target_id=row.id,
        after={"total": total, "selection": row.selection},
        reason=reason,
    )
    return row


def get_bulk_replay(session: Session, principal: Principal, bulk_id: str) -> BulkReplayView:
    require(principal, "dlq.read")
    row = session.get(BulkReplay, bulk_id)
    if row is None:
        raise NotFound("no such bulk replay")
    return view(row)


def list_bulk_replays(
    session: Session, principal: Principal, *, limit: int = 20
) -> list[BulkReplayView]:
    require(principal, "dlq.read")
    rows = session.execute(
        select(BulkReplay).order_by(BulkReplay.created_at.desc()).limit(limit)
    ).scalars()
    return [view(r) for r in rows]


# -- running -------------------------------------------------------------------------------


def _principal_of(row: BulkReplay) -> Principal:
    kind, _, ident = row.requested_by.partition(":")
    return Principal(
        kind=kind or "user", id=ident or row.requested_by, roles=tuple(row.requested_roles)
    )


def claim(db: Database, owner: str, bulk_id: str | None = None) -> str | None:
    """Take the lease of one runnable bulk replay (queued, or running with a dead lease)."""
    now = utcnow()
    with db.transaction() as s:
        stmt = (
            select(BulkReplay.id)
            .where(
                or_(
                    BulkReplay.status == "queued",
                    (BulkReplay.status == "running") & (BulkReplay.lease_expires_at < now),
                )
            )
            .order_by(BulkReplay.created_at)
            .limit(1)
        )
        if bulk_id is not None:
            stmt = stmt.where(BulkReplay.id == bulk_id)
        # PostgreSQL: two runners skip each other's row instead of queuing on its lock.
        # SQLite renders no row lock (one writer at a time; the UPDATE below re-checks).
        stmt = stmt.with_for_update(skip_locked=True)
        found = s.execute(stmt).scalar_one_or_none()
        if found is None:
            return None
        res = s.execute(
            update(BulkReplay)
            .where(
                BulkReplay.id == found,
                or_(
                    BulkReplay.status == "queued",
                    (BulkReplay.status == "running") & (BulkReplay.lease_expires_at < now),
                ),
            )
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + LEASE,
                started_at=now,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
        return found if res.rowcount == 1 else None


def _next_batch(s: Session, row: BulkReplay, principal: Principal, batch: int) -> list[Any]:
    """The next slice of the selection, by keyset: (died_at, id) ascending, or id list order."""
    if "task_ids" in row.selection:
        ids = [int(t) for t in row.selection["task_ids"]]
        start = row.processed
        return [(tid, None) for tid in ids[start : start + batch]]
    f = DeadLetterFilter.from_dict(row.selection.get("filter") or {})
    stmt = _filtered(principal, f, Task.id, Task.updated_at).where(Task.updated_at <= row.cutoff)
    if row.cursor_at is not None and row.cursor_id is not None:
        stmt = stmt.where(tuple_(Task.updated_at, Task.id) > tuple_(row.cursor_at, row.cursor_id))
    stmt = stmt.order_by(Task.updated_at, Task.id).limit(batch)
    return list(s.execute(stmt).all())


def run_one(db: Database, bulk_id: str, owner: str, *, batch: int = BATCH) -> BulkReplayView:
    """Work a claimed bulk replay to the end (batch by batch); returns its final view."""
    while True:
        with db.transaction() as s:
            row = s.get(BulkReplay, bulk_id)
            if row is None:
                raise NotFound("no such bulk replay")
            if row.lease_owner != owner or row.status != "running":
                return view(row)  # lease lost to another runner: it carries on
            principal = _principal_of(row)
            try:
                require(principal, "dlq.replay")
                rows = _next_batch(s, row, principal, batch)
            except CarePipeError as exc:
                row.status, row.error, row.finished_at = "failed", exc.message, utcnow()
                return view(row)
            label = f"bulk replay {row.id}" + (f": {row.reason}" if row.reason else "")
            for tid, died_at in rows:
                try:
                    with s.begin_nested():
                        replay_dead_task(s, principal, tid, reason=label)
                    row.replayed += 1
                except (Conflict, NotFound):
                    row.skipped += 1  # no longer dead: replayed by someone else already
                row.processed += 1
                if died_at is not None:
                    row.cursor_at, row.cursor_id = died_at, tid
            now = utcnow()
            row.updated_at = now
            row.lease_expires_at = now + LEASE
            if len(rows) < batch:
                # Tasks of a filter replayed elsewhere meanwhile were never reached: skipped.
                row.skipped += max(row.total - row.processed, 0)
                row.processed = row.total
                row.status, row.finished_at = "done", now
                audit.record(
                    s,
                    actor=row.requested_by,
                    actor_role=",".join(row.requested_roles),
                    action="dlq.bulk_replay.done",
                    target_type="bulk_replay",
                    target_id=row.id,
                    after={"total": row.total, "replayed": row.replayed, "skipped": row.skipped},
                    reason=row.reason,
                )
                result = view(row)
            else:
                result = None
        if result is not None:
            log.info("bulk_replay.done", bulk_id=bulk_id, replayed=result.replayed)
            return result


def run_pending(db: Database, owner: str | None = None, *, batch: int = BATCH) -> int:
    """Claim and run every runnable bulk replay; returns how many were run."""
    owner = owner or f"runner-{uuid.uuid4().hex[:8]}"
    n = 0
    while (bulk_id := claim(db, owner)) is not None:
        try:
            run_one(db, bulk_id, owner, batch=batch)
        except Exception as exc:  # keep the runner alive; the row records the failure
            log.error("bulk_replay.failed", bulk_id=bulk_id, error=type(exc).__name__)
            with db.transaction() as s:
                row = s.get(BulkReplay, bulk_id)
                if row is not None:
                    row.status, row.error = "failed", f"unexpected {type(exc).__name__}"
                    row.finished_at = utcnow()
        n += 1
    return n


class _Runner:
    """At most one background runner thread per database in this process, started on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}
        self._again: dict[int, bool] = {}

    def kick(self, db: Database) -> None:
        key = id(db)
        with self._lock:
            self._again[key] = True
            t = self._threads.get(key)
            if t is not None and t.is_alive():
                return
            t = threading.Thread(
                target=self._loop, args=(db, key), name="carepipe-bulk-replay", daemon=True
            )
            self._threads[key] = t
            t.start()

    def _loop(self, db: Database, key: int) -> None:
        owner = f"api-{uuid.uuid4().hex[:8]}"
        while True:
            with self._lock:
                if not self._again.get(key):
                    self._threads.pop(key, None)
                    return
                self._again[key] = False
            try:
                run_pending(db, owner)
            except Exception as exc:  # database away: the next kick tries again
                log.error("bulk_replay.runner_error", error=type(exc).__name__)

    def join(self, timeout: float = 10) -> None:
        for t in list(self._threads.values()):
            t.join(timeout)


runner = _Runner()


def start_in_background(db: Database) -> None:
    """Make sure a runner thread of this process is working the pending bulk replays."""
    runner.kick(db)


def resume_stale(db: Database) -> None:
    """Pick up bulk replays whose runner died (lease expired) or that nobody started yet."""
    now = utcnow()
    with db.session() as s:
        pending = s.execute(
            select(BulkReplay.id)
            .where(
                or_(
                    BulkReplay.status == "queued",
                    (BulkReplay.status == "running") & (BulkReplay.lease_expires_at < now),
                )
            )
            .limit(1)
        ).scalar_one_or_none()
    if pending is not None:
        runner.kick(db)


__all__ = [
    "BulkSelection",
    "claim",
    "get_bulk_replay",
    "list_bulk_replays",
    "request_bulk_replay",
    "resume_stale",
    "run_one",
    "run_pending",
    "start_in_background",
    "view",
]
