"""Queue operations for people: pause, resume, rate-limit (permission-checked, audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.queue import control
from carepipe.core.queue.control import QueueState


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    before: QueueState,
    after: QueueState,
    reason: str | None,
) -> None:
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        action=action,
        target_type="queue",
        target_id=after.name,
        before={"paused": before.paused, "rate_limit_per_minute": before.rate_limit_per_minute},
        after={"paused": after.paused, "rate_limit_per_minute": after.rate_limit_per_minute},
        reason=reason,
    )


def pause_queue(
    session: Session, actor: Principal, name: str, *, reason: str | None = None
) -> QueueState:
    require(actor, "queues.manage")
    before = control.get_control(session, name)
    after = control.pause(session, name)
    _audit(session, actor, "queue.pause", before, after, reason)
    return after


def resume_queue(
    session: Session, actor: Principal, name: str, *, reason: str | None = None
) -> QueueState:
    require(actor, "queues.manage")
    before = control.get_control(session, name)
    after = control.resume(session, name)
    _audit(session, actor, "queue.resume", before, after, reason)
    return after


def limit_queue(
    session: Session,
    actor: Principal,
    name: str,
    per_minute: float | None,
    *,
    reason: str | None = None,
) -> QueueState:
    require(actor, "queues.manage")
    before = control.get_control(session, name)
    after = control.set_rate_limit(session, name, per_minute)
    _audit(session, actor, "queue.rate_limit", before, after, reason)
    return after
