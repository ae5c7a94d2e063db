"""Console: the model registry (models, versions, aliases, promotion, approvals).

Every rule is the services' (:mod:`carepipe.mlops.registry`, :mod:`carepipe.mlops.promotion`);
a refused change re-renders the page with the error's code and, for a blocked promotion,
each check with its figure and limit. The metrics chart is SVG drawn on the server (no
script, no inline style: the console's Content-Security-Policy holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.mlops import gates, promotion, registry
from carepipe.mlops.models import ENGINE_KINDS, STAGES
from carepipe.mlops.views import EvaluationPoint
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/models", include_in_schema=False)
read_models = require_permission("models.read")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 480, 160, 44, 12, 10, 24
#: The figure charted per engine kind (and whether lower is better, for the label).
CHART_METRIC = {"asr": "wer", "note": "recall"}


@dataclass(frozen=True)
class MetricChart:
    """SVG geometry of one metric over a version's evaluations."""

    metric: str
    points: str
    dots: list[tuple[float, float, str]]
    y_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def metric_chart(metric: str, evaluations: list[EvaluationPoint]) -> MetricChart | None:
    """The chart of ``metric`` over finished evaluations, oldest left (None: none measured)."""
    seen = [
        (e, float(e.metrics[metric]))
        for e in evaluations
        if e.status == "done" and isinstance(e.metrics.get(metric), int | float)
    ]
    if not seen:
        return None
    top = max(0.1, max(v for _, v in seen) * 1.1)
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    n = max(1, len(seen) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return round(x0 + (x1 - x0) * i / n, 1), round(y1 - (y1 - y0) * min(v, top) / top, 1)

    dots = []
    for i, (e, v) in enumerate(seen):
        x, y = xy(i, v)
        dots.append((x, y, f"{e.created_at:%Y-%m-%d %H:%M} {e.eval_set}: {metric} {v:.4g}"))
    return MetricChart(
        metric=metric,
        points=" ".join(f"{x},{y}" for x, y, _ in dots),
        dots=dots,
        y_ticks=[(xy(0, top * f)[1], f"{top * f:.2g}") for f in (0, 0.5, 1)],
    )


def _error(exc: CarePipeError) -> dict[str, Any]:
    details = exc.details if isinstance(exc.details, dict) else {}
    return {"code": exc.code, "message": exc.message, "checks": details.get("checks", [])}


@router.get("")
def model_list(
    request: Request,
    q: str = "",
    kind: str = "",
    stage: str = "",
    principal: Principal = Depends(read_models),
) -> Response:
    """Models with a search box and kind/stage filters."""
    error = None
    with app_state(request).db.session() as s:
        try:
            page = registry.search_models(
                s, principal, q=q or None, kind=kind or None, stage=stage or None, limit=200
            )
        except CarePipeError as exc:
            page, error = None, _error(exc)
    return render(
        request,
        "models.html",
        {
            "page": page,
            "q": q,
            "kind": kind,
            "stage": stage,
            "kinds": ENGINE_KINDS,
            "stages": STAGES,
            "error": error,
        },
        status=400 if error else 200,
    )


def _model_page(
    request: Request, principal: Principal, name: str, error: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    with app_state(request).db.session() as s:
        model = registry.get_model(s, principal, name)
    return render(
        request,
        "models_model.html",
        {"model": model, "error": error, "chart_metric": CHART_METRIC.get(model.kind, "")},
        status=status,
    )


@router.get("/{name}")
def model_page(
    request: Request, name: str, principal: Principal = Depends(read_models)
) -> Response:
    """A model's versions (stage, aliases, sha256, created, latest figures) and alias form."""
    return _model_page(request, principal, name)


@router.post("/{name}/aliases", dependencies=[Depends(verify_csrf)])
def set_alias(
    request: Request,
    name: str,
    alias: str = Form(...),
    version: int = Form(...),
    expected_revision: int = Form(...),
    principal: Principal = Depends(read_models),
) -> Response:
    try:
        with app_state(request).db.transaction() as s:
            registry.set_alias(
                s, principal, name, alias, version=version, expected_revision=expected_revision
            )
    except CarePipeError as exc:
        return _model_page(request, principal, name, _error(exc), exc.http_status)
    return RedirectResponse(f"/console/models/{name}", status_code=303)


def _version_page(
    request: Request, principal: Principal, name: str, which: str,
    error: dict[str, Any] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    with app_state(request).db.session() as s:
        version = registry.get_version(s, principal, name, which)
    metric = CHART_METRIC.get(version.kind, "")
    return render(
        request,
        "models_version.html",
        {
            "v": version,
            "chart": metric_chart(metric, version.evaluations) if metric else None,
            "targets": promotion.TRANSITIONS[version.stage],
            "error": error,
        },
        status=status,
    )


@router.get("/{name}/versions/{which}")
def version_page(
    request: Request, name: str, which: str, principal: Principal = Depends(read_models)
) -> Response:
    """A version: metadata, metrics chart, stage history, approvals; promote/approve forms."""
    return _version_page(request, principal, name, which)


@router.post("/{name}/versions/{which}/promote", dependencies=[Depends(verify_csrf)])
def promote(
    request: Request,
    name: str,
    which: str,
    to_stage: str = Form(...),
    expected_revision: int = Form(...),
    reason: str = Form(""),
    principal: Principal = Depends(read_models),
) -> Response:
    state = app_state(request)
    try:
        with state.db.transaction() as s:
            done = promotion.promote(
                s, principal, name, which, to_stage=to_stage, expected_revision=expected_revision,
                reason=reason, policy=gates.DEFAULT_POLICY,
                webhook_url=state.settings.model_webhook_url,
            )  # fmt: skip
    except CarePipeError as exc:
        return _version_page(request, principal, name, which, _error(exc), exc.http_status)
    return RedirectResponse(f"/console/models/{name}/versions/{done.version.version}", 303)


@router.post("/{name}/versions/{which}/approvals", dependencies=[Depends(verify_csrf)])
def approve(
    request: Request,
    name: str,
    which: str,
    kind: str = Form("approval"),
    comment: str = Form(""),
    principal: Principal = Depends(read_models),
) -> Response:
    try:
        with app_state(request).db.transaction() as s:
            promotion.approve(s, principal, name, which, kind=kind, comment=comment)
    except CarePipeError as exc:
        return _version_page(request, principal, name, which, _error(exc), exc.http_status)
    return RedirectResponse(f"/console/models/{name}/versions/{which}", status_code=303)
