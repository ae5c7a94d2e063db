"""Loading a backfill row the principal may see, and auditing what is done to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal
from carepipe.core.errors import NotFound
from carepipe.ops.backfill_models import Backfill


def load(
    session: Session, principal: Principal, backfill_id: str, *, lock: bool = False
) -> Backfill:
    """The backfill, or ``NotFound`` (also for another tenant's: its existence is not revealed)."""
    stmt = select(Backfill).where(Backfill.id == backfill_id)
    if lock:
        stmt = stmt.with_for_update()
    bf = session.execute(stmt).scalar_one_or_none()
    tenant = bf.filter.get("tenant") if bf is not None else None
    if bf is None or (principal.tenant is not None and tenant != principal.tenant):
        raise NotFound("no such backfill")
    return bf


def record(
    session: Session,
    principal: Principal,
    action: str,
    bf: Backfill,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> int:
    """Append an audit event about ``bf``; returns its id."""
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


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
