"""The numbers behind the console's live dashboard tiles.

One ``snapshot`` is three small queries plus a read of the in-process latency
histogram:

- **Queue depth, dead letters, oldest waiting task** per queue: one grouped
  query over tasks that are ``ready``/``leased``/``dead`` (the same numbers as
  the ``carepipe_queue_depth`` metric), plus each queue's pause and rate limit.
- **Throughput**: tasks that finished (``done`` or ``dead``) in the last 5
  minutes, per minute and per queue, from ``tasks.finished_at`` (the range is
  read through the ``(status, updated_at)`` index; both are set together when a
  task finishes).
- **p95/p99 API latency**: a rolling window (up to 5 minutes) over the
  in-process ``carepipe_http_request_duration_seconds`` histogram, ``/v1/*``
  routes only: samples of its cumulative buckets are kept, and the quantile is
  interpolated (like PromQL's ``histogram_quantile``) from the difference
  between the newest and the oldest sample in the window. It covers this API
  process; Prometheus has the fleet-wide figure.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta

from pydantic import computed_field
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.models import QueueControl, Task
from carepipe.core.queue.states import TaskStatus
from carepipe.observability.metrics import HTTP_DURATION
from carepipe.ops.backfill_models import Backfill
from carepipe.ops.views import View

WINDOW = timedelta(minutes=5)
API_PREFIX = "/v1"


class QueueRow(View):
    """One queue's tile row: depth, dead letters, oldest wait, recent throughput, controls."""

    name: str
    ready: int = 0
    leased: int = 0
    dead: int = 0
    oldest_wait_seconds: float | None = None
    finished_5m: int = 0
    paused: bool = False
    rate_limit_per_minute: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def throughput_per_minute(self) -> float:
        """Tasks finished per minute over the last 5 minutes."""
        return round(self.finished_5m / (WINDOW.total_seconds() / 60), 1)


class Latency(View):
    """p95/p99 of this API process's ``/v1`` requests over the window."""

    p95_ms: float | None
    p99_ms: float | None
    requests: int
    window_seconds: float


class Snapshot(View):
    """The dashboard's numbers at ``at``."""

    at: datetime
    queues: list[QueueRow]
    finished_5m: int
    dead_5m: int
    latency: Latency
    active_backfills: int
    oldest_queue: str | None = None
    oldest_wait_seconds: float | None = None
    totals: dict[str, int] = {}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def throughput_per_minute(self) -> float:
        """Tasks finished per minute over the last 5 minutes, all queues."""
        return round(self.finished_5m / (WINDOW.total_seconds() / 60), 1)


def check_access(principal: Principal) -> None:
    """Anyone who may read jobs may watch the dashboard (counts and times, no PHI)."""
    require(principal, "jobs.read")


def snapshot(
    session: Session,
    principal: Principal,
    *,
    latency: LatencyWindow | None = None,
    known_queues: list[str] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """The dashboard's numbers now (permission-checked)."""
    check_access(principal)
    return compute(session, latency=latency, known_queues=known_queues, now=now)


def compute(
    session: Session,
    *,
    latency: LatencyWindow | None = None,
    known_queues: list[str] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """``snapshot`` without the permission check: the live stream computes once per tick
    for all listeners, each of whom was checked when they connected."""
    now = now or utcnow()
    since = now - WINDOW
    rows: dict[str, dict[str, object]] = {q: {} for q in known_queues or []}
    waiting_since = case(
        (and_(Task.status == TaskStatus.READY, Task.run_after <= now), Task.run_after)
    )
    for queue, status, count, oldest in session.execute(
        select(Task.queue, Task.status, func.count(), func.min(waiting_since))
        .where(Task.status.in_((TaskStatus.READY, TaskStatus.LEASED, TaskStatus.DEAD)))
        .group_by(Task.queue, Task.status)
    ).all():
        row = rows.setdefault(queue, {})
        row[status] = count
        if oldest is not None:
            row["oldest"] = max(0.0, (now - _aware(oldest)).total_seconds())
    finished = dead_5m = 0
    for queue, status, count in session.execute(
        select(Task.queue, Task.status, func.count())
        .where(
            Task.status.in_((TaskStatus.DONE, TaskStatus.DEAD)),
            Task.updated_at >= since,
            Task.finished_at >= since,
        )
        .group_by(Task.queue, Task.status)
    ).all():
        row = rows.setdefault(queue, {})
        row["finished"] = int(row.get("finished", 0)) + count  # type: ignore[call-overload]
        finished += count
        if status == TaskStatus.DEAD:
            dead_5m += count
    controls = {
        c.name: c
        for c in session.execute(
            select(QueueControl).where(QueueControl.name.in_(list(rows)))
        ).scalars()
    }
    queues = []
    for name in sorted(rows):
        r = rows[name]
        ctl = controls.get(name)
        queues.append(
            QueueRow(
                name=name,
                ready=int(r.get(TaskStatus.READY, 0)),  # type: ignore[call-overload]
                leased=int(r.get(TaskStatus.LEASED, 0)),  # type: ignore[call-overload]
                dead=int(r.get(TaskStatus.DEAD, 0)),  # type: ignore[call-overload]
                oldest_wait_seconds=r.get("oldest"),  # type: ignore[arg-type]
                finished_5m=int(r.get("finished", 0)),  # type: ignore[call-overload]
                paused=bool(ctl and ctl.paused),
                rate_limit_per_minute=ctl.rate_limit_per_minute if ctl else None,
            )
        )
    oldest_row = max(
        (q for q in queues if q.oldest_wait_seconds is not None),
        key=lambda q: q.oldest_wait_seconds or 0.0,
        default=None,
    )
    active = session.execute(
        select(func.count())
        .select_from(Backfill)
        .where(Backfill.status.in_(("planning", "running", "paused")))
    ).scalar_one()
    return Snapshot(
        at=now,
        queues=queues,
        finished_5m=finished,
        dead_5m=dead_5m,
        latency=(latency or LatencyWindow()).read(),
        active_backfills=int(active),
        oldest_queue=oldest_row.name if oldest_row else None,
        oldest_wait_seconds=oldest_row.oldest_wait_seconds if oldest_row else None,
        totals={
            "ready": sum(q.ready for q in queues),
            "leased": sum(q.leased for q in queues),
            "dead": sum(q.dead for q in queues),
        },
    )


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- latency -------------------------------------------------------------------------------


def api_buckets(prefix: str = API_PREFIX) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) of the HTTP histogram, summed over ``prefix`` routes."""
    sums: dict[float, float] = {}
    for metric in HTTP_DURATION.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_bucket"):
                continue
            if not sample.labels.get("route", "").startswith(prefix):
                continue
            le = float(sample.labels["le"])
            sums[le] = sums.get(le, 0.0) + sample.value
    return sorted(sums.items())


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding rank q*total."""
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            width = count - lower_count
            if width <= 0:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / width
        lower_bound, lower_count = bound, count
    return lower_bound


class LatencyWindow:
    """Samples of the cumulative API histogram, kept for ``window``; quantiles over the gap."""

    def __init__(self, window: timedelta = WINDOW, prefix: str = API_PREFIX) -> None:
        self.window = window
        self.prefix = prefix
        self._samples: deque[tuple[datetime, list[tuple[float, float]]]] = deque()
        self._lock = threading.Lock()

    def sample(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        buckets = api_buckets(self.prefix)
        with self._lock:
            self._samples.append((now, buckets))
            # Keep one sample at or before the window's start, as the baseline.
            while len(self._samples) > 2 and self._samples[1][0] <= now - self.window:
                self._samples.popleft()

    def read(self, now: datetime | None = None) -> Latency:
        """Sample now, then p95/p99 (ms) of API requests between the oldest sample and now."""
        now = now or utcnow()
        self.sample(now)
        start = now - self.window
        with self._lock:
            samples = list(self._samples)
        t1, last = samples[-1]
        # Baseline: the oldest sample inside the window; if only the newest is, the one before.
        inside = [x for x in samples[:-1] if x[0] >= start]
        t0, first = inside[0] if inside else samples[max(0, len(samples) - 2)]
        base = dict(first)
        diff = [(le, count - base.get(le, 0.0)) for le, count in last]
        requests = int(diff[-1][1]) if diff else 0
        p95 = quantile(0.95, diff)
        p99 = quantile(0.99, diff)
        return Latency(
            p95_ms=round(p95 * 1000, 1) if p95 is not None else None,
            p99_ms=round(p99 * 1000, 1) if p99 is not None else None,
            requests=requests,
            window_seconds=(t1 - t0).total_seconds(),
        )
