"""Drill health for Prometheus, set by the scheduler's ``dr.metrics`` job (every 30 s), the
way ``ops/backup/metrics.py`` sets the backup gauges. Alert rules in
deploy/prometheus/alerts.yml (CarePipeDrDrillOverdue, CarePipeDrDrillMissedTargets,
CarePipeDrFindingsOverdue).

Series of the newest drill carry its ``layout`` and are absent until a drill finished,
so a fresh install does not look like one whose drill failed; the last passed drill's
time is 0 until there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Gauge
from sqlalchemy import func, select

from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.observability.metrics import REGISTRY
from carepipe.ops.dr import store
from carepipe.ops.dr.findings import SEVERITIES
from carepipe.ops.dr.models import DrFinding

LAST_PASSED = Gauge(
    "carepipe_dr_last_drill_timestamp_seconds",
    "Unix time the last PASSED disaster-recovery drill finished; 0 when none has.",
    registry=REGISTRY,
)
LAST_OK = Gauge(
    "carepipe_dr_last_drill_passed",
    "1 if the newest finished drill passed, else 0 (absent before the first drill).",
    ["layout"],
    registry=REGISTRY,
)
LAST_RTO = Gauge(
    "carepipe_dr_last_drill_rto_seconds",
    "RTO measured by the newest finished drill (fence to standby passing smoke tests).",
    ["layout"],
    registry=REGISTRY,
)
LAST_RPO = Gauge(
    "carepipe_dr_last_drill_rpo_seconds",
    "RPO measured by the newest finished drill (fence minus newest heartbeat on the standby).",
    ["layout"],
    registry=REGISTRY,
)
RTO_TARGET = Gauge(
    "carepipe_dr_rto_target_seconds",
    "The RTO target (CAREPIPE_DR_RTO_SECONDS).",
    registry=REGISTRY,
)
INTERVAL = Gauge(
    "carepipe_dr_drill_interval_seconds",
    "Drill policy: a passed drill at least this often (CAREPIPE_DR_DRILL_INTERVAL_DAYS); "
    "0 when drills are not scheduled.",
    registry=REGISTRY,
)
OPEN_FINDINGS = Gauge(
    "carepipe_dr_open_findings",
    "Open drill findings, by severity.",
    ["severity"],
    registry=REGISTRY,
)
OVERDUE_FINDINGS = Gauge(
    "carepipe_dr_overdue_findings",
    "Open drill findings past their due date.",
    registry=REGISTRY,
)


@dataclass(frozen=True)
class DrHealth:
    """What the gauges were set to (returned for the caller and tests)."""

    last_passed_at: float
    newest_status: str | None
    open_findings: dict[str, int]
    overdue_findings: int


def export_dr_metrics(db: Database, settings: Settings) -> DrHealth:
    """Read drills and findings and set the ``carepipe_dr_*`` gauges."""
    today = utcnow().date()
    with db.session() as s:
        passed = store.last_drill(s, status="passed")
        newest = store.last_drill(s)
        counts = dict(
            s.execute(
                select(DrFinding.severity, func.count())
                .where(DrFinding.status == "open")
                .group_by(DrFinding.severity)
            ).all()
        )
        overdue = s.scalar(
            select(func.count())
            .select_from(DrFinding)
            .where(DrFinding.status == "open", DrFinding.due_date < today)
        )
    RTO_TARGET.set(settings.dr_rto_seconds)
    INTERVAL.set(settings.dr_drill_interval_days * 86400)
    last_passed = passed.finished_at.timestamp() if passed and passed.finished_at else 0.0
    LAST_PASSED.set(last_passed)
    for gauge in (LAST_OK, LAST_RTO, LAST_RPO):
        gauge.clear()  # a change of layout must not leave the old series behind
    if newest is not None:
        LAST_OK.labels(newest.layout).set(1 if newest.status == "passed" else 0)
        if newest.rto_seconds is not None:
            LAST_RTO.labels(newest.layout).set(newest.rto_seconds)
        if newest.rpo_seconds is not None:
            LAST_RPO.labels(newest.layout).set(newest.rpo_seconds)
    open_by = {sev: int(counts.get(sev, 0)) for sev in SEVERITIES}
    for sev in set(counts) - set(SEVERITIES):
        open_by[sev] = int(counts[sev])
    for sev, n in open_by.items():
        OPEN_FINDINGS.labels(sev).set(n)
    OVERDUE_FINDINGS.set(int(overdue or 0))
    return DrHealth(last_passed, newest.status if newest else None, open_by, int(overdue or 0))
