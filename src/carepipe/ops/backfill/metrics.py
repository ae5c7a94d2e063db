"""Backfill metrics: counters at the moment things happen, gauges counted at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from carepipe.core.db import Database
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import REGISTRY
from carepipe.ops.backfill.progress import read_progress
from carepipe.ops.backfill_models import Backfill

log = get_logger("carepipe.backfill")

BACKFILLS_STARTED = Counter(
    "carepipe_backfill_started",
    "Backfills started.",
    ["pipeline"],
    registry=REGISTRY,
)
BACKFILL_ITEMS_QUEUED = Counter(
    "carepipe_backfill_items_queued",
    "Archived messages queued for reprocessing by backfills, by action (rerun, created).",
    ["action"],
    registry=REGISTRY,
)


class BackfillCollector(Collector):
    """``carepipe_backfill_items{backfill,state}`` and friends, counted at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = self.db
        items = GaugeMetricFamily(
            "carepipe_backfill_items",
            "Items of unfinished backfills by state (succeeded, failed, waiting_review, "
            "cancelled, skipped, remaining).",
            labels=["backfill", "pipeline", "state"],
        )
        eta = GaugeMetricFamily(
            "carepipe_backfill_eta_seconds", "Estimated seconds left.", labels=["backfill"]
        )
        rate = GaugeMetricFamily(
            "carepipe_backfill_observed_rate_per_minute",
            "Items claimed per minute over the last 5 minutes.",
            labels=["backfill"],
        )
        by_status = GaugeMetricFamily(
            "carepipe_backfills", "Backfills by status.", labels=["status"]
        )
        try:
            with db.session() as s:
                for status, n in s.execute(
                    select(Backfill.status, func.count()).group_by(Backfill.status)
                ).all():
                    by_status.add_metric([status], n)
                active = s.execute(select(Backfill).where(Backfill.finished_at.is_(None))).scalars()
                for bf in active:
                    p = read_progress(s, bf)
                    for state, value in (
                        ("succeeded", p.succeeded),
                        ("failed", p.failed),
                        ("waiting_review", p.waiting_review),
                        ("cancelled", p.cancelled),
                        ("skipped", p.skipped),
                        ("remaining", p.remaining),
                    ):
                        items.add_metric([bf.id, bf.pipeline, state], value)
                    if p.eta_seconds is not None:
                        eta.add_metric([bf.id], p.eta_seconds)
                    if p.observed_rate_per_minute is not None:
                        rate.add_metric([bf.id], p.observed_rate_per_minute)
        except Exception as exc:  # a scrape must not fail because one query did
            log.warning("backfill.metrics_failed", error=type(exc).__name__)
            return
        yield items
        yield eta
        yield rate
        yield by_status


_collector: BackfillCollector | None = None


def install_backfill_collector(db: Database) -> None:
    """Count backfills in ``db`` at every scrape (one collector per process)."""
    global _collector
    if _collector is None:
        _collector = BackfillCollector(db)
        REGISTRY.register(_collector)
    else:
        _collector.db = db
