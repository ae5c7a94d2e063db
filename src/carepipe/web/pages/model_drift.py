"""Console: drift of the deployed model versions (``/console/model-drift``).

Per deployed version: its latest check's features with their scores against the marginal
and severe thresholds (bars), the stored drift events, and the version's monitoring
charts. Numbers come from :mod:`carepipe.mlops.drift` and :mod:`carepipe.mlops.monitoring`;
charts are SVG drawn on the server (no script, no inline style: the console's strict
Content-Security-Policy holds). Checks are run by the scheduler, the API or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.mlops import drift, monitoring
from carepipe.mlops.drift import DriftCheck
from carepipe.mlops.drift_features import FeatureScore
from carepipe.mlops.monitoring import MonitorBucket, MonitoringSeries
from carepipe.web.auth import app_state, require_permission
from carepipe.web.templating import render

router = APIRouter(prefix="/console/model-drift", include_in_schema=False)
read_models = require_permission(drift.READ)
BAR_WIDTH, BAR_HEIGHT = 240, 16
COLOURS = {"ok": "#009E73", "marginal": "#E69F00", "severe": "#D55E00", "insufficient": "#999999"}
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 480, 160, 48, 12, 12, 24


@dataclass(frozen=True)
class Bar:
    """One feature's score as a bar, with the two threshold marks (pixels)."""

    score: FeatureScore
    width: float
    marginal_x: float
    severe_x: float
    colour: str


def bars(check: DriftCheck) -> list[Bar]:
    """The features of a check on one scale: twice the severe threshold fills the bar."""
    out = []
    for s in check.features:
        top = 2 * s.severe_at

        def x(v: float, top: float = top) -> float:
            return round(BAR_WIDTH * min(max(v, 0.0), top) / top, 1)

        out.append(Bar(s, x(s.value or 0.0), x(s.marginal_at), x(s.severe_at), COLOURS[s.status]))
    return out


@dataclass(frozen=True)
class Chart:
    """A monitoring chart: one polyline over the buckets (gaps where nothing ran)."""

    key: str
    title: str
    segments: list[str]
    dots: list[tuple[float, float, str]]
    y_ticks: list[tuple[float, str]]
    empty: bool


_SERIES: tuple[tuple[str, str, Callable[[MonitorBucket], float | None], str], ...] = (
    ("jobs", "Jobs", lambda b: float(b.jobs) if b.jobs else None, "{:.0f}"),
    ("failure_rate", "Failure rate", lambda b: b.failure_rate, "{:.0%}"),
    ("latency_p99", "Latency p99 (ms)", lambda b: b.latency_p99_ms, "{:.0f}"),
    ("rtf", "Real-time factor", lambda b: b.rtf_mean, "{:.2f}"),
    ("confidence", "Mean confidence", lambda b: b.confidence_mean, "{:.0%}"),
    ("wer", "WER from corrections", lambda b: b.wer_mean, "{:.0%}"),
)


def charts(series: MonitoringSeries) -> list[Chart]:
    """The monitoring charts of a version."""
    out = []
    n = max(1, len(series.buckets) - 1)
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    for key, title, value, fmt in _SERIES:
        values = [value(b) for b in series.buckets]
        seen = [v for v in values if v is not None]
        top = max(seen, default=0.0) * 1.1 or 1.0
        segments, current, dots = [], [], []
        for i, v in enumerate(values):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x = round(x0 + (x1 - x0) * i / n, 1)
            y = round(y1 - (y1 - y0) * v / top, 1)
            current.append(f"{x},{y}")
            dots.append((x, y, f"{series.buckets[i].start:%Y-%m-%d %H:%M} UTC: {fmt.format(v)}"))
        if current:
            segments.append(" ".join(current))
        ticks = [(round(y1 - (y1 - y0) * f, 1), fmt.format(top * f)) for f in (0, 0.5, 1)]
        out.append(Chart(key, title, segments, dots, ticks, not seen))
    return out


@router.get("")
def model_drift_page(
    request: Request,
    version: str | None = None,
    principal: Principal = Depends(read_models),
) -> Response:
    """Latest scores per deployed version, the events, and one version's monitoring."""
    error = None
    series = None
    with app_state(request).db.session() as s:
        checks = drift.latest_checks(s, principal)
        events = drift.list_events(s, principal, version=None, limit=50)
        chosen = version or (checks[0].version_id if checks else None)
        if chosen:
            try:
                series = monitoring.monitor_version(s, principal, chosen, hours=168, bucket="day")
            except CarePipeError as exc:
                error = exc.message
    return render(
        request,
        "model_drift.html",
        {
            "checks": [(c, bars(c)) for c in checks],
            "events": events.items,
            "series": series,
            "charts": charts(series) if series else [],
            "error": error,
            "bar": (BAR_WIDTH, BAR_HEIGHT),
            "chart": (WIDTH, HEIGHT, LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM),
        },
    )
