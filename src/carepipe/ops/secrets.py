"""The secrets store for people: list (masked), put, rollback, delete and rewrap, each permission-
checked (``secrets.manage``, admin only) and audited without the value (docs/secrets.md).

No function here returns a value: values leave the store only through
``carepipe.core.secrets.resolve`` into the consumers (EMR push, LLM and ASR clients).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.secrets import Kek, Keyring, RewrapReport
from carepipe.core.secrets import store as secret_store
from carepipe.core.secrets.models import SecretVersion
from carepipe.ops.views import View

PERMISSION = "secrets.manage"


class SecretView(View):
    """A secret's version as operators see it: never its value."""

    name: str
    version: int = Field(description="The version in use (the highest); earlier ones are kept.")
    versions: int = Field(description="How many versions are kept.")
    kek_id: str = Field(description="Fingerprint of the key-encryption key wrapping its data key.")
    masked: str = Field(description="'••••' plus the last 4 characters if 12 or longer.")
    updated_at: datetime
    updated_by: str


class RewrapView(View):
    """What a KEK rotation did."""

    old_kek_id: str
    new_kek_id: str
    rewrapped: int = Field(description="Versions whose data key was wrapped again.")
    already: int = Field(description="Versions already under the new KEK (skipped).")


def _view(row: SecretVersion, versions: int) -> SecretView:
    return SecretView(
        name=row.name,
        version=row.version,
        versions=versions,
        kek_id=row.kek_id,
        masked=row.masked,
        updated_at=row.created_at,
        updated_by=row.created_by,
    )


def list_secrets(session: Session, principal: Principal) -> list[SecretView]:
    """Every secret's version in use, by name, masked."""
    require(principal, PERMISSION)
    grouped = select(SecretVersion.name, func.count()).group_by(SecretVersion.name)
    counts: dict[str, int] = {name: n for name, n in session.execute(grouped).tuples()}
    return [_view(r, counts[r.name]) for r in secret_store.latest_versions(session)]


def put_secret(
    session: Session,
    principal: Principal,
    kek: Kek,
    name: str,
    value: str,
    *,
    reason: str | None = None,
) -> SecretView:
    """Store a new version of ``name`` (audited with its version and KEK id, not its value)."""
    require(principal, PERMISSION)
    row = secret_store.put(session, kek, name, value, actor=principal.actor)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="secret.put",
        target_type="secret",
        target_id=name,
        after={"version": row.version, "kek_id": row.kek_id, "masked": row.masked},
        reason=reason,
    )
    return _view(row, row.version)


def rollback_secret(
    session: Session,
    principal: Principal,
    keys: Keyring,
    name: str,
    version: int,
    *,
    reason: str | None = None,
) -> SecretView:
    """Make ``version``'s value current again, as a new version (audited, value-free)."""
    require(principal, PERMISSION)
    row = secret_store.restore(session, keys, name, version, actor=principal.actor)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="secret.rollback",
        target_type="secret",
        target_id=name,
        after={"version": row.version, "restored_from": version, "kek_id": row.kek_id},
        reason=reason,
    )
    return _view(row, row.version)


def delete_secret(
    session: Session, principal: Principal, name: str, *, reason: str | None = None
) -> int:
    """Delete every version of ``name``; returns how many there were."""
    require(principal, PERMISSION)
    count = secret_store.remove(session, secret_store.check_name(name))
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="secret.delete",
        target_type="secret",
        target_id=name,
        before={"versions": count},
        reason=reason,
    )
    return count


def rewrap(
    session: Session,
    principal: Principal,
    old: Keyring,
    new: Kek,
    *,
    reason: str | None = None,
) -> RewrapView:
    """Re-wrap every data key under ``new`` in the caller's one transaction (audited);
    each version is unwrapped with its own KEK from ``old`` (current or previous)."""
    require(principal, PERMISSION)
    report: RewrapReport = secret_store.rewrap_all(session, old, new)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="secret.rewrap",
        target_type="secrets_kek",
        target_id=new.id,
        before={"kek_id": report.old_kek_id},
        after={"kek_id": new.id, "rewrapped": report.rewrapped, "already": report.already},
        reason=reason,
    )
    return RewrapView(
        old_kek_id=report.old_kek_id,
        new_kek_id=report.new_kek_id,
        rewrapped=report.rewrapped,
        already=report.already,
    )
