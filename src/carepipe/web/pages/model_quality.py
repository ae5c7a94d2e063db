"""The "Model quality" page: ASR and note quality over time per model version x dialect.

The numbers come from :func:`carepipe.ops.model_quality.model_quality_report` (job results
and correction records in the database: the history survives restarts). Charts are SVG
drawn here on the server: no script, no chart library, nothing from a CDN, so the
console's strict Content-Security-Policy holds; colours are SVG presentation attributes,
not inline styles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.ops import model_quality
from carepipe.ops.model_quality import Bucket, ModelQualityReport, Series
from carepipe.web.auth import app_state, require_permission
from carepipe.web.templating import render

router = APIRouter(prefix="/console/model-quality", include_in_schema=False)
read_models = require_permission(model_quality.PERMISSION)

#: Colour-blind-safe (Okabe-Ito) colours; series past the last share the grey.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
OVERFLOW_COLOUR = "#999999"
MAX_LINES = len(PALETTE)
WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Line:
    """One series on one chart: polyline segments (gaps where nothing was measured)."""

    label: str
    colour: str
    segments: list[str]
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Chart:
    """A chart ready for the template: pixel geometry and labels only."""

    key: str
    title: str
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    threshold: tuple[float, str] | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    empty: bool = field(default=False)


@dataclass(frozen=True)
class Metric:
    """One chart: which bucket figure it draws, how its values read, its alert line."""

    key: str
    title: str
    value: Callable[[Bucket], float | None]
    fmt: Callable[[float], str]
    y_max: float | None = None
    threshold: float | None = None
    threshold_label: str = ""


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


METRICS: tuple[Metric, ...] = (
    Metric(
        "rtf_p95",
        "ASR real-time factor, p95",
        lambda b: b.rtf_p95,
        lambda v: f"{v:.2f}",
        threshold=1.0,
        threshold_label="alert: RTF > 1.0",
    ),
    Metric("wer", "WER from clinicians' corrections", lambda b: b.wer_mean, _pct),
    Metric("confidence", "Mean ASR word confidence", lambda b: b.confidence_mean, _pct, y_max=1.0),
    Metric("snr", "Audio SNR estimate (dB)", lambda b: b.snr_mean, lambda v: f"{v:.0f}"),
    Metric("low_snr", "Share of low-SNR recordings", lambda b: b.low_snr_share, _pct, y_max=1.0),
    Metric(
        "hallucination",
        "Share with a suspected hallucination",
        lambda b: b.hallucination_share,
        _pct,
        y_max=1.0,
    ),
    Metric(
        "edits",
        "Note items edited per approved note",
        lambda b: b.edits_per_note,
        lambda v: f"{v:.1f}",
    ),
    Metric("failed", "Failed jobs", lambda b: float(b.failed) if b.jobs else None, "{:g}".format),
)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exp = 10 ** int(f"{value:e}".split("e")[1])
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def line_chart(
    metric: Metric,
    starts: Sequence[datetime],
    series: Sequence[Series],
    *,
    hours: int,
) -> Chart:
    """The SVG geometry of ``metric`` over ``starts`` for each series (at most
    :data:`MAX_LINES` named, by job count; the rest drawn grey as "other")."""
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    values = [[metric.value(b) for b in s.buckets] for s in series]
    seen = [v for row in values for v in row if v is not None]
    top = metric.y_max or _nice_max(max([*seen, metric.threshold or 0.0], default=0.0) * 1.1)
    n = max(1, len(starts) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = x0 + (x1 - x0) * i / n
        y = y1 - (y1 - y0) * max(0.0, min(v, top)) / top
        return round(x, 1), round(y, 1)

    lines = []
    for k, (s, row) in enumerate(zip(series, values, strict=True)):
        colour = PALETTE[k] if k < MAX_LINES else OVERFLOW_COLOUR
        segments, current, dots = [], [], []
        for i, v in enumerate(row):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = xy(i, v)
            current.append(f"{x},{y}")
            dots.append((x, y, f"{starts[i]:%Y-%m-%d %H:%M} UTC: {metric.fmt(v)}"))
        if current:
            segments.append(" ".join(current))
        label = f"{s.model_version} · {s.dialect}" if k < MAX_LINES else "other"
        lines.append(Line(label, colour, segments, dots))
    y_ticks = [(xy(0, top * f)[1], metric.fmt(top * f)) for f in (0, 0.5, 1)]
    step = max(1, len(starts) // 4)
    fmt = "%d %b %H:%M" if hours > 24 else "%H:%M"
    x_ticks = [(xy(i, 0)[0], f"{starts[i]:{fmt}}") for i in range(0, len(starts), step)]
    threshold = None
    if metric.threshold is not None and metric.threshold <= top:
        threshold = (xy(0, metric.threshold)[1], metric.threshold_label)
    return Chart(
        key=metric.key,
        title=metric.title,
        lines=lines,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        threshold=threshold,
        empty=not seen,
    )


def charts(report: ModelQualityReport) -> list[Chart]:
    """Every chart of the page."""
    return [line_chart(m, report.bucket_starts, report.series, hours=report.hours) for m in METRICS]


@router.get("")
def model_quality_page(
    request: Request,
    hours: int = model_quality.DEFAULT_HOURS,
    principal: Principal = Depends(read_models),
) -> Response:
    """Charts over the last 6 h, 24 h or 7 days, and a table of the window's totals."""
    with app_state(request).db.session() as s:
        report = model_quality.model_quality_report(s, principal, hours=hours)
    return render(
        request,
        "model_quality/page.html",
        {
            "report": report,
            "charts": charts(report),
            "windows": sorted(model_quality.WINDOWS),
            "palette": PALETTE,
            "max_lines": MAX_LINES,
        },
    )
