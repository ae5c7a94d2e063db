"""Partner API keys: ``cp_<env>_<key id>_<secret>``; only the SHA-256 of the secret is kept.

Lifecycle: ``staged`` -> ``active`` -> ``grace`` (still accepted until
``grace_until``, while partners switch to the new key) -> ``revoked``.
"""

from __future__ import annotations

import re
import secrets
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
from carepipe.ops.tenancy import tenant_conditions
from carepipe.ops.views import View

_ENV_RE = re.compile(r"^[a-z0-9]{1,16}$")
_KEY_RE = re.compile(r"^cp_([a-z0-9]{1,16})_([a-z0-9]{12})_([A-Za-z0-9_\-]{32,128})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class IssuedKey(View):
    """A newly created key. ``plaintext`` is shown once and never stored."""

    id: str
    tenant: str
    name: str
    status: str
    plaintext: str = Field(
        description="The key (cp_<env>_<key id>_<secret>), shown once.", repr=False
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


def key_view(row: ApiKey) -> ApiKeyView:
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
    )


def _new_key_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def create_key(
    session: Session,
    actor: Principal,
    *,
    tenant: str,
    name: str,
    env: str,
    staged: bool = False,
    reason: str | None = None,
) -> IssuedKey:
    """Create a key for ``tenant``; returns the only copy of its plaintext."""
    require(actor, "keys.manage")
    if not _ENV_RE.match(env):
        raise InvalidRequest("env must be 1-16 lower-case letters or digits")
    if not tenant or len(tenant) > 64:
        raise InvalidRequest("tenant must be 1-64 characters")
    key_id = _new_key_id()
    secret = secrets.token_urlsafe(32)
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
        after={"status": row.status, "name": name},
        reason=reason,
    )
    return IssuedKey(
        id=key_id,
        tenant=tenant,
        name=name,
        status=row.status,
        plaintext=f"cp_{env}_{key_id}_{secret}",
    )


def list_keys(session: Session, actor: Principal, *, tenant: str | None = None) -> list[ApiKeyView]:
    """Keys, oldest first (all tenants, or ``tenant``'s), without their secrets."""
    require(actor, "keys.manage")
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    stmt = stmt.where(*tenant_conditions(actor, tenant, ApiKey.tenant))
    return [key_view(k) for k in session.execute(stmt).scalars()]


def _get(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("no such API key")
    return row


def activate_key(
    session: Session, actor: Principal, key_id: str, *, reason: str | None = None
) -> ApiKeyView:
    require(actor, "keys.manage")
    row = _get(session, key_id)
    if row.status != "staged":
        raise InvalidRequest(f"key is {row.status}, only staged keys can be activated")
    row.status, row.activated_at = "active", utcnow()
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=row.tenant,
        action="api_key.activate",
        target_type="api_key",
        target_id=key_id,
        before={"status": "staged"},
        after={"status": "active"},
        reason=reason,
    )
    return key_view(row)


def revoke_key(
    session: Session, actor: Principal, key_id: str, *, reason: str | None = None
) -> ApiKeyView:
    require(actor, "keys.manage")
    row = _get(session, key_id)
    before = row.status
    row.status, row.revoked_at = "revoked", utcnow()
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=row.tenant,
        action="api_key.revoke",
        target_type="api_key",
        target_id=key_id,
        before={"status": before},
        after={"status": "revoked"},
        reason=reason,
    )
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
    old = _get(session, key_id)
    if old.status not in ("active", "grace"):
        raise InvalidRequest(f"key is {old.status}; only active keys can be rotated")
    new = create_key(session, actor, tenant=old.tenant, name=old.name, env=old.env, reason=reason)
    session.get(ApiKey, new.id).rotated_from = old.id  # type: ignore[union-attr]
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
    """(env, key id, secret), or ``InvalidApiKey`` for anything not shaped like our keys."""
    m = _KEY_RE.match(plaintext.strip())
    if not m:
        raise InvalidApiKey("malformed API key")
    return m.group(1), m.group(2), m.group(3)


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


# Exactly one row whether or not the key id exists: the probed id, left-joined to the key.
# An unknown id yields NULL columns, with the digest and environment replaced by values
# nothing matches, so everything after the query is the same work for both. Built once.
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
    )
    .select_from(_PROBE)
    .outerjoin(ApiKey, ApiKey.id == _PROBE.c.probe)
)


def verify_key(session: Session, plaintext: str, *, now: datetime | None = None) -> VerifiedKey:
    """The key for a valid presented key; otherwise ``InvalidApiKey``/``RevokedApiKey``.

    The same error answers an unknown key id and a wrong secret, and both cost the
    same: one query that returns one row either way (no ORM object is built), then the
    environment and the SHA-256 digests compared in constant time, with no
    short-circuit. ``benchmarks/bench_key_timing.py`` measures existing against
    unknown ids.
    """
    env, key_id, secret = parse_key(plaintext)
    presented = sha256_hex(secret.encode())
    row = session.execute(_LOOKUP, {"key_id": key_id}).one()
    env_ok = constant_time_equal(env, row[3])
    secret_ok = constant_time_equal(presented, row[4])
    if not ((row[0] is not None) & env_ok & secret_ok):
        raise InvalidApiKey("invalid API key")
    key = VerifiedKey(row[0], row[1], row[2], row[3], row[5], row[6])
    now = now or utcnow()
    if key.status == "revoked":
        raise RevokedApiKey("API key revoked")
    if key.status == "grace" and key.grace_until is not None and key.grace_until <= now:
        raise RevokedApiKey("API key grace period is over")
    if key.status == "staged":
        raise InvalidApiKey("API key not active yet")
    return key
