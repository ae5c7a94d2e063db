"""What drill services return (CLI, API, console and reports render these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from carepipe.ops.views import View


class TimelineEvent(View):
    """One step of a drill, in order: ``fence``, ``restore``, ``standby_up``, ``smoke``..."""

    at: datetime
    step: str
    detail: str = ""


class SmokeResult(View):
    """One smoke test against the standby."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


class FindingView(View):
    """An action item: what to fix, who owns it, by when; ``ticket`` once filed."""

    id: int
    drill_id: str
    title: str
    detail: str
    severity: str
    owner: str
    due_date: date
    status: str
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    ticket: str | None = None


class DrillView(View):
    """A drill: targets, measurements, timeline, smoke tests, what was missing, findings."""

    id: str
    status: str = Field(description="running, passed, failed or error.")
    trigger: str
    layout: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None = None
    rto_target_seconds: int
    rpo_target_seconds: int
    rto_seconds: float | None = Field(None, description="Fence to standby passing smoke tests.")
    rpo_seconds: float | None = Field(
        None, description="Fence time minus the newest heartbeat on the standby."
    )
    rto_met: bool | None = None
    rpo_met: bool | None = None
    fenced_at: datetime | None = None
    standby_ready_at: datetime | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    smoke: list[SmokeResult] = Field(default_factory=list)
    missing: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Acknowledged on the primary before fence - RPO target, absent on the "
        "standby (must be empty).",
    )
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    findings: list[FindingView] = Field(default_factory=list)
