"""Model reports: a comparison of two versions, and a version's performance over a time range.

A report is built once as a JSON-ready dict (title, summary figures, tables, figures,
notes, and the raw data), then rendered to HTML (``model_report.html``, SVG figures drawn on
the server) and PDF (fpdf2, the same figures and tables). All three are blobs; the
``ml_reports`` row holds their keys and a summary, so a report is shareable by its id
(``/v1/model-reports/{id}``, ``/console/model-reports/{id}``) and does not change when the
data under it does.

Performance reports read ``ml_serving_observations`` of the version (one row per job it
served: ok, latency, RTF, confidence, PHI-free features) bucketed by day (by hour for a
range of 48 h or less). A bucket is an **anomaly** when its failure rate or mean confidence
is more than 3 sigma from the *other* buckets of the range (leave-one-out mean and standard
deviation, sigma floored at 0.02 so a flat history does not flag noise; needs 4 buckets
with jobs).

Recurring reports: ``ml_report_schedules`` rows name an engine kind and environment; the
scheduler's ``model_reports.due`` job calls :func:`run_due_schedules`, which reports on the
version deployed there over the last ``range_hours`` and moves ``next_run_at`` on.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import SYSTEM, Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.mlops import report_charts
from carepipe.mlops.comparison import ComparisonView, compare
from carepipe.mlops.models import (
    ENGINE_KINDS,
    MlDeployment,
    MlModel,
    MlModelVersion,
    MlReport,
    MlReportSchedule,
    MlServingObservation,
)
from carepipe.mlops.refs import label, resolve_version
from carepipe.mlops.report_charts import fmt
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.mlops.reports")
TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
FORMATS = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
SIGMAS = 3.0
SIGMA_FLOOR = 0.02
MIN_BUCKETS = 4
MAX_RANGE_HOURS = 24 * 366

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


class ReportView(BaseModel):
    """A saved report and where to download it."""

    id: str
    kind: str
    title: str
    version_id: str | None
    summary: dict[str, Any]
    created_at: datetime
    created_by: str
    links: dict[str, str]


class ScheduleView(BaseModel):
    """A recurring performance report."""

    id: str
    engine_kind: str
    environment: str
    every_hours: float
    range_hours: float
    next_run_at: datetime
    last_report_id: str | None


def _view(row: MlReport) -> ReportView:
    base = f"/v1/model-reports/{row.id}"
    return ReportView(
        id=row.id,
        kind=row.kind,
        title=row.title,
        version_id=row.version_id,
        summary=row.summary or {},
        created_at=row.created_at,
        created_by=row.created_by,
        links={
            "json": f"{base}.json",
            "html": f"{base}.html",
            "pdf": f"{base}.pdf",
            "console": f"/console/model-reports/{row.id}",
        },
    )


# -- content -------------------------------------------------------------------------------


def comparison_content(view: ComparisonView) -> dict[str, Any]:
    """The report of a comparison."""
    kind = "pct"
    metric = view.metric.upper() if view.metric == "wer" else "Fact recall"
    tests = ", ".join(f"{t.name} p={t.p_value:.3g}" for t in view.tests)
    return {
        "kind": "comparison",
        "title": f"{view.candidate} vs {view.baseline} on {view.eval_set}",
        "generated_at": utcnow().isoformat(),
        "summary": [
            ["Verdict", view.verdict],
            [f"{metric} {view.baseline} (A)", report_charts.fmt(view.baseline_value, kind)],
            [f"{metric} {view.candidate} (B)", report_charts.fmt(view.candidate_value, kind)],
            ["Difference B - A", report_charts.fmt(view.difference, kind)],
            ["95% CI", f"{fmt(view.ci_low, kind)} to {fmt(view.ci_high, kind)}"],
            ["Tests", tests],
            ["Paired items", str(view.n_pairs)],
        ],
        "figures": [
            {
                "type": "bars",
                "title": f"{metric} per {'clip' if view.kind == 'asr' else 'clip (facts found)'}",
                "categories": [i.id for i in view.items],
                "series": [
                    {"name": view.baseline, "values": [i.baseline for i in view.items]},
                    {"name": view.candidate, "values": [i.candidate for i in view.items]},
                ],
                "format": kind,
            }
        ],
        "tables": [
            {
                "title": "Per slice",
                "columns": ["Slice", "Value", "Items", "A", "B", "B - A"],
                "rows": [
                    [
                        s.dimension,
                        s.value,
                        s.items,
                        report_charts.fmt(s.baseline, kind),
                        report_charts.fmt(s.candidate, kind),
                        report_charts.fmt(s.difference, kind),
                    ]
                    for s in view.slices
                ],
            }
        ],
        "notes": [
            f"Bootstrap: {view.resamples} resamples of the paired items, seed {view.seed}.",
            f"Rule: {view.rule}.",
        ],
        "data": view.model_dump(mode="json"),
    }


def _bucket_start(at: datetime, hourly: bool) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0, **({} if hourly else {"hour": 0}))


def _anomalies(values: list[float | None]) -> list[int]:
    """Indexes more than :data:`SIGMAS` leave-one-out sigmas from the other buckets."""
    seen = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(seen) < MIN_BUCKETS:
        return []
    out = []
    for i, v in seen:
        others = np.array([w for j, w in seen if j != i])
        sigma = max(float(others.std(ddof=1)), SIGMA_FLOOR)
        if abs(v - float(others.mean())) > SIGMAS * sigma:
            out.append(i)
    return out


def _mean(xs: list[float]) -> float | None:
    return round(float(np.mean(xs)), 4) if xs else None


def performance_content(
    session: Session, version: MlModelVersion, start: datetime, end: datetime
) -> dict[str, Any]:
    """The report of a version's served jobs in ``[start, end)``."""
    rows = (
        session.execute(
            select(MlServingObservation)
            .where(
                MlServingObservation.version_id == version.id,
                MlServingObservation.at >= start,
                MlServingObservation.at < end,
            )
            .order_by(MlServingObservation.at)
        )
        .scalars()
        .all()
    )
    hourly = (end - start) <= timedelta(hours=48)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    starts, t = [], _bucket_start(start, hourly)
    while t < end:
        starts.append(t)
        t += step
    buckets: dict[datetime, list[MlServingObservation]] = {s: [] for s in starts}
    for r in rows:
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=start.tzinfo)
        buckets.setdefault(_bucket_start(at, hourly), []).append(r)
    series = []
    for s in starts:
        b = buckets[s]
        failures = sum(1 for r in b if not r.ok)
        lat = [r.latency_ms for r in b]
        series.append(
            {
                "start": s.isoformat(),
                "jobs": len(b),
                "failures": failures,
                "failure_rate": round(failures / len(b), 4) if b else None,
                "latency_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
                "latency_p95_ms": round(float(np.percentile(lat, 95)), 1) if lat else None,
                "rtf_mean": _mean([r.rtf for r in b if r.rtf is not None]),
                "confidence_mean": _mean([r.confidence for r in b if r.confidence is not None]),
            }
        )
    anomalies = sorted(
        set(_anomalies([x["failure_rate"] for x in series]))
        | set(_anomalies([x["confidence_mean"] for x in series]))
    )
    slices: dict[str, dict[str, list[MlServingObservation]]] = {"tenant": {}, "dialect": {}}
    for r in rows:
        slices["tenant"].setdefault(r.tenant, []).append(r)
        dialect = str((r.features or {}).get("dialect") or "unknown")
        slices["dialect"].setdefault(dialect, []).append(r)
    slice_rows = [
        [
            dim,
            value,
            len(rs),
            report_charts.fmt(sum(1 for r in rs if not r.ok) / len(rs), "pct"),
            report_charts.fmt(_mean([r.confidence for r in rs if r.confidence is not None]), "pct"),
        ]
        for dim, groups in slices.items()
        for value, rs in sorted(groups.items())
    ]
    fmt_t = "%m-%d %H:00" if hourly else "%Y-%m-%d"
    cats = [s.strftime(fmt_t) for s in starts]
    name = label(session, version)
    total = len(rows)
    failures = sum(1 for r in rows if not r.ok)
    return {
        "kind": "performance",
        "title": f"Performance of {name}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
        "generated_at": utcnow().isoformat(),
        "summary": [
            ["Jobs served", str(total)],
            ["Failure rate", report_charts.fmt(failures / total if total else None, "pct")],
            [
                "Mean confidence",
                report_charts.fmt(
                    _mean([r.confidence for r in rows if r.confidence is not None]), "pct"
                ),
            ],
            [
                "Latency p95",
                f"{np.percentile([r.latency_ms for r in rows], 95):.0f} ms" if rows else "\u2013",
            ],
            ["Anomalous buckets", ", ".join(cats[i] for i in anomalies) or "none"],
        ],
        "figures": [
            {
                "type": "line",
                "title": "Failure rate",
                "categories": cats,
                "format": "pct",
                "series": [{"name": name, "values": [x["failure_rate"] for x in series]}],
                "anomalies": anomalies,
            },
            {
                "type": "line",
                "title": "Mean ASR confidence",
                "categories": cats,
                "format": "pct",
                "series": [{"name": name, "values": [x["confidence_mean"] for x in series]}],
                "anomalies": anomalies,
            },
            {
                "type": "line",
                "title": "Latency p95 (ms)",
                "categories": cats,
                "format": "num",
                "series": [{"name": name, "values": [x["latency_p95_ms"] for x in series]}],
            },
        ],
        "tables": [
            {
                "title": "Per slice",
                "columns": ["Slice", "Value", "Jobs", "Failure rate", "Confidence"],
                "rows": slice_rows,
            },
        ],
        "notes": [
            f"Anomaly: failure rate or mean confidence more than {SIGMAS:g} sigma from the "
            f"other {'hours' if hourly else 'days'} of the range (leave-one-out, sigma floor "
            f"{SIGMA_FLOOR}, at least {MIN_BUCKETS} buckets with jobs)."
        ],
        "data": {
            "version": name,
            "version_id": version.id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "buckets": series,
            "anomalies": anomalies,
            "jobs": total,
            "failures": failures,
        },
    }


# -- rendering -----------------------------------------------------------------------------


def figure_svgs(content: dict[str, Any]) -> list[Markup]:
    """Each figure of the report as SVG markup (safe: every text is escaped)."""
    return [Markup(report_charts.svg(f)) for f in content.get("figures", [])]  # noqa: S704


def render_html(content: dict[str, Any]) -> bytes:
    """The standalone HTML document of a report."""
    html = _env.get_template("model_report.html").render(r=content, svgs=figure_svgs(content))
    return html.encode("utf-8")


def render_pdf(content: dict[str, Any]) -> bytes:
    """The PDF of a report: the same summary, figures and tables as the HTML."""
    return report_charts.pdf_document(content)


def _save(
    session: Session, blobs: BlobStore, actor: str, content: dict[str, Any], version_id: str | None
) -> MlReport:
    row = MlReport(
        kind=content["kind"],
        title=content["title"],
        version_id=version_id,
        summary={k: v for k, v in content["summary"]},
        json_blob_key=blobs.put(json.dumps(content, sort_keys=True, default=str).encode()),
        html_blob_key=blobs.put(render_html(content)),
        pdf_blob_key=blobs.put(render_pdf(content)),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def _audit(session: Session, principal: Principal, row: MlReport) -> None:
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.report",
        target_type="model_report",
        target_id=row.id,
        after={"kind": row.kind, "version_id": row.version_id},
    )


# -- services ------------------------------------------------------------------------------


def create_comparison_report(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    baseline: str,
    candidate: str,
    *,
    eval_set: str | None = None,
) -> ReportView:
    """Compare two versions and save the comparison as a report (``models.evaluate``)."""
    require(principal, "models.evaluate")
    view = compare(session, blobs, principal, baseline, candidate, eval_set=eval_set)
    row = _save(
        session, blobs, principal.actor, comparison_content(view), view.candidate_version_id
    )
    _audit(session, principal, row)
    return _view(row)


def _range(
    start: datetime | None, end: datetime | None, hours: float | None
) -> tuple[datetime, datetime]:
    end = end or utcnow()
    start = start or end - timedelta(hours=hours or 168.0)
    if not start < end or (end - start) > timedelta(hours=MAX_RANGE_HOURS):
        raise InvalidRequest("the range must start before it ends and span at most a year")
    return start, end


def create_performance_report(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    ref: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    hours: float | None = None,
) -> ReportView:
    """Report on a version's served jobs over a range (default: the last 7 days)."""
    require(principal, "models.evaluate")
    version = resolve_version(session, ref)
    start, end = _range(start, end, hours)
    row = _save(
        session,
        blobs,
        principal.actor,
        performance_content(session, version, start, end),
        version.id,
    )
    _audit(session, principal, row)
    return _view(row)


def get_report(session: Session, principal: Principal, report_id: str) -> ReportView:
    """A saved report (``models.read``)."""
    require(principal, "models.read")
    row = session.get(MlReport, report_id)
    if row is None:
        raise NotFound(f"no model report {report_id}")
    return _view(row)


def report_file(
    session: Session, blobs: BlobStore, principal: Principal, report_id: str, fmt: str
) -> tuple[bytes, str]:
    """A report's ``json``, ``html`` or ``pdf`` bytes and media type (``models.read``)."""
    require(principal, "models.read")
    row = session.get(MlReport, report_id)
    if row is None:
        raise NotFound(f"no model report {report_id}")
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}", details={"supported": sorted(FORMATS)})
    key = {"json": row.json_blob_key, "html": row.html_blob_key, "pdf": row.pdf_blob_key}[fmt]
    if not key:
        raise NotFound(f"report {report_id} has no {fmt}")
    return blobs.get(key), FORMATS[fmt]


def report_content(
    session: Session, blobs: BlobStore, principal: Principal, report_id: str
) -> dict[str, Any]:
    """The JSON content of a report (the console renders it)."""
    data, _ = report_file(session, blobs, principal, report_id, "json")
    return dict(json.loads(data))


def create_schedule(
    session: Session,
    principal: Principal,
    engine_kind: str,
    *,
    environment: str = "production",
    every_hours: float = 168.0,
    range_hours: float = 168.0,
) -> ScheduleView:
    """A recurring performance report of what serves ``engine_kind`` (first run now)."""
    require(principal, "models.evaluate")
    if engine_kind not in ENGINE_KINDS:
        raise InvalidRequest(
            f"unknown engine kind {engine_kind!r}", details={"supported": list(ENGINE_KINDS)}
        )
    if not (1 <= every_hours <= MAX_RANGE_HOURS and 1 <= range_hours <= MAX_RANGE_HOURS):
        raise InvalidRequest("every_hours and range_hours must be between 1 and 8784")
    now = utcnow()
    row = MlReportSchedule(
        engine_kind=engine_kind,
        environment=environment,
        every_hours=every_hours,
        range_hours=range_hours,
        next_run_at=now,
        created_at=now,
        created_by=principal.actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.report_schedule",
        target_type="model_report_schedule",
        target_id=row.id,
        after={"engine_kind": engine_kind, "environment": environment, "every_hours": every_hours},
    )
    return _schedule_view(row)


def _schedule_view(row: MlReportSchedule) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        engine_kind=row.engine_kind,
        environment=row.environment,
        every_hours=row.every_hours,
        range_hours=row.range_hours,
        next_run_at=row.next_run_at,
        last_report_id=row.last_report_id,
    )


def _deployed(session: Session, kind: str, environment: str) -> MlModelVersion | None:
    dep = session.execute(
        select(MlDeployment).where(
            MlDeployment.engine_kind == kind,
            MlDeployment.environment == environment,
            MlDeployment.tenant == "*",
        )
    ).scalar_one_or_none()
    if dep is not None:
        return session.get(MlModelVersion, dep.stable_version_id)
    if environment != "production":
        return None
    return session.execute(
        select(MlModelVersion)
        .join(MlModel, MlModel.id == MlModelVersion.model_id)
        .where(MlModel.kind == kind, MlModelVersion.stage == "production")
        .order_by(MlModelVersion.stage_changed_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def run_due_schedules(db: Database, blobs: BlobStore, settings: Settings | None = None) -> int:
    """Write the report of every due schedule; returns how many were written.

    A schedule with nothing deployed is moved on without a report (logged). Missed runs are
    not caught up: the next run is one interval after now.
    """
    written = 0
    now = utcnow()
    with db.session() as s:
        due = [
            r.id
            for r in s.execute(
                select(MlReportSchedule).where(MlReportSchedule.next_run_at <= now)
            ).scalars()
        ]
    for schedule_id in due:
        with db.transaction() as s:
            row = s.get(MlReportSchedule, schedule_id, with_for_update=True)
            if row is None or _aware(row.next_run_at) > now:
                continue  # another process ran it
            row.next_run_at = now + timedelta(hours=row.every_hours)
            version = _deployed(s, row.engine_kind, row.environment)
            if version is None:
                log.info("model_report.nothing_deployed", schedule=row.id, kind=row.engine_kind)
                continue
            content = performance_content(s, version, now - timedelta(hours=row.range_hours), now)
            report = _save(s, blobs, f"{SYSTEM.actor}:schedule", content, version.id)
            row.last_report_id = report.id
            written += 1
    return written


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)
