"""Tables of disaster-recovery drills (migration 0014): drills, their findings, heartbeats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType


class DrDrill(Base):
    """One drill: targets, measured RTO/RPO, the timeline and smoke results, the outcome.

    ``status``: running, passed (targets met, smoke tests green, nothing missing),
    failed (ran to the end, something missed), error (could not run to the end).
    """

    __tablename__ = "dr_drills"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # cli, schedule, console
    layout: Mapped[str] = mapped_column(String(16))  # sqlite, postgresql
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rto_target_seconds: Mapped[int] = mapped_column(Integer)
    rpo_target_seconds: Mapped[int] = mapped_column(Integer)
    rto_seconds: Mapped[float | None] = mapped_column(Float)
    rpo_seconds: Mapped[float | None] = mapped_column(Float)
    fenced_at: Mapped[datetime | None]
    standby_ready_at: Mapped[datetime | None]
    # [{"at": iso, "step": "fence", "detail": "..."}], in order.
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # [{"name": "health", "ok": true, "seconds": 0.1, "detail": "..."}].
    smoke: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # Items acknowledged on the primary before fence - RPO target and absent on the standby.
    missing: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class DrFinding(Base):
    """An action item from a drill: what to fix, who owns it, by when (tracker-exportable)."""

    __tablename__ = "dr_findings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("dr_drills.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))  # critical, high, medium, low
    owner: Mapped[str] = mapped_column(String(128))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(128))
    ticket: Mapped[str | None] = mapped_column(String(64))  # the tracker's key once filed


class DrHeartbeat(Base):
    """A row the drill writes on the primary every second until the fence; the newest one
    the standby has, against the fence time, is the drill's measured RPO."""

    __tablename__ = "dr_heartbeats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(String(36), index=True)
    written_at: Mapped[datetime]
