"""Monitoring per deployed model version: what one version did, bucket by bucket.

From the ``ml_serving_observations`` rows (one per job the version served: outcome,
latency, real-time factor, confidence) and, where clinicians corrected the output, the
review package's ``review_corrections`` rows of those jobs (WER of the draft against the
approved transcript, note items edited), joined on the job id. Issue 14's model quality
page (``ops/model_quality.py``) groups the same corrections by the engine's model-version
string and dialect; this groups them by registry version, which only the serving
observations know.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import Float, String, column, select, table
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import JsonType, UTCDateTime
from carepipe.mlops.models import MlModel, MlServingObservation
from carepipe.mlops.refs import label, resolve_version
from carepipe.mlops.views import View

PERMISSION = "models.read"
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
#: 31 days: at most 744 hourly buckets.
MAX_HOURS = 24 * 31
#: Most rows read per window: the view says when it was cut.
MAX_ROWS = 50_000

# Read by name (mlops may not import the review package): PHI-free columns only.
_CORRECTIONS = table(
    "review_corrections",
    column("job_id", String()),
    column("created_at", UTCDateTime()),
    column("wer", Float()),
    column("item_edits", JsonType),
)


class MonitorBucket(View):
    """One time bucket (``None``: nothing measured in it)."""

    start: datetime
    jobs: int
    failed: int
    failure_rate: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    rtf_mean: float | None
    confidence_mean: float | None
    corrections: int
    wer_mean: float | None
    edits_per_note: float | None


class MonitoringSeries(View):
    """A version's buckets over the window, and the window's totals."""

    version_id: str
    version: str
    engine_kind: str
    since: datetime
    until: datetime
    bucket: Literal["hour", "day"]
    buckets: list[MonitorBucket]
    totals: MonitorBucket
    truncated: bool


def _r(x: float, digits: int = 4) -> float | None:
    return round(float(x), digits) if math.isfinite(x) else None


def _summary(
    start: datetime,
    ok: list[bool],
    latency: list[float],
    rtf: list[float],
    conf: list[float],
    wer: list[float],
    edits: list[int],
) -> MonitorBucket:
    jobs = len(ok)
    failed = sum(1 for x in ok if not x)
    p50 = p99 = None
    if latency:
        a, b = np.percentile(latency, [50, 99])
        p50, p99 = _r(a, 1), _r(b, 1)
    return MonitorBucket(
        start=start,
        jobs=jobs,
        failed=failed,
        failure_rate=round(failed / jobs, 4) if jobs else None,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        rtf_mean=_r(float(np.mean(rtf))) if rtf else None,
        confidence_mean=_r(float(np.mean(conf))) if conf else None,
        corrections=len(wer),
        wer_mean=_r(float(np.mean(wer))) if wer else None,
        edits_per_note=round(sum(edits) / len(edits), 2) if edits else None,
    )


def _aware(at: datetime, like: datetime) -> datetime:
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None and like.tzinfo else at


def monitor_version(
    session: Session,
    principal: Principal,
    ref: str,
    *,
    hours: int = 24,
    bucket: str = "hour",
    now: datetime | None = None,
) -> MonitoringSeries:
    """Job count, failure rate, p50/p99 latency, RTF, confidence and (from corrections)
    WER and edits per note of version ``ref`` per hour or day over the last ``hours``
    (``models.read``; a principal bound to a tenant sees that tenant's jobs only)."""
    require(principal, PERMISSION)
    if bucket not in BUCKETS:
        raise InvalidRequest("bucket is hour or day", details={"bucket": bucket})
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidRequest(f"hours is 1 to {MAX_HOURS}", details={"hours": hours})
    width = BUCKETS[bucket]
    n = math.ceil(timedelta(hours=hours) / width)
    version = resolve_version(session, ref)
    end = now or utcnow()
    # Buckets aligned to whole widths, so reloads show the same buckets.
    epoch = datetime(2000, 1, 1, tzinfo=end.tzinfo)
    until = epoch + ((end - epoch) // width + 1) * width
    since = until - n * width
    o = MlServingObservation
    q = (
        select(o.at, o.ok, o.latency_ms, o.rtf, o.confidence)
        .where(o.version_id == version.id, o.at >= since, o.at < until)
        .order_by(o.at.desc())
        .limit(MAX_ROWS + 1)
    )
    rc = _CORRECTIONS.c
    cq = (
        select(rc.created_at, rc.wer, rc.item_edits)
        .select_from(_CORRECTIONS.join(o, o.job_id == rc.job_id))
        .where(o.version_id == version.id, rc.created_at >= since, rc.created_at < until)
        .order_by(rc.created_at.desc())
        .limit(MAX_ROWS + 1)
    )
    if principal.tenant is not None:
        q, cq = q.where(o.tenant == principal.tenant), cq.where(o.tenant == principal.tenant)
    rows, corrections = session.execute(q).all(), session.execute(cq).all()
    truncated = len(rows) > MAX_ROWS or len(corrections) > MAX_ROWS
    cols: list[tuple[list, list, list, list, list, list]] = [
        ([], [], [], [], [], []) for _ in range(n)
    ]
    for at, ok, latency, rtf, conf in rows[:MAX_ROWS]:
        i = int((_aware(at, end) - since) // width)
        if 0 <= i < n:
            c = cols[i]
            c[0].append(bool(ok))
            c[1].append(float(latency))
            if rtf is not None:
                c[2].append(float(rtf))
            if conf is not None:
                c[3].append(float(conf))
    for at, wer, item_edits in corrections[:MAX_ROWS]:
        i = int((_aware(at, end) - since) // width)
        if 0 <= i < n:
            cols[i][4].append(float(wer))
            cols[i][5].append(
                sum(int(v) for v in (item_edits or {}).values() if isinstance(v, int))
            )
    starts = [since + k * width for k in range(n)]
    model = session.get(MlModel, version.model_id)
    return MonitoringSeries(
        version_id=version.id,
        version=label(session, version),
        engine_kind=model.kind if model else "?",
        since=since,
        until=until,
        bucket=bucket,  # type: ignore[arg-type]
        buckets=[_summary(s, *c) for s, c in zip(starts, cols, strict=True)],
        totals=_summary(since, *([x for c in cols for x in c[k]] for k in range(6))),
        truncated=truncated,
    )
