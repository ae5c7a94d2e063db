"""Tables of archive backfills: one row per backfill, one per archived message it selected.

Created by migration 0005.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType, new_id


class Backfill(Base):
    """A replay of archived messages into a pipeline, throttled by its own queue's rate limit.

    ``status``: ``planning`` (selecting messages and queuing them), ``running``,
    ``paused``, ``cancelled`` or ``completed``. ``finished_at`` is set once every
    queued item's job has ended and the reconciliation report has been written.
    """

    __tablename__ = "backfills"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default="planning")
    pipeline: Mapped[str] = mapped_column(String(64))
    # The archive filter (``ArchiveFilter.to_dict``): what was selected, for the report.
    filter: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    rate_per_minute: Mapped[float] = mapped_column(Float)
    queue: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_role: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When the rate window last restarted (start, resume): the observed rate counts from here.
    rate_since: Mapped[datetime | None]
    planned_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    matched: Mapped[int] = mapped_column(Integer, default=0)
    enqueued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    report_json_key: Mapped[str | None] = mapped_column(String(256))
    report_csv_key: Mapped[str | None] = mapped_column(String(256))
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    report_csv_sha256: Mapped[str | None] = mapped_column(String(64))
    audit_event_id: Mapped[int | None] = mapped_column(BigId)
    # Frozen at finalisation: the reconciliation totals (lists stay cheap to show).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (Index("ix_backfills_created", "created_at", "id"),)


class BackfillItem(Base):
    """One archived message selected by a backfill, and what the backfill did with it.

    ``action``: ``rerun`` (its existing job got a fresh first-stage task),
    ``created`` (it never had a job; one was created on the archived blob) or
    ``skipped`` (``reason`` says why: its job was already queued/running, the same
    job was already in this backfill, ...). ``outcome`` is frozen when the item
    is cancelled or the backfill is finalised; until then it is read from the job.
    ``prev_job`` keeps the job's state before the re-run, so a cancel can restore it.
    """

    __tablename__ = "backfill_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    backfill_id: Mapped[str] = mapped_column(ForeignKey("backfills.id"))
    message_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(32))
    task_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    prev_job: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    outcome: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("backfill_id", "message_id", name="uq_backfill_items_message"),
        Index("ix_backfill_items_job", "backfill_id", "job_id"),
    )
