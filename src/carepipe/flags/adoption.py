"""Adoption and errors of one flag: who got which variant, and how their jobs went.

Two reads, both by variant, so a 10 % canary's errors stand beside the other 90 %:

- evaluations over time, from ``flag_evaluation_counts`` (per-minute rows each process
  flushes from its counters), summed into hourly (or per-minute) buckets;
- job outcomes, from ``job_flag_variants`` (the variant each job ran under) joined to
  ``jobs``: how many jobs, the share that failed (``dead``: the queue gave up on them),
  and the p50/p95 latency of the jobs that succeeded (``finished_at - created_at``; a
  dead job has no ``finished_at``: a replay may still finish it).

Pure database reads; the caller needs ``flags.read``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import Job
from carepipe.core.queue.states import JobStatus
from carepipe.flags.models import FlagEvaluationCount, JobFlagVariant

PERMISSION = "flags.read"
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "minute": timedelta(minutes=1)}
#: At most a week: 168 hourly buckets (a minute view is meant for the last hours).
MAX_HOURS = 24 * 7
#: Most job rows read per window; the view says when it was cut (newest kept).
MAX_JOBS = 50_000
#: A job that ended in one of these failed (``cancelled`` is a person's choice, not an error).
FAILED = frozenset({JobStatus.DEAD.value})
#: Still running: counted as jobs, not in the failure rate or the latency.
OPEN = frozenset({JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.WAITING_REVIEW.value})


@dataclass(frozen=True)
class EvaluationSeries:
    """Evaluations per variant per bucket; ``starts[i]`` is bucket i's start (UTC)."""

    flag_key: str
    bucket: str
    starts: list[datetime]
    counts: dict[str, list[int]]  # variant -> one count per bucket
    totals: dict[str, int]  # variant -> evaluations over the window

    @property
    def empty(self) -> bool:
        return not self.totals


@dataclass(frozen=True)
class VariantOutcome:
    """The jobs that ran under one variant of the flag, over the window."""

    variant: str
    jobs: int
    finished: int  # succeeded, dead or cancelled
    failed: int
    failure_rate: float | None  # failed / (finished - cancelled); None: none finished
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Adoption:
    """Both reads for one window."""

    flag_key: str
    since: datetime
    until: datetime
    evaluations: EvaluationSeries
    outcomes: list[VariantOutcome]
    truncated: bool  # more than MAX_JOBS jobs: only the newest were read


def _floor(at: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=at.tzinfo)


def evaluations(
    session: Session,
    actor: Principal,
    flag_key: str,
    *,
    since: datetime,
    until: datetime,
    bucket: Literal["hour", "minute"] = "hour",
) -> EvaluationSeries:
    """Evaluations of ``flag_key`` per variant per bucket in ``[since, until)``."""
    require(actor, PERMISSION)
    step = BUCKETS[bucket]
    first = _floor(since, step)
    starts: list[datetime] = []
    at = first
    while at < until:
        starts.append(at)
        at += step
    rows = session.execute(
        select(FlagEvaluationCount.variant, FlagEvaluationCount.minute, FlagEvaluationCount.count)
        .where(
            FlagEvaluationCount.flag_key == flag_key,
            FlagEvaluationCount.minute >= first,
            FlagEvaluationCount.minute < until,
        )
        .order_by(FlagEvaluationCount.minute)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
    step_s = step.total_seconds()
    for variant, minute, count in rows:
        index = int((minute - first).total_seconds() // step_s)
        if 0 <= index < len(starts):
            counts[variant][index] += count
    ordered = dict(sorted(counts.items()))
    return EvaluationSeries(
        flag_key, bucket, starts, ordered, {v: sum(c) for v, c in ordered.items()}
    )


def _ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def outcomes(
    session: Session,
    actor: Principal,
    flag_key: str,
    *,
    since: datetime,
    until: datetime,
) -> tuple[list[VariantOutcome], bool]:
    """Per variant: jobs recorded in ``[since, until)``, failure rate, p50/p95 latency.
    Returns the outcomes (by variant name) and whether the job rows were cut at MAX_JOBS."""
    require(actor, PERMISSION)
    jfv = JobFlagVariant
    rows = session.execute(
        select(jfv.variant, Job.status, Job.created_at, Job.finished_at)
        .join(Job, Job.id == jfv.job_id)
        .where(jfv.flag_key == flag_key, jfv.recorded_at >= since, jfv.recorded_at < until)
        .order_by(jfv.recorded_at.desc())
        .limit(MAX_JOBS + 1)
    ).all()
    truncated = len(rows) > MAX_JOBS
    jobs: dict[str, int] = defaultdict(int)
    ended: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    cancelled: dict[str, int] = defaultdict(int)
    latency: dict[str, list[float]] = defaultdict(list)
    for variant, status, created_at, finished_at in rows[:MAX_JOBS]:
        jobs[variant] += 1
        if status in OPEN:
            continue
        ended[variant] += 1
        if status == JobStatus.CANCELLED.value:
            cancelled[variant] += 1
            continue
        failed[variant] += status in FAILED
        if finished_at is not None:
            latency[variant].append((finished_at - created_at).total_seconds() * 1000)
    out = []
    for variant in sorted(jobs):
        judged = ended[variant] - cancelled[variant]
        out.append(
            VariantOutcome(
                variant=variant,
                jobs=jobs[variant],
                finished=ended[variant],
                failed=failed[variant],
                failure_rate=round(failed[variant] / judged, 4) if judged else None,
                p50_ms=_ms(latency[variant], 50),
                p95_ms=_ms(latency[variant], 95),
            )
        )
    return out, truncated


def adoption(
    session: Session,
    actor: Principal,
    flag_key: str,
    *,
    hours: int = 24,
    bucket: Literal["hour", "minute"] = "hour",
    now: datetime | None = None,
) -> Adoption:
    """The flag's evaluations and job outcomes per variant over the last ``hours``."""
    require(actor, PERMISSION)
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidRequest(f"hours must be between 1 and {MAX_HOURS}")
    if bucket == "minute" and hours > 6:
        raise InvalidRequest("a per-minute view covers at most 6 hours")
    until = now or utcnow()
    since = until - timedelta(hours=hours)
    series = evaluations(session, actor, flag_key, since=since, until=until, bucket=bucket)
    per_variant, truncated = outcomes(session, actor, flag_key, since=since, until=until)
    return Adoption(flag_key, since, until, series, per_variant, truncated)
