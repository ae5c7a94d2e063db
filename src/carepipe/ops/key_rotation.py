"""Rotating a partner's API key without downtime (issue 16, UC-OPS-003).

1. Staff request a new key under a ticket: it is ``staged`` (refused by every
   route but activation) and its plaintext is shown once.
2. The partner deploys it and calls ``POST /api/keys/activate`` with it (or staff
   activate it): it becomes ``active`` and the partner's previous active key (the
   one it was requested to replace, else every active key of the same tenant and
   name) goes to ``grace`` for the tenant's ``api_key_grace_hours``.
3. Both keys work during the grace period; then the scheduler revokes the old one
   (audited as ``system``). Staff may extend the grace period or revoke at once.

Each active key is due for rotation ``api_key_rotation_days`` after activation
(quarterly by default); the scheduler exports the time left as a gauge that an
alert watches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings, get_settings
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.core.models import ApiKey
from carepipe.core.tenants import tenant_settings
from carepipe.observability.metrics import API_KEY_REJECTED, API_KEY_ROTATION_DUE
from carepipe.ops.api_keys import (
    ApiKeyView,
    IssuedKey,
    VerifiedKey,
    create_key,
    get_key,
    key_view,
    mark_revoked,
)
from carepipe.ops.views import View

MAX_GRACE_HOURS = 24 * 90


class PreviousKey(View):
    """A key the activation put into its grace period."""

    id: str
    status: str
    grace_until: datetime | None


class Activation(View):
    """What activating a staged key did."""

    id: str
    tenant: str
    name: str
    status: str
    activated_at: datetime | None
    previous: list[PreviousKey] = Field(description="Keys now in grace, with their end.")


def grace_for(session: Session, tenant: str, settings: Settings | None = None) -> timedelta:
    """The tenant's grace period (its own setting, else ``CAREPIPE_API_KEY_GRACE_HOURS``)."""
    hours = tenant_settings(session, tenant).api_key_grace_hours
    if hours is None:
        hours = (settings or get_settings()).api_key_grace_hours
    return timedelta(hours=hours)


def request_key(
    session: Session,
    actor: Principal,
    *,
    tenant: str,
    name: str,
    env: str,
    ticket: str,
) -> IssuedKey:
    """A new ``staged`` key for a partner, under a ticket; its plaintext is returned once.

    It replaces the partner's newest active key of the same name when it is activated.
    """
    require(actor, "keys.manage")
    ticket = ticket.strip()
    if not ticket or len(ticket) > 128:
        raise InvalidRequest("a ticket reference (1-128 characters) is required")
    current = session.execute(
        select(ApiKey.id)
        .where(ApiKey.tenant == tenant, ApiKey.name == name, ApiKey.status == "active")
        .order_by(ApiKey.activated_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return create_key(
        session,
        actor,
        tenant=tenant,
        name=name,
        env=env,
        staged=True,
        ticket=ticket,
        rotated_from=current,
    )


def _activate(
    session: Session,
    row: ApiKey,
    *,
    actor: str,
    role: str,
    reason: str | None,
    settings: Settings | None,
) -> Activation:
    if row.status == "active":  # a partner retrying after a lost answer: nothing to do
        return Activation(
            id=row.id,
            tenant=row.tenant,
            name=row.name,
            status=row.status,
            activated_at=row.activated_at,
            previous=[],
        )
    if row.status != "staged":
        raise InvalidRequest(f"key is {row.status}, only staged keys can be activated")
    now = utcnow()
    if row.rotated_from:
        previous = [k for k in [session.get(ApiKey, row.rotated_from)] if k is not None]
    else:
        previous = list(
            session.execute(
                select(ApiKey).where(
                    ApiKey.tenant == row.tenant, ApiKey.name == row.name, ApiKey.id != row.id
                )
            ).scalars()
        )
    previous = [k for k in previous if k.status == "active"]
    grace_until = now + grace_for(session, row.tenant, settings)
    row.status, row.activated_at = "active", now
    for old in previous:
        old.status, old.grace_until = "grace", grace_until
    audit.record(
        session,
        actor=actor,
        actor_role=role,
        tenant=row.tenant,
        action="api_key.activate",
        target_type="api_key",
        target_id=row.id,
        before={"status": "staged"},
        after={
            "status": "active",
            "previous_in_grace": [k.id for k in previous],
            "grace_until": grace_until.isoformat(),
        },
        reason=reason or row.ticket,
    )
    return Activation(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        status=row.status,
        activated_at=now,
        previous=[
            PreviousKey(id=k.id, status=k.status, grace_until=k.grace_until) for k in previous
        ],
    )


def activate_key(
    session: Session,
    actor: Principal,
    key_id: str,
    *,
    reason: str | None = None,
    settings: Settings | None = None,
) -> Activation:
    """Staff activate a staged key (when the partner cannot call the API themselves)."""
    require(actor, "keys.manage")
    row = get_key(session, key_id)
    return _activate(
        session, row, actor=actor.actor, role=actor.role, reason=reason, settings=settings
    )


def activate_own_key(
    session: Session, key: VerifiedKey, *, settings: Settings | None = None
) -> Activation:
    """The partner confirms cut-over with the staged key itself (already identified by
    its secret: ``identify_key``); acting as that key, with the ``keys.activate`` right."""
    principal = Principal(kind="api_key", id=key.id, roles=("partner",), tenant=key.tenant)
    require(principal, "keys.activate")
    row = session.get(ApiKey, key.id, with_for_update=True)
    if row is None:
        raise NotFound("no such API key")
    return _activate(
        session, row, actor=principal.actor, role=principal.role, reason=None, settings=settings
    )


def extend_grace(
    session: Session, actor: Principal, key_id: str, *, hours: float, reason: str
) -> ApiKeyView:
    """Give a key in grace ``hours`` more (from its current end, or from now if that passed)."""
    require(actor, "keys.manage")
    if not 0 < hours <= MAX_GRACE_HOURS:
        raise InvalidRequest(f"hours must be more than 0 and at most {MAX_GRACE_HOURS}")
    if not reason.strip():
        raise InvalidRequest("a reason (ticket or justification) is required")
    row = get_key(session, key_id)
    if row.status != "grace":
        raise InvalidRequest(f"key is {row.status}; only keys in grace can be extended")
    before = row.grace_until
    row.grace_until = max(before or utcnow(), utcnow()) + timedelta(hours=hours)
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=row.tenant,
        action="api_key.extend_grace",
        target_type="api_key",
        target_id=row.id,
        before={"grace_until": before.isoformat() if before else None},
        after={"grace_until": row.grace_until.isoformat()},
        reason=reason,
    )
    return key_view(row)


def revoke_expired(db: Database) -> int:
    """Revoke every key whose grace period is over (the scheduler; audited as ``system``).

    Conditional on the state read in the same transaction, so two schedulers at once
    revoke each key once.
    """
    now = utcnow()
    with db.transaction() as s:
        rows = (
            s.execute(
                select(ApiKey)
                .where(ApiKey.status == "grace", ApiKey.grace_until <= now)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        done = 0
        for row in rows:
            mark_revoked(
                s, row, actor="system:scheduler", role="system", reason="grace period over"
            )
            done += 1
    return done


def export_rotation_due(db: Database, settings: Settings | None = None) -> int:
    """Set ``carepipe_api_key_rotation_due_seconds`` for every active key (the scheduler);
    negative when overdue. Returns how many keys were exported."""
    default_days = (settings or get_settings()).api_key_rotation_days
    now = utcnow()
    with db.session() as s:
        rows = s.execute(
            select(ApiKey.id, ApiKey.tenant, ApiKey.name, ApiKey.activated_at).where(
                ApiKey.status == "active"
            )
        ).all()
        days = {t: tenant_settings(s, t).api_key_rotation_days for t in {r[1] for r in rows}}
        tenants = s.execute(select(ApiKey.tenant).distinct()).scalars().all()
    # Every tenant's refusal series exists at 0 before the first refusal, so the alert's
    # increase() sees that first one.
    for tenant in tenants:
        for reason in ("revoked", "expired"):
            API_KEY_REJECTED.labels(tenant, reason)
    API_KEY_ROTATION_DUE.clear()
    for key_id, tenant, name, activated_at in rows:
        due = (activated_at or now) + timedelta(days=days[tenant] or default_days)
        API_KEY_ROTATION_DUE.labels(tenant, name, key_id).set((due - now).total_seconds())
    return len(rows)
