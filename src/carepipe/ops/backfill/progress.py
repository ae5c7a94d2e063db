"""How far a backfill has got: live from its items and their jobs, or frozen once finished."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Job, Task
from carepipe.core.queue import TaskStatus, get_control
from carepipe.ops.backfill.rules import OUTCOME_OF_JOB, OUTCOMES, RATE_WINDOW
from carepipe.ops.backfill_models import Backfill, BackfillItem


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
        """The totals frozen on the backfill when it finishes (and shown in its report)."""
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

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> Progress:
        """A finished backfill's progress from its frozen ``summary`` (nothing left to time)."""
        return cls(
            matched=summary.get("matched", 0),
            enqueued=summary.get("enqueued", 0),
            skipped=summary.get("skipped", 0),
            skipped_reasons=dict(summary.get("skipped_reasons") or {}),
            succeeded=summary.get("succeeded", 0),
            failed=summary.get("failed", 0),
            waiting_review=summary.get("waiting_review", 0),
            cancelled=summary.get("cancelled", 0),
            remaining=summary.get("remaining", 0),
            waiting_tasks=0,
            observed_rate_per_minute=None,
            eta_seconds=None,
        )


def read_progress(session: Session, bf: Backfill, now: datetime | None = None) -> Progress:
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
    """When the backfill's queue was paused (its switches' last change)."""
    at = get_control(session, bf.queue).updated_at or bf.updated_at
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
