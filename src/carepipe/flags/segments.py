"""Segments: named groups of contexts that flag rules refer to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import ValidationFailed
from carepipe.flags.checks import (
    MAX_JUSTIFICATION,
    SegmentIn,
    checked_key,
    justified,
    parse_segment,
)
from carepipe.flags.definition import FlagDefinition, Segment
from carepipe.flags.models import FeatureFlag, FlagSegment
from carepipe.flags.store import bump_revision
from carepipe.flags.views import SegmentView


def _segment_users(session: Session) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for flag in session.execute(select(FeatureFlag).order_by(FeatureFlag.key)).scalars():
        for name in FlagDefinition.model_validate(flag.definition).segment_names():
            used.setdefault(name, []).append(flag.key)
    return used


def _segment_view(row: FlagSegment, used: dict[str, list[str]]) -> SegmentView:
    return SegmentView(
        key=row.key, segment=Segment.model_validate(row.definition),
        description=row.description, updated_at=row.updated_at, updated_by=row.updated_by,
        used_by=used.get(row.key, []),
    )  # fmt: skip


def put_segment(
    session: Session,
    actor: Principal,
    key: str,
    segment: SegmentIn,
    *,
    description: str,
    justification: str,
) -> SegmentView:
    """Create or replace a segment (live at once; every flag naming it follows)."""
    require(actor, "flags.manage")
    checked_key(key, "segment")
    reason = justified(justification)
    parsed = parse_segment(segment)
    if len(description) > MAX_JUSTIFICATION:
        raise ValidationFailed(f"description is longer than {MAX_JUSTIFICATION} characters")
    now = utcnow()
    row = session.get(FlagSegment, key)
    before = None if row is None else row.definition
    if row is None:
        row = FlagSegment(key=key)
        session.add(row)
    row.definition = parsed.model_dump(mode="json")
    row.description = description
    row.updated_at, row.updated_by = now, actor.actor
    session.flush()
    bump_revision(session)
    audit.record(
        session, actor=actor.actor, actor_role=actor.role, action="flag.segment.put",
        target_type="flag_segment", target_id=key, reason=reason,
        before={"existed": before is not None}, after={"conditions": len(parsed.conditions)},
    )  # fmt: skip
    return _segment_view(row, _segment_users(session))


def list_segments(session: Session, actor: Principal) -> list[SegmentView]:
    """Every segment by key, with the flags that use it."""
    require(actor, "flags.read")
    used = _segment_users(session)
    rows = session.execute(select(FlagSegment).order_by(FlagSegment.key)).scalars()
    return [_segment_view(r, used) for r in rows]
