"""``/v1/evaluations``, ``/v1/comparisons`` and ``/v1/model-reports``: evaluation of model
versions on versioned sets, comparison with significance, and saved reports.

The services (:mod:`carepipe.mlops.evaluation`, ``comparison``, ``reports``) check
``models.evaluate`` / ``models.read``; these routes parse, call them and render their views.
An evaluation is started here and run in a background thread (12 clips with Whisper base
take a minute or two): ``POST`` answers ``202`` with status ``running``; poll
``GET /v1/evaluations/{id}`` until ``done`` (or ``failed``).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal, require
from carepipe.mlops import comparison, evaluation, reports
from carepipe.mlops.comparison import ComparisonView
from carepipe.mlops.evaluation import EvaluationView
from carepipe.mlops.refs import REF_PATTERN
from carepipe.mlops.reports import ReportView, ScheduleView

router = APIRouter(prefix="/v1", tags=["evaluations"])

#: The JSON form of a saved report (what ``reports.comparison_content`` /
#: ``performance_content`` build): summary rows, figures, tables, notes and the raw data.
REPORT_CONTENT_SCHEMA = {
    "type": "object",
    "required": ["kind", "title", "generated_at", "summary", "figures", "tables", "notes", "data"],
    "properties": {
        "kind": {"type": "string", "enum": ["comparison", "performance"]},
        "title": {"type": "string"},
        "generated_at": {"type": "string", "format": "date-time"},
        "summary": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "figures": {"type": "array", "items": {"type": "object"}},
        "tables": {"type": "array", "items": {"type": "object"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "object"},
    },
}

#: A version reference: an id, ``name@<version>`` or ``name@<alias>`` (``mlops/refs.py``).
Ref = Annotated[str, Field(min_length=1, max_length=200, pattern=REF_PATTERN)]
SetName = Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z0-9._@-]*$")]
Id = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="An id (32 hex digits).")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvaluationRequest(_Body):
    """Evaluate ``version`` on a set: ``scribe-clips`` (optionally some ``clips``) or
    ``corrections`` (optionally of one ``tenant``)."""

    version: Ref
    eval_set: Literal["scribe-clips", "corrections"] = "scribe-clips"
    clips: list[Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]] | None = Field(
        None, max_length=500
    )
    tenant: str | None = Field(None, max_length=64, pattern=PRINTABLE)


class EvaluationPage(BaseModel):
    items: list[EvaluationView]


class ComparisonRequest(_Body):
    """Compare ``candidate`` (B) against ``baseline`` (A) on a set version both were
    evaluated on (``eval_set``: ``name@hash`` or a name; default the newest shared)."""

    baseline: Ref
    candidate: Ref
    eval_set: SetName | None = None


class ComparisonReportRequest(_Body):
    """A comparison report of ``candidate`` against ``baseline`` (as ``/v1/comparisons``)."""

    kind: Literal["comparison"]
    baseline: Ref
    candidate: Ref
    eval_set: SetName | None = None


class PerformanceReportRequest(_Body):
    """A performance report of ``version`` over ``start``..``end`` (or the last ``hours``,
    default 168, ending now)."""

    kind: Literal["performance"]
    version: Ref
    start: datetime | None = None
    end: datetime | None = None
    hours: float | None = Field(None, gt=0, le=reports.MAX_RANGE_HOURS)


ReportRequest = Annotated[
    ComparisonReportRequest | PerformanceReportRequest, Field(discriminator="kind")
]


class ScheduleRequest(_Body):
    """A recurring performance report of what serves ``engine_kind`` in ``environment``."""

    engine_kind: Literal["asr", "note", "ocr", "orders"]
    environment: str = Field("production", max_length=32, pattern=r"^[a-z0-9_-]+$")
    every_hours: float = Field(168.0, ge=1, le=reports.MAX_RANGE_HOURS)
    range_hours: float = Field(168.0, ge=1, le=reports.MAX_RANGE_HOURS)


@router.post(
    "/evaluations",
    status_code=202,
    operation_id="startEvaluation",
    response_model=EvaluationView,
    responses=error_responses(401, 403, 404, 422),
)
def start_evaluation(
    body: EvaluationRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> EvaluationView:
    """Start evaluating a version (``models.evaluate``); runs in the background."""
    with state.db.transaction() as s:
        require(principal, "models.evaluate")
        eval_set = evaluation.build_set(
            s, state.blobs, principal, body.eval_set, clips=body.clips, tenant=body.tenant
        )
        started = evaluation.start_evaluation(s, principal, body.version, eval_set)
    threading.Thread(
        target=evaluation.run_evaluation,
        args=(state.db, state.blobs, state.settings, started.id, eval_set),
        name=f"evaluation-{started.id[:8]}",
        daemon=True,
    ).start()
    return started


@router.get(
    "/evaluations",
    operation_id="listEvaluations",
    response_model=EvaluationPage,
    responses=error_responses(401, 403, 404),
)
def list_evaluations(
    version: Annotated[str | None, Query(max_length=200, pattern=REF_PATTERN)] = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> EvaluationPage:
    """Newest evaluations first (``models.read``)."""
    with state.db.session() as s:
        return EvaluationPage(
            items=evaluation.list_evaluations(s, principal, ref=version, limit=limit)
        )


@router.get(
    "/evaluations/{evaluation_id}",
    operation_id="getEvaluation",
    response_model=EvaluationView,
    responses=error_responses(401, 403, 404),
)
def get_evaluation(
    evaluation_id: Id,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> EvaluationView:
    """One evaluation: status, metrics overall and per slice."""
    with state.db.session() as s:
        return evaluation.get_evaluation(s, principal, evaluation_id)


@router.post(
    "/comparisons",
    operation_id="compareVersions",
    response_model=ComparisonView,
    responses=error_responses(401, 403, 404, 422),
)
def compare_versions(
    body: ComparisonRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ComparisonView:
    """Compare two versions' newest evaluations on one set version, with significance."""
    with state.db.session() as s:
        return comparison.compare(
            s, state.blobs, principal, body.baseline, body.candidate, eval_set=body.eval_set
        )


@router.post(
    "/model-reports",
    status_code=201,
    operation_id="createModelReport",
    response_model=ReportView,
    responses=error_responses(401, 403, 404, 422),
)
def create_report(
    body: ReportRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReportView:
    """Save a comparison or performance report (JSON, HTML, PDF), shareable by its id."""
    with state.db.transaction() as s:
        if isinstance(body, ComparisonReportRequest):
            return reports.create_comparison_report(
                s, state.blobs, principal, body.baseline, body.candidate, eval_set=body.eval_set
            )
        return reports.create_performance_report(
            s,
            state.blobs,
            principal,
            body.version,
            start=body.start,
            end=body.end,
            hours=body.hours,
        )


@router.get(
    "/model-reports/{report_id}.{fmt}",
    operation_id="downloadModelReport",
    response_class=Response,
    responses={
        200: {
            "description": "The report as PDF, HTML or JSON (by the path's extension).",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": REPORT_CONTENT_SCHEMA},
            },
        },
        **error_responses(401, 403, 404),
    },
)
def download_report(
    report_id: Id,
    fmt: Annotated[str, Path(pattern=r"^(pdf|html|json)$")],
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """A saved report as PDF, HTML or JSON."""
    with state.db.session() as s:
        data, media_type = reports.report_file(s, state.blobs, principal, report_id, fmt)
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="model-report-{report_id}.{fmt}"'},
    )


@router.get(
    "/model-reports/{report_id}",
    operation_id="getModelReport",
    response_model=ReportView,
    responses=error_responses(401, 403, 404),
)
def get_report(
    report_id: Id,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReportView:
    """A saved report's summary and download links."""
    with state.db.session() as s:
        return reports.get_report(s, principal, report_id)


@router.post(
    "/model-report-schedules",
    status_code=201,
    operation_id="createModelReportSchedule",
    response_model=ScheduleView,
    responses=error_responses(401, 403, 422),
)
def create_schedule(
    body: ScheduleRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ScheduleView:
    """A recurring performance report; the scheduler of ``carepipe up`` writes it when due."""
    with state.db.transaction() as s:
        return reports.create_schedule(
            s,
            principal,
            body.engine_kind,
            environment=body.environment,
            every_hours=body.every_hours,
            range_hours=body.range_hours,
        )
