"""Prometheus metrics. Queue depth and dead letters are read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from carepipe.core.db import Database

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_TASK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

TASKS_TOTAL = Counter(
    "carepipe_tasks_total",
    "Tasks finished, by queue and outcome.",
    ["queue", "outcome"],
    registry=REGISTRY,
)
TASK_DURATION = Histogram(
    "carepipe_task_duration_seconds",
    "Stage handler run time.",
    ["queue"],
    buckets=_TASK_BUCKETS,
    registry=REGISTRY,
)
TASK_WAIT = Histogram(
    "carepipe_task_wait_seconds",
    "Time from ready to claimed.",
    ["queue"],
    buckets=_TASK_BUCKETS,
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "carepipe_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "carepipe_worker_threads", "Worker threads running in this process.", registry=REGISTRY
)
ASR_RTF = Histogram(
    "carepipe_asr_rtf",
    "ASR real-time factor (processing seconds per audio second).",
    ["model_version"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5),
    registry=REGISTRY,
)
ASR_AUDIO_SECONDS = Counter(
    "carepipe_asr_audio_seconds",
    "Seconds of audio transcribed.",
    ["model_version"],
    registry=REGISTRY,
)
NOTE_ENTITIES = Counter(
    "carepipe_note_entities",
    "Entities found in drafted notes, by kind.",
    ["model_version", "kind"],
    registry=REGISTRY,
)
NOTE_LOW_CONFIDENCE = Counter(
    "carepipe_note_low_confidence_items",
    "Note items flagged low-confidence for review.",
    ["model_version"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "carepipe_llm_tokens",
    "Tokens used by LLM engines.",
    ["model_version", "kind"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "carepipe_llm_cost_usd",
    "Cost of LLM engine calls in US dollars.",
    ["model_version"],
    registry=REGISTRY,
)
MESSAGES_INGESTED = Counter(
    "carepipe_messages_ingested_total",
    "Raw messages archived, by source and status.",
    ["source", "status"],
    registry=REGISTRY,
)


class QueueCollector(Collector):
    """Queue depth by queue and status, and dead letters by queue, counted at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from carepipe.core.models import Task

        depth = GaugeMetricFamily(
            "carepipe_queue_depth", "Tasks per queue and status.", labels=["queue", "status"]
        )
        dead = GaugeMetricFamily("carepipe_dead_letters", "Dead tasks per queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "carepipe_queue_oldest_ready_seconds",
            "Age of the oldest ready task.",
            labels=["queue"],
        )
        try:
            with self.db.session() as s:
                rows = s.execute(
                    select(Task.queue, Task.status, func.count(), func.min(Task.run_after))
                    .where(Task.status.in_(("ready", "leased", "dead")))
                    .group_by(Task.queue, Task.status)
                ).all()
        except Exception:
            return
        from carepipe.core.clock import utcnow

        now = utcnow()
        for queue, status, count, min_run_after in rows:
            depth.add_metric([queue, status], count)
            if status == "dead":
                dead.add_metric([queue], count)
            if status == "ready" and min_run_after is not None:
                if min_run_after.tzinfo is None:
                    from datetime import UTC

                    min_run_after = min_run_after.replace(tzinfo=UTC)
                oldest.add_metric([queue], max(0.0, (now - min_run_after).total_seconds()))
        yield depth
        yield dead
        yield oldest


_collector: QueueCollector | None = None


def install_queue_collector(db: Database) -> None:
    """Point the (single, process-wide) scrape-time collector at ``db``."""
    global _collector
    if _collector is None:
        _collector = QueueCollector(db)
        REGISTRY.register(_collector)
    else:
        _collector.db = db
