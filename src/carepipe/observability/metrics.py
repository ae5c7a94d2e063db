"""Prometheus metrics. Queue depth and dead letters are read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from carepipe.observability.logging import get_logger

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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
# Scribe accuracy (issue 11): transcripts failing the quality checks, post-ASR corrections.
ASR_SUSPECT = Counter(
    "carepipe_asr_suspect",
    "Transcripts that failed an ASR quality check, by reason.",
    ["model_version", "reason"],
    registry=REGISTRY,
)
ASR_CORRECTIONS = Counter(
    "carepipe_asr_corrections",
    "Changes made to transcripts before note drafting, by kind (number_form, drug_name).",
    ["kind"],
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
API_INFLIGHT = Gauge(
    "carepipe_api_inflight_requests",
    "API requests under /v1 at work now (bounded by CAREPIPE_API_MAX_INFLIGHT)",
    registry=REGISTRY,
)
API_REFUSED = Counter(
    "carepipe_api_refused_total",
    "API requests refused before any work: overloaded (503) or over a tenant's rate (429)",
    ["reason"],
    registry=REGISTRY,
)
LEASES_LOST = Counter(
    "carepipe_leases_lost_total",
    "Running tasks whose lease a worker found taken over (expired while it worked)",
    ["queue"],
    registry=REGISTRY,
)
MESSAGES_INGESTED = Counter(
    "carepipe_messages_ingested_total",
    "Raw messages archived, by source and status.",
    ["source", "status"],
    registry=REGISTRY,
)
# HL7 v2 over MLLP (issue 10 backpressure): messages being handled and the bound on them.
MLLP_IN_FLIGHT = Gauge(
    "carepipe_mllp_in_flight_messages",
    "MLLP messages read and not yet acknowledged, in this process.",
    registry=REGISTRY,
)
MLLP_IN_FLIGHT_LIMIT = Gauge(
    "carepipe_mllp_in_flight_limit",
    "Bound on MLLP messages in flight per listener (CAREPIPE_MLLP_MAX_IN_FLIGHT).",
    registry=REGISTRY,
)
MLLP_BACKPRESSURE = Counter(
    "carepipe_mllp_backpressure_waits_total",
    "Times an MLLP connection stopped reading because the in-flight bound was reached.",
    registry=REGISTRY,
)
# Audit log (issue 10): checkpoints this process attempted, and when it last wrote one.
AUDIT_CHECKPOINTS = Counter(
    "carepipe_audit_checkpoints_total",
    "Audit checkpoints by result (written, unchanged, empty, refused: the log was tampered with).",
    ["result"],
    registry=REGISTRY,
)
AUDIT_CHECKPOINT_LAST = Gauge(
    "carepipe_audit_checkpoint_last_timestamp_seconds",
    "Unix time of the last audit checkpoint this process wrote.",
    registry=REGISTRY,
)


# The statuses ``carepipe_queue_depth`` reports: what waits, runs or died in a queue.
# ``done`` and ``cancelled`` tasks are history, not depth (``carepipe_tasks_total``
# counts them), and counting them at every scrape would scan the whole table.
DEPTH_STATUSES = ("ready", "leased", "dead")

KnownQueues = Callable[["Session"], Iterable[str]]


def registered_queues(session: Session) -> list[str]:
    """Every queue a sample must exist for, even before any work arrives: each stage
    queue of every pipeline registered in this process, plus the queues of backfills
    that have not finished (``backfill-<id>``)."""
    # Imported here: the pipeline modules import this module's metric objects, and the
    # registry is filled by whoever loaded the pipelines in this process.
    from carepipe.core.model_registry import metadata
    from carepipe.pipelines.registry import all_queues

    names = set(all_queues())
    backfills = metadata.tables.get("backfills")
    if backfills is not None:
        names.update(
            session.execute(
                select(backfills.c.queue).where(
                    backfills.c.finished_at.is_(None), backfills.c.queue != ""
                )
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
        from carepipe.core.clock import utcnow
        from carepipe.core.models import Task

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
