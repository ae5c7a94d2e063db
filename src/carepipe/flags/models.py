"""Tables of feature flags (issue 16; migration 0013).

A flag's live definition sits on ``feature_flags``; every change, live or waiting for a
second person's approval, is a row of ``feature_flag_versions``, so any earlier version
can be restored exactly and the change log names requester, approver and justification.
``flag_state`` holds one row whose ``revision`` every change bumps: processes poll it
(one indexed read) and PostgreSQL also NOTIFYs it, so a kill switch reaches every API
and worker process within seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType

VERSION_STATUSES = ("live", "pending", "rejected", "superseded")


class FeatureFlag(Base):
    """A flag and its live definition (``FlagDefinition`` as JSON)."""

    __tablename__ = "feature_flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # boolean, string, number, object
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer)  # the live version's number
    # Production flags need a second person's approval for every change (four eyes).
    requires_approval: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class FeatureFlagVersion(Base):
    """One change of one flag: its whole definition, who asked, why, who approved."""

    __tablename__ = "feature_flag_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    flag_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16))  # one of VERSION_STATUSES
    action: Mapped[str] = mapped_column(String(32))  # create, update, kill, rollback...
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime]
    justification: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None]
    break_glass: Mapped[bool] = mapped_column(default=False)
    based_on: Mapped[int | None] = mapped_column(Integer)  # the live version it changed

    __table_args__ = (Index("ux_flag_versions_key_version", "flag_key", "version", unique=True),)


class FlagSegment(Base):
    """A named group of contexts (``Segment`` as JSON) that rules refer to."""

    __tablename__ = "flag_segments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class FlagState(Base):
    """One row (id 1): the revision of all flags and segments, bumped by every change."""

    __tablename__ = "flag_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class JobFlagVariant(Base):
    """The variant a job ran under, per flag it evaluated (adoption and error views)."""

    __tablename__ = "job_flag_variants"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(64))
    pipeline: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_job_flag_variants_flag_time", "flag_key", "recorded_at"),)


class FlagEvaluationCount(Base):
    """Evaluations per flag x variant x minute, flushed from each process's counters
    (so the adoption view needs no Prometheus)."""

    __tablename__ = "flag_evaluation_counts"

    flag_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
