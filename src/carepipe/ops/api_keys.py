"""Partner API keys: ``cpk_<env>_<key id>_<secret><checksum>`` (``ops/key_format.py``;
older ``cp_`` keys still work); only the SHA-256 of the secret is kept.

Lifecycle: ``staged`` -> ``active`` -> ``grace`` (still accepted until
``grace_until``, while partners switch to the new key) -> ``revoked``. Rotation
(request, activate, extend grace, expiry) is in ``ops/key_rotation.py``. A revoked
key's digest is also kept in ``api_key_tombstones``, forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field
from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.crypto import constant_time_equal, sha256_hex
from carepipe.core.errors import InvalidApiKey, InvalidRequest, NotFound, RevokedApiKey
from carepipe.core.models import ApiKey
from carepipe.ops import key_format
from carepipe.ops.key_models import ApiKeyTombstone
from carepipe.ops.tenancy import tenant_conditions
from carepipe.ops.views import View

_ENV_RE = re.compile(r"^[a-z0-9]{1,16}$")


class IssuedKey(View):
    """A newly created key. ``plaintext`` is shown once and never stored."""

    id: str
    tenant: str
    name: str
    status: str
    plaintext: str = Field(
        description="The key (cpk_<env>_<key id>_<secret><checksum>), shown once.", repr=False
    )


class ApiKeyView(View):
    """A key as operators see it: its state and times, never its secret or digest."""

    id: str
    tenant: str
    name: str
    env: str
    status: str = Field(description="staged, active, grace or revoked")
    created_at: datetime
    activated_at: datetime | None
    grace_until: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rotated_from: str | None
    masked: str = Field(description="Prefix, environment, key id and last 4 characters.")
    ticket: str | None = Field(description="Ticket the key was requested under.")
    last_used_ip: str | None = Field(description="Source address of the last use.")
    request_count: int = Field(description="Requests authenticated (written in batches).")


def key_view(row: ApiKey) -> ApiKeyView:
    """The operator's view of a key row (masked: never its secret or digest)."""
    return ApiKeyView(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        env=row.env,
        status=row.status,
        created_at=row.created_at,
        activated_at=row.activated_at,
        grace_until=row.grace_until,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        rotated_from=row.rotated_from,
        masked=key_format.mask(row.env, row.id, row.last4),
        ticket=row.ticket,
        last_used_ip=row.last_used_ip,
        request_count=row.request_count or 0,
    )


def create_key(
    session: Session,
    actor: Principal,
    *,
    tenant: str,
    name: str,
    env: str,
    staged: bool = False,
    reason: str | None = None,
    ticket: str | None = None,
    rotated_from: str | None = None,
) -> IssuedKey:
    """Create a key for ``tenant``; returns the only copy of its plaintext."""
    require(actor, "keys.manage")
    if not _ENV_RE.match(env):
        raise InvalidRequest("env must be 1-16 lower-case letters or digits")
    if not tenant or len(tenant) > 64:
        raise InvalidRequest("tenant must be 1-64 characters")
    key_id = key_format.new_key_id()
    secret = key_format.new_secret()
    plaintext = key_format.format_key(env, key_id, secret)
    now = utcnow()
    row = ApiKey(
        id=key_id,
        tenant=tenant,
        name=name,
        env=env,
        secret_sha256=sha256_hex(secret.encode()),
        status="staged" if staged else "active",
        created_at=now,
        activated_at=None if staged else now,
        created_by=actor.actor,
        ticket=ticket,
        last4=plaintext[-4:],
        rotated_from=rotated_from,
        request_count=0,
    )
    session.add(row)
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=tenant,
        action="api_key.create",
        target_type="api_key",
        target_id=key_id,
        after={"status": row.status, "name": name, "ticket": ticket, "rotated_from": rotated_from},
        reason=reason or ticket,
    )
    return IssuedKey(id=key_id, tenant=tenant, name=name, status=row.status, plaintext=plaintext)


def list_keys(session: Session, actor: Principal, *, tenant: str | None = None) -> list[ApiKeyView]:
    """Keys, oldest first (all tenants, or ``tenant``'s), without their secrets."""
    require(actor, "keys.manage")
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    stmt = stmt.where(*tenant_conditions(actor, tenant, ApiKey.tenant))
    return [key_view(k) for k in session.execute(stmt).scalars()]


def get_key(session: Session, key_id: str) -> ApiKey:
    """The key row, or ``NotFound``."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("no such API key")
    return row


def mark_revoked(
    session: Session, row: ApiKey, *, actor: str, role: str | None, reason: str | None
) -> None:
    """Revoke ``row`` now, keep its tombstone and audit it (callers check permissions)."""
    before = row.status
    now = utcnow()
    row.status, row.revoked_at = "revoked", now
    if session.get(ApiKeyTombstone, row.secret_sha256) is None:
        session.add(
            ApiKeyTombstone(
                secret_sha256=row.secret_sha256, key_id=row.id, tenant=row.tenant, revoked_at=now
            )
        )
    audit.record(
        session,
        actor=actor,
        actor_role=role,
        tenant=row.tenant,
        action="api_key.revoke",
        target_type="api_key",
        target_id=row.id,
        before={"status": before, "grace_until": _iso(row.grace_until)},
        after={"status": "revoked"},
        reason=reason,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def revoke_key(
    session: Session, actor: Principal, key_id: str, *, reason: str | None = None
) -> ApiKeyView:
    """Revoke a key at once (its tombstone is kept forever)."""
    require(actor, "keys.manage")
    row = get_key(session, key_id)
    if row.status == "revoked":
        raise InvalidRequest("key is already revoked")
    mark_revoked(session, row, actor=actor.actor, role=actor.role, reason=reason)
    return key_view(row)


def rotate_key(
    session: Session,
    actor: Principal,
    key_id: str,
    *,
    grace: timedelta = timedelta(days=7),
    reason: str | None = None,
) -> IssuedKey:
    """Issue a successor (active now) and put the old key in ``grace`` until ``now + grace``."""
    require(actor, "keys.manage")
    old = get_key(session, key_id)
    if old.status not in ("active", "grace"):
        raise InvalidRequest(f"key is {old.status}; only active keys can be rotated")
    new = create_key(
        session,
        actor,
        tenant=old.tenant,
        name=old.name,
        env=old.env,
        reason=reason,
        rotated_from=old.id,
    )
    before = old.status
    old.status, old.grace_until = "grace", utcnow() + grace
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=old.tenant,
        action="api_key.rotate",
        target_type="api_key",
        target_id=old.id,
        before={"status": before},
        after={"status": "grace", "successor": new.id},
        reason=reason,
    )
    return new


def parse_key(plaintext: str) -> tuple[str, str, str]:
    """(env, key id, secret), or ``InvalidApiKey`` for anything not shaped like our keys
    (including a ``cpk_`` key whose checksum does not match: no database is needed)."""
    parsed = key_format.parse_key(plaintext)
    return parsed.env, parsed.key_id, parsed.secret


@dataclass(frozen=True)
class VerifiedKey:
    """The columns of a key that authentication needs (never its secret digest)."""

    id: str
    tenant: str
    name: str
    env: str
    status: str
    grace_until: datetime | None


_NO_DIGEST = "0" * 64  # no SHA-256 hex digest of a presented secret can equal it by chance


# Exactly one row whether or not the key id exists: the probed id, left-joined to the key
# and to the tombstone of the presented digest. An unknown id yields NULL columns, with the
# digest and environment replaced by values nothing matches, so everything after the query
# is the same work for both. Built once.
_PROBE = select(bindparam("key_id", type_=String).label("probe")).subquery()
_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.tenant,
        ApiKey.name,
        func.coalesce(ApiKey.env, ""),
        func.coalesce(ApiKey.secret_sha256, _NO_DIGEST),
        ApiKey.status,
        ApiKey.grace_until,
        func.coalesce(ApiKeyTombstone.key_id, ""),
        ApiKeyTombstone.tenant,
    )
    .select_from(_PROBE)
    .outerjoin(ApiKey, ApiKey.id == _PROBE.c.probe)
    .outerjoin(
        ApiKeyTombstone,
        ApiKeyTombstone.secret_sha256 == bindparam("digest", type_=String),
    )
)


def identify_key(session: Session, plaintext: str) -> VerifiedKey:
    """The key whose secret was presented, whatever its state; otherwise ``InvalidApiKey``.

    The same error answers an unknown key id and a wrong secret, and both cost the
    same: one query that returns one row either way (no ORM object is built), then the
    environment and the SHA-256 digests compared in constant time, with no
    short-circuit. ``benchmarks/bench_key_timing.py`` measures existing against
    unknown ids. A key whose row is gone but whose tombstone matches is ``revoked``.
    """
    env, key_id, secret = parse_key(plaintext)
    presented = sha256_hex(secret.encode())
    row = session.execute(_LOOKUP, {"key_id": key_id, "digest": presented}).one()
    env_ok = constant_time_equal(env, row[3])
    secret_ok = constant_time_equal(presented, row[4])
    if (row[0] is not None) & env_ok & secret_ok:
        return VerifiedKey(row[0], row[1], row[2], row[3], row[5], row[6])
    if row[0] is None and row[7] == key_id:
        return VerifiedKey(key_id, row[8], "", env, "revoked", None)
    raise InvalidApiKey("invalid API key")


def refusal(key: VerifiedKey, now: datetime) -> str | None:
    """Why an identified key may not be used now: revoked, expired (grace over), staged."""
    if key.status == "revoked":
        return "revoked"
    if key.status == "grace" and key.grace_until is not None and key.grace_until <= now:
        return "expired"
    if key.status == "staged":
        return "staged"
    return None


def raise_refusal(reason: str | None) -> None:
    """The error a partner gets for ``refusal``'s reason (nothing for ``None``)."""
    if reason == "revoked":
        raise RevokedApiKey("API key revoked")
    if reason == "expired":
        raise RevokedApiKey("API key grace period is over")
    if reason == "staged":
        raise InvalidApiKey("API key not active yet: activate it at POST /api/keys/activate")
