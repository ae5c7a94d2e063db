"""Model quality over time, per ASR model version x dialect: the console page's numbers.

Prometheus has the live series; this is the history that survives a restart of every
process, computed from what the database already holds:

- **scribe jobs** (``jobs.result["asr"]``, written by the ``asr`` stage): real-time
  factor, mean word confidence, SNR estimate, the ``low_snr`` and
  ``hallucination_suspected`` flags, and dead jobs (failures);
- **corrections** (the review package's ``review_corrections`` rows, one per approval):
  WER of the draft against the approved transcript and the note items edited.

Rows are grouped into time buckets (by the job's ``created_at``, the correction's
``created_at``) and by the bounded labels of :mod:`carepipe.observability.model_quality`
(so the page and Prometheus name the same series). A window reads at most
:data:`MAX_ROWS` newest rows of each kind; the view says when it was cut.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, String, column, select, table
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.models import Job, JsonType, UTCDateTime
from carepipe.observability.model_quality import dialect_label
from carepipe.ops.views import View

PERMISSION = "models.read"
#: Windows offered (hours) and the bucket width of each.
WINDOWS: dict[int, timedelta] = {
    6: timedelta(minutes=15),
    24: timedelta(hours=1),
    168: timedelta(hours=6),
}
DEFAULT_HOURS = 24
MAX_ROWS = 20_000
UNKNOWN = "unknown"


class Bucket(View):
    """One time bucket of one series (``None``: nothing measured in it)."""

    start: datetime
    jobs: int = 0
    failed: int = 0
    rtf_mean: float | None = None
    rtf_p95: float | None = None
    confidence_mean: float | None = None
    snr_mean: float | None = None
    low_snr_share: float | None = None
    hallucination_share: float | None = None
    corrections: int = 0
    wer_mean: float | None = None
    edits_per_note: float | None = None


class Series(View):
    """One model version x dialect over the window, and its totals."""

    model_version: str
    dialect: str
    buckets: list[Bucket]
    totals: Bucket


class ModelQualityReport(View):
    """The page: the window, its buckets, one series per model version x dialect."""

    since: datetime
    until: datetime
    hours: int
    bucket_seconds: int
    bucket_starts: list[datetime]
    series: list[Series]
    jobs_read: int
    corrections_read: int
    truncated: bool


# The review package's correction table, read by name: its PHI-free columns are all this
# page needs, and naming them here keeps ops from importing the review package (which may
# import ops). tests/observability checks these columns against the real table.
_CORRECTIONS = table(
    "review_corrections",
    column("created_at", UTCDateTime()),
    column("tenant", String()),
    column("model_versions", JsonType),
    column("dialect", String()),
    column("wer", Float()),
    column("item_edits", JsonType),
)


@dataclass(frozen=True)
class CorrectionPoint:
    """What this page needs of one correction record (no PHI)."""

    created_at: datetime
    model_version: str
    dialect: str
    wer: float
    items_edited: int


@dataclass
class _Acc:
    jobs: int = 0
    failed: int = 0
    rtf: list[float] | None = None
    confidence: list[float] | None = None
    snr: list[float] | None = None
    low_snr: int = 0
    hallucination: int = 0
    flagged_of: int = 0
    corrections: int = 0
    wer: list[float] | None = None
    edits: int = 0

    def add(self, name: str, value: Any) -> None:
        if value is None:
            return
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if math.isfinite(number):
            values = getattr(self, name) or []
            values.append(number)
            setattr(self, name, values)

    def merge(self, other: _Acc) -> None:
        for name in ("jobs", "failed", "low_snr", "hallucination", "flagged_of"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.corrections += other.corrections
        self.edits += other.edits
        for name in ("rtf", "confidence", "snr", "wer"):
            mine, theirs = getattr(self, name) or [], getattr(other, name) or []
            if theirs:
                setattr(self, name, mine + theirs)

    def view(self, start: datetime) -> Bucket:
        return Bucket(
            start=start,
            jobs=self.jobs,
            failed=self.failed,
            rtf_mean=_mean(self.rtf),
            rtf_p95=_quantile(self.rtf, 0.95),
            confidence_mean=_mean(self.confidence),
            snr_mean=_mean(self.snr),
            low_snr_share=_share(self.low_snr, self.flagged_of),
            hallucination_share=_share(self.hallucination, self.flagged_of),
            corrections=self.corrections,
            wer_mean=_mean(self.wer),
            edits_per_note=_share(self.edits, self.corrections, digits=2),
        )


def _mean(values: list[float] | None) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _quantile(values: list[float] | None, q: float) -> float | None:
    """The ``q`` quantile by linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 4)


def _share(part: int, whole: int, *, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _bucket_of(at: datetime, since: datetime, width: timedelta) -> int:
    return int((at - since) // width)


#: The numbers of ``result["asr"]`` the page charts, read as typed JSON paths.
_ASR_NUMBERS = ("rtf", "confidence", "snr_db")
_ASR_FLAGS = ("low_snr", "hallucination_suspected")


def job_points(
    session: Session, principal: Principal, since: datetime, until: datetime
) -> tuple[list[tuple[datetime, str, str, dict[str, Any]]], bool]:
    """Scribe jobs created in ``[since, until)`` the principal may see: (created, model
    version, dialect, the charted asr figures and ``_failed``), newest :data:`MAX_ROWS`.

    Each figure is a typed JSON path in SQL (SQLite ``json_extract``, PostgreSQL ``#>>``):
    no result document is sent over or decoded in Python (a scribe job's result also
    holds the note's and the FHIR stage's summaries).
    """
    res = Job.result
    q = (
        select(
            Job.created_at,
            Job.status,
            res[("asr", "model_version")].as_string(),
            res[("asr", "dialect")].as_string(),
            *(res[("asr", k)].as_float() for k in _ASR_NUMBERS),
            *(res[("asr", k)].as_boolean() for k in _ASR_FLAGS),
        )
        .where(Job.pipeline == "scribe", Job.created_at >= since, Job.created_at < until)
        .order_by(Job.created_at.desc())
        .limit(MAX_ROWS + 1)
    )
    if principal.tenant is not None:
        q = q.where(Job.tenant == principal.tenant)
    rows = session.execute(q).all()
    out = []
    for created, status, version, dialect, *figures in rows[:MAX_ROWS]:
        asr: dict[str, Any] = dict(zip((*_ASR_NUMBERS, *_ASR_FLAGS), figures, strict=True))
        asr["_failed"] = status == "dead"
        out.append((created, version or UNKNOWN, dialect_label(dialect), asr))
    return out, len(rows) > MAX_ROWS


def correction_points(
    session: Session, principal: Principal, since: datetime, until: datetime
) -> tuple[list[CorrectionPoint], bool]:
    """The correction records made in ``[since, until)`` the principal may see (newest
    :data:`MAX_ROWS`), reduced to what the page charts: counts and codes, no PHI."""
    rc = _CORRECTIONS.c
    q = (
        select(rc.created_at, rc.model_versions, rc.dialect, rc.wer, rc.item_edits)
        .where(rc.created_at >= since, rc.created_at < until)
        .order_by(rc.created_at.desc())
        .limit(MAX_ROWS + 1)
    )
    if principal.tenant is not None:
        q = q.where(rc.tenant == principal.tenant)
    rows = session.execute(q).all()
    out = [
        CorrectionPoint(
            created_at=created,
            model_version=str((versions or {}).get("asr") or UNKNOWN),
            dialect=dialect,
            wer=float(wer),
            items_edited=sum(int(v) for v in (edits or {}).values() if isinstance(v, int)),
        )
        for created, versions, dialect, wer, edits in rows[:MAX_ROWS]
    ]
    return out, len(rows) > MAX_ROWS


def model_quality_report(
    session: Session,
    principal: Principal,
    *,
    hours: int = DEFAULT_HOURS,
    corrections: Iterable[CorrectionPoint] | None = None,
    now: datetime | None = None,
) -> ModelQualityReport:
    """Model quality over the last ``hours`` (6, 24 or 168) per model version x dialect.

    Correction records (``review_corrections``) are read unless ``corrections`` is given;
    their WER and edits join the series of their ASR model version and dialect. Needs
    ``models.read``; a principal bound to a tenant sees that tenant's rows only.
    """
    require(principal, PERMISSION)
    hours = hours if hours in WINDOWS else DEFAULT_HOURS
    width = WINDOWS[hours]
    end = now or utcnow()
    # Buckets aligned to whole widths, so reloads show the same buckets.
    epoch = datetime(2000, 1, 1, tzinfo=end.tzinfo)
    until = epoch + ((end - epoch) // width + 1) * width
    since = until - timedelta(hours=hours)
    n_buckets = int(timedelta(hours=hours) / width)
    accs: dict[tuple[str, str], list[_Acc]] = defaultdict(
        lambda: [_Acc() for _ in range(n_buckets)]
    )
    jobs, truncated = job_points(session, principal, since, until)
    if corrections is None:
        corrections, cut = correction_points(session, principal, since, until)
        truncated = truncated or cut
    for created, version, dialect, asr in jobs:
        i = _bucket_of(_aware(created, end), since, width)
        if not 0 <= i < n_buckets:
            continue
        acc = accs[(version, dialect)][i]
        acc.jobs += 1
        acc.failed += bool(asr.get("_failed"))
        acc.add("rtf", asr.get("rtf"))
        acc.add("confidence", asr.get("confidence"))
        acc.add("snr", asr.get("snr_db"))
        if asr.get("low_snr") is not None:  # jobs from before issue 14 have no flags
            acc.flagged_of += 1
            acc.low_snr += bool(asr.get("low_snr"))
            acc.hallucination += bool(asr.get("hallucination_suspected"))
    n_corr = 0
    for c in corrections:
        i = _bucket_of(_aware(c.created_at, end), since, width)
        if not 0 <= i < n_buckets:
            continue
        n_corr += 1
        acc = accs[(c.model_version or UNKNOWN, dialect_label(c.dialect))][i]
        acc.corrections += 1
        acc.edits += max(0, int(c.items_edited))
        acc.add("wer", c.wer)
    starts = [since + k * width for k in range(n_buckets)]
    series = []
    for (version, dialect), buckets in accs.items():
        total = _Acc()
        for b in buckets:
            total.merge(b)
        series.append(
            Series(
                model_version=version,
                dialect=dialect,
                buckets=[b.view(s) for b, s in zip(buckets, starts, strict=True)],
                totals=total.view(since),
            )
        )
    series.sort(key=lambda s: (-(s.totals.jobs + s.totals.corrections), s.model_version, s.dialect))
    return ModelQualityReport(
        since=since,
        until=until,
        hours=hours,
        bucket_seconds=int(width.total_seconds()),
        bucket_starts=starts,
        series=series,
        jobs_read=len(jobs),
        corrections_read=n_corr,
        truncated=truncated,
    )


def _aware(at: datetime, like: datetime) -> datetime:
    """``at`` with ``like``'s zone when the database gave a naive time (SQLite)."""
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None and like.tzinfo else at
