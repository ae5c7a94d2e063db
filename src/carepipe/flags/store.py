"""Reading the live flags and segments as one immutable snapshot, and bumping the revision.

Every process evaluates flags from a ``Snapshot`` held in memory (``carepipe.flags.cache``);
this module is the only code that turns table rows into one. ``flag_state.revision`` is
the one number that tells a process its snapshot is stale: every change bumps it in the
changing transaction and, on PostgreSQL, NOTIFYs ``carepipe_flags`` (delivered at commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.flags.definition import FlagDefinition, Segment
from carepipe.flags.models import FeatureFlag, FlagSegment, FlagState
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.flags.store")

CHANNEL = "carepipe_flags"
STATE_ID = 1

_NOTIFY = text("SELECT pg_notify(:c, :p)")


@dataclass(frozen=True)
class LiveFlag:
    """A flag's live version as the evaluators see it."""

    key: str
    version: int
    definition: FlagDefinition


@dataclass(frozen=True)
class Snapshot:
    """Every live flag and segment at one ``flag_state.revision`` (0: nothing changed yet)."""

    revision: int
    flags: Mapping[str, LiveFlag]
    segments: Mapping[str, Segment]


EMPTY = Snapshot(revision=0, flags=MappingProxyType({}), segments=MappingProxyType({}))


def read_revision(session: Session) -> int:
    """The current revision: one primary-key read (what every process polls)."""
    value = session.execute(
        select(FlagState.revision).where(FlagState.id == STATE_ID)
    ).scalar_one_or_none()
    return int(value or 0)


def load_snapshot(session: Session) -> Snapshot:
    """All live flags and segments with the revision they belong to.

    The revision is read first: a change committed between the reads makes the snapshot
    newer than its revision says, never older, so the next poll reloads at worst once more.
    """
    revision = read_revision(session)
    flags: dict[str, LiveFlag] = {}
    for row in session.execute(select(FeatureFlag)).scalars():
        try:
            definition = FlagDefinition.model_validate(row.definition)
        except ValidationError:
            # The service stores only definitions that validate; one edited by hand must
            # not take every other flag down with it. Left out, it evaluates as not found
            # (callers get their default).
            log.error("flag_definition_invalid", flag=row.key, version=row.version)
            continue
        flags[row.key] = LiveFlag(row.key, row.version, definition)
    segments: dict[str, Segment] = {}
    for seg in session.execute(select(FlagSegment)).scalars():
        try:
            segments[seg.key] = Segment.model_validate(seg.definition)
        except ValidationError:
            # A rule naming a missing segment matches nobody (the safe direction).
            log.error("flag_segment_invalid", segment=seg.key)
    return Snapshot(revision, MappingProxyType(flags), MappingProxyType(segments))


def bump_revision(session: Session) -> int:
    """Advance the revision in the caller's transaction and, on PostgreSQL, NOTIFY every
    listening process (delivered at commit, discarded on rollback). Returns the new one."""
    now = utcnow()
    bump = (
        update(FlagState)
        .where(FlagState.id == STATE_ID)
        .values(revision=FlagState.revision + 1, updated_at=now)
        .returning(FlagState.revision)
    )
    result = session.execute(bump).scalar_one_or_none()
    if result is None:
        # First change ever: the migration leaves the table empty. Insert-if-absent, so
        # two first changes at once both go on to the increment below.
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(FlagState)
            .values(id=STATE_ID, revision=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        result = session.execute(bump).scalar_one()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"c": CHANNEL, "p": str(result)})
    return int(result)
