"""Changing flags: four eyes, break glass, optimistic locking, rollback, audit.

Every function checks its permission and audits every state change in the caller's
transaction. A change of a flag with ``requires_approval`` is stored ``pending`` until a
*different* person with ``flags.approve`` approves it, unless the requester uses break
glass (``flags.break_glass``, audited as such). Killing a flag is always immediate: it is
the safe direction. Each live change writes a new row of ``feature_flag_versions`` with the
whole definition, so any earlier version can be restored exactly, and bumps
``flag_state.revision`` (NOTIFY on PostgreSQL) so every process reloads within seconds.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import FlagConflict, FlagInvalid, FlagNotFound, FourEyesRequired
from carepipe.flags.checks import (
    DefinitionIn,
    checked_key,
    justified,
    known_segments,
    parse_definition,
)
from carepipe.flags.definition import FlagDefinition
from carepipe.flags.models import FeatureFlag, FeatureFlagVersion
from carepipe.flags.preview import preview
from carepipe.flags.segments import list_segments, put_segment
from carepipe.flags.store import bump_revision
from carepipe.flags.views import FlagChange, FlagDetail, FlagSummary, FlagVersionView

# preview and segments live in their own modules; the service is their one front door.
__all__ = [
    "approve_change",
    "change_log",
    "create_flag",
    "get_flag",
    "list_flags",
    "list_segments",
    "preview",
    "put_segment",
    "reject_change",
    "rollback_flag",
    "set_enabled",
    "update_flag",
]


def _flag(session: Session, key: str, *, for_update: bool = False) -> FeatureFlag:
    stmt = select(FeatureFlag).where(FeatureFlag.key == key)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise FlagNotFound(f"no flag {key!r}", details={"key": key})
    return row


def _dump(definition: FlagDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json")


def _version_row(session: Session, key: str, version: int) -> FeatureFlagVersion:
    row = session.execute(
        select(FeatureFlagVersion).where(
            FeatureFlagVersion.flag_key == key, FeatureFlagVersion.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise FlagNotFound(f"flag {key!r} has no version {version}", details={"version": version})
    return row


def _pending(session: Session, key: str) -> FeatureFlagVersion | None:
    return session.execute(
        select(FeatureFlagVersion).where(
            FeatureFlagVersion.flag_key == key, FeatureFlagVersion.status == "pending"
        )
    ).scalar_one_or_none()


def _next_version(session: Session, key: str) -> int:
    top = session.execute(
        select(func.max(FeatureFlagVersion.version)).where(FeatureFlagVersion.flag_key == key)
    ).scalar_one()
    return int(top or 0) + 1


# --- writing a change -------------------------------------------------------------------


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    key: str,
    *,
    reason: str,
    before: int | None,
    after: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        action=action,
        target_type="flag",
        target_id=key,
        before={"version": before} if before is not None else None,
        after=after,
        reason=reason,
    )


def _make_live(
    session: Session, flag: FeatureFlag, row: FeatureFlagVersion, definition: FlagDefinition
) -> None:
    """Put ``row`` live: supersede the old live row, move the flag, bump the revision."""
    now = utcnow()
    # Conditional on the version we read: a concurrent change on PostgreSQL loses here.
    moved = session.execute(
        update(FeatureFlag)
        .where(FeatureFlag.key == flag.key, FeatureFlag.version == row.based_on)
        .values(
            definition=_dump(definition),
            version=row.version,
            updated_at=now,
            updated_by=row.requested_by,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise FlagConflict(f"flag {flag.key!r} changed meanwhile; read it again")
    session.execute(
        update(FeatureFlagVersion)
        .where(
            FeatureFlagVersion.flag_key == flag.key,
            FeatureFlagVersion.status == "live",
            FeatureFlagVersion.version != row.version,
        )
        .values(status="superseded")
        .execution_options(synchronize_session=False)
    )
    row.status = "live"
    session.flush()
    session.expire(flag)
    bump_revision(session)


def _change(
    session: Session,
    actor: Principal,
    flag: FeatureFlag,
    definition: FlagDefinition,
    *,
    action: str,
    justification: str,
    break_glass: bool,
    immediate: bool = False,
) -> FlagChange:
    """Record a change of an existing flag: live at once or pending approval."""
    if definition.kind != flag.kind:
        raise FlagInvalid(f"a flag's kind cannot change (it is {flag.kind})")
    known_segments(session, definition)
    if break_glass:
        require(actor, "flags.break_glass")
    live_now = immediate or not flag.requires_approval or break_glass
    if not live_now and _pending(session, flag.key) is not None:
        raise FlagConflict(
            f"flag {flag.key!r} already has a change waiting for approval; approve or "
            "reject it first"
        )
    now = utcnow()
    row = FeatureFlagVersion(
        flag_key=flag.key,
        version=_next_version(session, flag.key),
        definition=_dump(definition),
        status="pending",
        action=action,
        requested_by=actor.actor,
        requested_at=now,
        justification=justification,
        break_glass=break_glass,
        based_on=flag.version,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise FlagConflict(f"flag {flag.key!r} changed meanwhile; read it again") from None
    before = flag.version
    if live_now:
        _make_live(session, flag, row, definition)
    _audit(
        session, actor, f"flag.{action}", flag.key, reason=justification, before=before,
        after={"version": row.version, "status": row.status, "break_glass": row.break_glass},
    )  # fmt: skip
    status: Literal["live", "pending"] = "live" if live_now else "pending"
    return FlagChange(key=flag.key, version=row.version, status=status, action=action)


# --- the service ----------------------------------------------------------------------


def create_flag(
    session: Session,
    actor: Principal,
    key: str,
    definition: DefinitionIn,
    *,
    justification: str,
    requires_approval: bool = False,
) -> FlagChange:
    """Create a flag, live at once as version 1 (the flag is new: nothing can have relied
    on it, so four eyes start with its first change)."""
    require(actor, "flags.manage")
    checked_key(key)
    reason = justified(justification)
    parsed = parse_definition(definition)
    known_segments(session, parsed)
    if session.get(FeatureFlag, key) is not None:
        raise FlagConflict(f"flag {key!r} exists already", details={"key": key})
    now = utcnow()
    session.add(
        FeatureFlag(
            key=key, kind=parsed.kind, definition=_dump(parsed), version=1,
            requires_approval=requires_approval, created_at=now, created_by=actor.actor,
            updated_at=now, updated_by=actor.actor,
        )
    )  # fmt: skip
    session.add(
        FeatureFlagVersion(
            flag_key=key, version=1, definition=_dump(parsed), status="live",
            action="create", requested_by=actor.actor, requested_at=now,
            justification=reason, break_glass=False, based_on=None,
        )
    )  # fmt: skip
    try:
        session.flush()
    except IntegrityError:
        raise FlagConflict(f"flag {key!r} exists already", details={"key": key}) from None
    bump_revision(session)
    _audit(
        session, actor, "flag.create", key, reason=reason, before=None,
        after={"version": 1, "status": "live", "requires_approval": requires_approval},
    )  # fmt: skip
    return FlagChange(key=key, version=1, status="live", action="create")


def update_flag(
    session: Session,
    actor: Principal,
    key: str,
    definition: DefinitionIn,
    *,
    justification: str,
    based_on: int,
    break_glass: bool = False,
) -> FlagChange:
    """Change a flag's definition; ``based_on`` is the live version the caller edited
    (``409 flag_conflict`` if another change came first)."""
    require(actor, "flags.manage")
    reason = justified(justification)
    parsed = parse_definition(definition)
    flag = _flag(session, key, for_update=True)
    if flag.version != based_on:
        raise FlagConflict(
            f"flag {key!r} is at version {flag.version}, not {based_on}; read it again",
            details={"version": flag.version, "based_on": based_on},
        )
    return _change(
        session, actor, flag, parsed, action="update", justification=reason,
        break_glass=break_glass,
    )  # fmt: skip


def set_enabled(
    session: Session,
    actor: Principal,
    key: str,
    enabled: bool,
    *,
    justification: str,
    break_glass: bool = False,
) -> FlagChange:
    """The kill switch (``enabled`` False: always live at once) and turning it back on
    (a change like any other: pending if the flag requires approval)."""
    require(actor, "flags.manage")
    reason = justified(justification)
    flag = _flag(session, key, for_update=True)
    current = FlagDefinition.model_validate(flag.definition)
    changed = current.model_copy(update={"enabled": enabled})
    return _change(
        session, actor, flag, changed, action="enable" if enabled else "kill",
        justification=reason, break_glass=break_glass, immediate=not enabled,
    )  # fmt: skip


def rollback_flag(
    session: Session,
    actor: Principal,
    key: str,
    to_version: int,
    *,
    justification: str,
    break_glass: bool = False,
) -> FlagChange:
    """A new version whose definition is exactly that of ``to_version`` (any version that
    was once live)."""
    require(actor, "flags.manage")
    reason = justified(justification)
    flag = _flag(session, key, for_update=True)
    old = _version_row(session, key, to_version)
    if old.status not in ("live", "superseded"):
        raise FlagConflict(
            f"version {to_version} of {key!r} was never live ({old.status})",
            details={"status": old.status},
        )
    definition = FlagDefinition.model_validate(old.definition)
    return _change(
        session, actor, flag, definition, action="rollback", justification=reason,
        break_glass=break_glass,
    )  # fmt: skip


def approve_change(session: Session, actor: Principal, key: str, version: int) -> FlagChange:
    """Approve a pending change: a different person than its requester (four eyes)."""
    require(actor, "flags.approve")
    flag = _flag(session, key, for_update=True)
    row = _version_row(session, key, version)
    if row.status != "pending":
        raise FlagConflict(f"version {version} of {key!r} is {row.status}, not pending")
    if row.requested_by == actor.actor:
        raise FourEyesRequired("a change must be approved by someone other than its requester")
    if row.based_on != flag.version:
        raise FlagConflict(
            f"flag {key!r} changed since this request (now version {flag.version}); reject "
            "it and request the change again",
            details={"version": flag.version, "based_on": row.based_on},
        )
    row.approved_by, row.approved_at = actor.actor, utcnow()
    _make_live(session, flag, row, FlagDefinition.model_validate(row.definition))
    _audit(
        session, actor, "flag.approve", key, reason=row.justification, before=row.based_on,
        after={"version": version, "status": "live", "requested_by": row.requested_by},
    )  # fmt: skip
    return FlagChange(key=key, version=version, status="live", action=row.action)


def reject_change(
    session: Session, actor: Principal, key: str, version: int, *, justification: str
) -> FlagChange:
    """Refuse a pending change (its requester may withdraw it the same way)."""
    reason = justified(justification)
    _flag(session, key, for_update=True)  # serialised with a concurrent approval
    row = _version_row(session, key, version)
    if row.requested_by != actor.actor:
        require(actor, "flags.approve")
    else:
        require(actor, "flags.manage")
    if row.status != "pending":
        raise FlagConflict(f"version {version} of {key!r} is {row.status}, not pending")
    row.status = "rejected"
    row.approved_by, row.approved_at = actor.actor, utcnow()
    session.flush()
    _audit(
        session, actor, "flag.reject", key, reason=reason, before=row.based_on,
        after={"version": version, "status": "rejected", "requested_by": row.requested_by},
    )  # fmt: skip
    return FlagChange(key=key, version=version, status="rejected", action=row.action)


# --- reading ----------------------------------------------------------------------------


def _summary_fields(flag: FeatureFlag, pending: bool) -> dict[str, Any]:
    definition = flag.definition
    return {
        "key": flag.key,
        "kind": flag.kind,
        "version": flag.version,
        "enabled": bool(definition.get("enabled", True)),
        "description": definition.get("description", ""),
        "requires_approval": flag.requires_approval,
        "pending": pending,
        "updated_at": flag.updated_at,
        "updated_by": flag.updated_by,
    }


def list_flags(session: Session, actor: Principal) -> list[FlagSummary]:
    """Every flag by key, with whether a change waits for approval."""
    require(actor, "flags.read")
    pending = set(
        session.execute(
            select(FeatureFlagVersion.flag_key).where(FeatureFlagVersion.status == "pending")
        ).scalars()
    )
    flags = session.execute(select(FeatureFlag).order_by(FeatureFlag.key)).scalars()
    return [FlagSummary(**_summary_fields(f, f.key in pending)) for f in flags]


def _diff(before: dict[str, Any] | None, after: dict[str, Any], old: str, new: str) -> list[str]:
    def lines(d: dict[str, Any] | None) -> list[str]:
        return [] if d is None else json.dumps(d, indent=2, sort_keys=True).splitlines()

    return list(difflib.unified_diff(lines(before), lines(after), old, new, lineterm=""))


def _version_views(session: Session, key: str) -> list[FlagVersionView]:
    rows = list(
        session.execute(
            select(FeatureFlagVersion)
            .where(FeatureFlagVersion.flag_key == key)
            .order_by(FeatureFlagVersion.version.desc())
        ).scalars()
    )
    by_version = {r.version: r for r in rows}
    views = []
    for r in rows:
        # Against the version it was based on: what the approver is asked to accept.
        base = by_version.get(r.based_on) if r.based_on is not None else None
        diff = _diff(
            base.definition if base else None, r.definition,
            f"v{base.version}" if base else "(none)", f"v{r.version}",
        )  # fmt: skip
        views.append(
            FlagVersionView(
                key=key, version=r.version, action=r.action, status=r.status,
                requested_by=r.requested_by, requested_at=r.requested_at,
                justification=r.justification, approved_by=r.approved_by,
                approved_at=r.approved_at, break_glass=r.break_glass, based_on=r.based_on,
                definition=FlagDefinition.model_validate(r.definition), diff=diff,
            )
        )  # fmt: skip
    return views


def get_flag(session: Session, actor: Principal, key: str) -> FlagDetail:
    """A flag's live definition and the change waiting for approval, if any."""
    require(actor, "flags.read")
    flag = _flag(session, key)
    pending_row = _pending(session, key)
    pending_view = None
    if pending_row is not None:
        pending_view = next(
            v for v in _version_views(session, key) if v.version == pending_row.version
        )
    return FlagDetail(
        **_summary_fields(flag, pending_row is not None),
        definition=FlagDefinition.model_validate(flag.definition),
        pending_change=pending_view,
    )


def change_log(session: Session, actor: Principal, key: str) -> list[FlagVersionView]:
    """Every version of a flag, newest first: requester, approver, justification, diff."""
    require(actor, "flags.read")
    _flag(session, key)
    return _version_views(session, key)
