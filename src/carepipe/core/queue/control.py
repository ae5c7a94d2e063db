"""Per-queue switches: pause/resume and a token-bucket rate limit.

The rate limit is enforced at claim time from the ``queues`` row (tokens and
the time they were counted), so it holds across any number of worker processes
and nobody sleeps to respect it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import QueueControl
from carepipe.core.queue.wakeup import notify_in_transaction


@dataclass(frozen=True)
class QueueState:
    name: str
    paused: bool
    rate_limit_per_minute: float | None
    # When a switch last changed (pause, resume, limit); None for a queue never switched.
    updated_at: datetime | None = None


def _state(row: QueueControl) -> QueueState:
    return QueueState(row.name, row.paused, row.rate_limit_per_minute, row.updated_at)


def _get_or_create(session: Session, name: str, *, lock: bool = False) -> QueueControl:
    stmt = select(QueueControl).where(QueueControl.name == name)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        row = QueueControl(name=name, paused=False, tokens=0.0, updated_at=utcnow())
        session.add(row)
        session.flush()
    return row


def get_control(session: Session, name: str) -> QueueState:
    row = session.get(QueueControl, name)
    if row is None:
        return QueueState(name, False, None)
    return _state(row)


def list_controls(session: Session) -> list[QueueState]:
    rows = session.execute(select(QueueControl).order_by(QueueControl.name)).scalars()
    return [_state(r) for r in rows]


def pause(session: Session, name: str) -> QueueState:
    row = _get_or_create(session, name, lock=True)
    row.paused = True
    row.updated_at = utcnow()
    return _state(row)


def resume(session: Session, name: str) -> QueueState:
    """Hand out the queue's tasks again; its workers wake when the caller commits."""
    row = _get_or_create(session, name, lock=True)
    row.paused = False
    row.updated_at = utcnow()
    notify_in_transaction(session, name)
    return _state(row)


def set_rate_limit(session: Session, name: str, per_minute: float | None) -> QueueState:
    """Limit a queue to ``per_minute`` claims a minute (None removes the limit)."""
    if per_minute is not None and per_minute <= 0:
        raise ValueError("rate limit must be positive")
    row = _get_or_create(session, name, lock=True)
    row.rate_limit_per_minute = per_minute
    row.tokens = 1.0 if per_minute else 0.0
    row.tokens_at = utcnow()
    row.updated_at = utcnow()
    if not row.paused:
        # A new bucket starts with a token: waiting tasks can go now.
        notify_in_transaction(session, name)
    return _state(row)


def remove_control(session: Session, name: str) -> None:
    """Forget a queue's switches (a backfill's own queue, once the backfill is over).

    Every claim reads every control row, so rows of queues that will never see a
    task again are removed rather than left paused or limited.
    """
    session.execute(delete(QueueControl).where(QueueControl.name == name))


def bucket_capacity(per_minute: float) -> float:
    """At most one second's worth of claims at once (and at least one)."""
    return max(1.0, per_minute / 60.0)


def available_tokens(row: QueueControl, now: datetime) -> float:
    assert row.rate_limit_per_minute
    last = row.tokens_at or now
    elapsed = max(0.0, (now - last).total_seconds())
    refill = elapsed * row.rate_limit_per_minute / 60.0
    return min(bucket_capacity(row.rate_limit_per_minute), row.tokens + refill)


def take_tokens(session: Session, name: str, wanted: int, now: datetime) -> int:
    """Lock the queue row and take up to ``wanted`` whole tokens; returns how many."""
    row = _get_or_create(session, name, lock=True)
    if not row.rate_limit_per_minute:
        return wanted
    tokens = available_tokens(row, now)
    granted = min(wanted, math.floor(tokens))
    row.tokens = tokens - granted
    row.tokens_at = now
    return granted


def give_back_tokens(session: Session, name: str, count: int) -> None:
    """Return tokens that were taken but not used (no task was ready)."""
    if count <= 0:
        return
    row = _get_or_create(session, name, lock=True)
    if row.rate_limit_per_minute:
        row.tokens = min(bucket_capacity(row.rate_limit_per_minute), row.tokens + count)
