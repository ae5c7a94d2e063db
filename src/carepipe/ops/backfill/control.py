"""Pause, resume and cancel a backfill: its queue's switches, and giving jobs back.

Each is one transaction owned here, audited, and returns the backfill's view.
The task and job changes are ``carepipe.core.queue`` operations (which also wake
the workers at commit where that is needed); this module decides which.
"""

from __future__ import annotations

from sqlalchemy import select

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import BackfillStateConflict
from carepipe.core.queue import (
    JobSnapshot,
    cancel_ready_tasks,
    cancel_waiting_jobs,
    pause,
    restore_jobs,
    resume,
)
from carepipe.ops.backfill.rules import ACTIVE
from carepipe.ops.backfill.store import load, record
from carepipe.ops.backfill.views import BackfillView, backfill_view
from carepipe.ops.backfill_models import BackfillItem

# Items are read this many jobs at a time (an IN list per chunk) when a cancel settles them.
_CHUNK = 500


def pause_backfill(
    db: Database, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> BackfillView:
    """Stop handing out the backfill's tasks (its queue's pause); running ones finish."""
    require(principal, "backfill.run")
    with db.transaction() as s:
        bf = load(s, principal, backfill_id, lock=True)
        if bf.status not in ("planning", "running"):
            raise BackfillStateConflict(
                f"backfill is {bf.status}; only a running one can be paused"
            )
        before = bf.status
        pause(s, bf.queue)
        bf.status = "paused"
        bf.updated_at = utcnow()
        record(
            s,
            principal,
            "backfill.pause",
            bf,
            before={"status": before},
            after={"status": bf.status},
            reason=reason,
        )
        return backfill_view(s, bf)


def resume_backfill(
    db: Database, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> BackfillView:
    """Hand out the backfill's tasks again, at its rate."""
    require(principal, "backfill.run")
    with db.transaction() as s:
        bf = load(s, principal, backfill_id, lock=True)
        if bf.status != "paused":
            raise BackfillStateConflict(
                f"backfill is {bf.status}; only a paused one can be resumed"
            )
        resume(s, bf.queue)
        now = utcnow()
        bf.status = "running" if bf.planned_at is not None else "planning"
        bf.rate_since = now
        bf.updated_at = now
        record(
            s,
            principal,
            "backfill.resume",
            bf,
            before={"status": "paused"},
            after={"status": bf.status},
            reason=reason,
        )
        return backfill_view(s, bf)


def cancel_backfill(
    db: Database, principal: Principal, backfill_id: str, *, reason: str | None = None
) -> BackfillView:
    """Cancel the backfill's waiting tasks and give their jobs back their earlier state.

    Tasks already running finish (with their later stages); the report follows
    once they have.
    """
    require(principal, "backfill.run")
    with db.transaction() as s:
        bf = load(s, principal, backfill_id, lock=True)
        if bf.status not in ACTIVE:
            raise BackfillStateConflict(f"backfill is {bf.status}; it cannot be cancelled")
        before = bf.status
        now = utcnow()
        cancelled = cancel_ready_tasks(s, bf.queue)
        job_ids = [job_id for _, job_id in cancelled]
        for start in range(0, len(job_ids), _CHUNK):
            chunk = job_ids[start : start + _CHUNK]
            items = s.execute(
                select(BackfillItem).where(
                    BackfillItem.backfill_id == bf.id, BackfillItem.job_id.in_(chunk)
                )
            ).scalars()
            created: list[str] = []
            rerun: dict[str, JobSnapshot] = {}
            for item in items:
                if item.action == "skipped" or item.job_id is None:
                    continue
                # A job this backfill created had no earlier state: it ends cancelled.
                if item.action == "created" or not item.prev_job:
                    created.append(item.job_id)
                else:
                    rerun[item.job_id] = JobSnapshot.from_dict(item.prev_job)
                item.outcome = "cancelled"
            cancel_waiting_jobs(s, created)
            restore_jobs(s, rerun)
        # In-flight tasks may come back for a retry: they must be able to finish.
        resume(s, bf.queue)
        bf.status = "cancelled"
        bf.cancelled_at = now
        bf.updated_at = now
        record(
            s,
            principal,
            "backfill.cancel",
            bf,
            before={"status": before},
            after={"status": "cancelled", "tasks_cancelled": len(cancelled)},
            reason=reason,
        )
        return backfill_view(s, bf)
