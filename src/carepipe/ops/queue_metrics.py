"""Queue depth, dead letters and the oldest waiting task, read from the database at scrape time.

Every known queue gets a sample for every status in ``DEPTH_STATUSES``, 0 when
empty: a fresh platform exports its zeros, so dashboards draw a line and
``delta``/``absent`` alerts have a baseline (a series that appears only with its
first dead letter never shows the jump from 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.models import Task
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import REGISTRY
from carepipe.ops.backfill_models import Backfill
from carepipe.pipelines.registry import all_queues

# The statuses ``carepipe_queue_depth`` reports: what waits, runs or died in a queue.
# ``done`` and ``cancelled`` tasks are history, not depth (``carepipe_tasks_total``
# counts them), and counting them at every scrape would scan the whole table.
DEPTH_STATUSES = ("ready", "leased", "dead")

KnownQueues = Callable[[Session], Iterable[str]]


def registered_queues(session: Session) -> list[str]:
    """Every queue a sample must exist for, even before any work arrives: each stage
    queue of every pipeline registered in this process, plus the queues of backfills
    that have not finished (``backfill-<id>``)."""
    names = set(all_queues())
    names.update(
        session.execute(
            select(Backfill.queue).where(Backfill.finished_at.is_(None), Backfill.queue != "")
        ).scalars()
    )
    return sorted(names)


class QueueCollector(Collector):
    """Queue depth by queue and status, and dead letters by queue, counted at scrape time.

    Every known queue (``known_queues``) gets a sample for every status in
    ``DEPTH_STATUSES``, 0 when empty: a fresh platform exports its zeros, so
    dashboards draw a line and ``delta``/``absent`` alerts have a baseline (a series
    that appears only with its first dead letter never shows the jump from 0).
    """

    def __init__(self, db: Database, known_queues: KnownQueues = registered_queues) -> None:
        self.db = db
        self.known_queues = known_queues

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "carepipe_queue_depth",
            "Tasks per queue and status (ready, leased, dead); 0 for every known queue.",
            labels=["queue", "status"],
        )
        dead = GaugeMetricFamily("carepipe_dead_letters", "Dead tasks per queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "carepipe_queue_oldest_ready_seconds",
            "Age of the oldest ready task (0 when none waits).",
            labels=["queue"],
        )
        counts: dict[tuple[str, str], int] = {}
        ages: dict[str, float] = {}
        try:
            with self.db.session() as s:
                queues = set(self.known_queues(s))
                rows = s.execute(
                    select(Task.queue, Task.status, func.count(), func.min(Task.run_after))
                    .where(Task.status.in_(DEPTH_STATUSES))
                    .group_by(Task.queue, Task.status)
                ).all()
        except Exception as exc:  # a scrape must not fail because the database is away
            get_logger("carepipe.metrics").warning(
                "metrics.queue_depth_failed", error=type(exc).__name__
            )
            return
        now = utcnow()
        for queue, status, count, min_run_after in rows:
            queues.add(queue)
            counts[(queue, status)] = int(count)
            if status == "ready" and min_run_after is not None:
                if min_run_after.tzinfo is None:
                    min_run_after = min_run_after.replace(tzinfo=UTC)
                ages[queue] = max(0.0, (now - min_run_after).total_seconds())
        for queue in sorted(queues):
            for status in DEPTH_STATUSES:
                depth.add_metric([queue, status], counts.get((queue, status), 0))
            dead.add_metric([queue], counts.get((queue, "dead"), 0))
            oldest.add_metric([queue], ages.get(queue, 0.0))
        yield depth
        yield dead
        yield oldest


_collector: QueueCollector | None = None


def install_queue_collector(db: Database, known_queues: KnownQueues | None = None) -> None:
    """Point the (single, process-wide) scrape-time collector at ``db``; ``known_queues``
    replaces the default list of queues that always get a sample (``registered_queues``)."""
    global _collector
    if _collector is None:
        _collector = QueueCollector(db, known_queues or registered_queues)
        REGISTRY.register(_collector)
    else:
        _collector.db = db
        _collector.known_queues = known_queues or registered_queues
