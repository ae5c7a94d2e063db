"""Queues for people: what waits where, and pause, resume, rate limit (checked, audited).

A queue exists when a registered pipeline's stage (or a backfill) uses it, or once
someone set a switch on it; naming any other queue is ``not_found``, so a typo
cannot create a queue nobody works. Each change is one transaction with its audit
event, and a resumed queue wakes the workers at once.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import NotFound, ValidationFailed
from carepipe.core.models import Task
from carepipe.core.queue import control
from carepipe.core.queue.control import QueueState
from carepipe.ops.queue_metrics import DEPTH_STATUSES, registered_queues
from carepipe.ops.views import View
from carepipe.pipelines.registry import all_pipelines


class QueueDepth(View):
    ready: int = 0
    leased: int = 0
    dead: int = 0


class QueueView(View):
    """One queue: its switches, what it holds now, and the pipeline stages that use it."""

    name: str
    paused: bool
    rate_limit_per_minute: float | None = Field(description="Claims a minute; null: no limit.")
    depth: QueueDepth
    oldest_ready_seconds: float | None = Field(description="Age of the oldest ready task.")
    stages: list[str] = Field(description="pipeline/stage pairs that use this queue")


def _stages() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pipe in all_pipelines():
        for stage in pipe.stages:
            out.setdefault(stage.queue_name, []).append(f"{pipe.name}/{stage.name}")
    return out


def _views(session: Session, names: list[str] | None = None) -> list[QueueView]:
    known = set(registered_queues(session)) | {c.name for c in control.list_controls(session)}
    if names is not None:
        known &= set(names)
    stmt = (
        select(Task.queue, Task.status, func.count(), func.min(Task.run_after))
        .where(Task.status.in_(DEPTH_STATUSES))
        .group_by(Task.queue, Task.status)
    )
    if names is not None:
        stmt = stmt.where(Task.queue.in_(names))
    depth: dict[str, dict[str, int]] = {}
    oldest: dict[str, float] = {}
    now = utcnow()
    for queue, status, count, min_run_after in session.execute(stmt).all():
        known.add(queue)
        depth.setdefault(queue, {})[status] = int(count)
        if status == "ready" and min_run_after is not None:
            oldest[queue] = max(0.0, (now - min_run_after).total_seconds())
    stages = _stages()
    views = []
    for name in sorted(known):
        state = control.get_control(session, name)
        views.append(
            QueueView(
                name=name,
                paused=state.paused,
                rate_limit_per_minute=state.rate_limit_per_minute,
                depth=QueueDepth(**depth.get(name, {})),
                oldest_ready_seconds=round(oldest[name], 3) if name in oldest else None,
                stages=stages.get(name, []),
            )
        )
    return views


def list_queues(db: Database, actor: Principal) -> list[QueueView]:
    """Every known queue with its switches and depth (``queues.read``)."""
    require(actor, "queues.read")
    with db.session() as s:
        return _views(s)


def get_queue(db: Database, actor: Principal, name: str) -> QueueView:
    require(actor, "queues.read")
    with db.session() as s:
        return _one(s, name)


def _one(session: Session, name: str) -> QueueView:
    found = _views(session, [name])
    if not found:
        raise NotFound(f"no queue named {name!r}")
    return found[0]


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


def _change(
    db: Database,
    actor: Principal,
    name: str,
    action: str,
    reason: str | None,
    change: Callable[[Session], QueueState],
) -> QueueView:
    require(actor, "queues.manage")
    with db.transaction() as s:
        _one(s, name)  # not_found before anything is written
        before = control.get_control(s, name)
        after = change(s)
        _audit(s, actor, action, before, after, reason)  # resume and limit wake the workers
        return _one(s, name)


def pause_queue(
    db: Database, actor: Principal, name: str, *, reason: str | None = None
) -> QueueView:
    """Stop handing out the queue's tasks (running ones finish)."""
    return _change(db, actor, name, "queue.pause", reason, lambda s: control.pause(s, name))


def resume_queue(
    db: Database, actor: Principal, name: str, *, reason: str | None = None
) -> QueueView:
    """Hand out the queue's tasks again."""
    return _change(db, actor, name, "queue.resume", reason, lambda s: control.resume(s, name))


def limit_queue(
    db: Database,
    actor: Principal,
    name: str,
    per_minute: float | None,
    *,
    reason: str | None = None,
) -> QueueView:
    """Allow at most ``per_minute`` claims a minute across all workers (None: no limit)."""
    if per_minute is not None and not 0 < per_minute <= 1_000_000:
        raise ValidationFailed("per_minute must be above 0 and at most 1,000,000 (or null)")
    return _change(
        db,
        actor,
        name,
        "queue.rate_limit",
        reason,
        lambda s: control.set_rate_limit(s, name, per_minute),
    )
