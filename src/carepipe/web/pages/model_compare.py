"""Console: compare two evaluated model versions, and saved model reports.

``/console/model-compare`` picks two versions and a set version and shows the comparison
(:func:`carepipe.mlops.comparison.compare`): verdict, difference with its CI, the tests,
a per-clip SVG chart of both versions, the per-slice table, and a button that saves it as
a report. ``/console/model-reports/{id}`` shows a saved report, with its PDF, HTML and
JSON downloads (``.pdf``, ``.html``, ``.json``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.mlops import comparison, report_charts, reports
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)
read_models = require_permission("models.read")
evaluate_models = require_permission("models.evaluate")
ReportId = Path(pattern=r"^[0-9a-f]{32}$")


def _fmt(value: float | None) -> str:
    return report_charts.fmt(value, "pct")


@router.get("/model-compare")
def compare_page(
    request: Request,
    baseline: str = "",
    candidate: str = "",
    set: str = "",
    principal: Principal = Depends(read_models),
) -> Response:
    """The picker, and the comparison when two versions are chosen."""
    state = app_state(request)
    flashes: list[tuple[str, str]] = []
    view = None
    status = 200
    with state.db.session() as s:
        versions, sets = comparison.evaluated_choices(s, principal)
        if baseline and candidate:
            try:
                view = comparison.compare(
                    s, state.blobs, principal, baseline, candidate, eval_set=set or None
                )
            except CarePipeError as exc:
                flashes.append(("error", exc.message))
                status = exc.http_status
    context: dict[str, Any] = {
        "versions": versions,
        "sets": sets,
        "baseline": baseline or (versions[0] if versions else ""),
        "candidate": candidate or (versions[1] if len(versions) > 1 else ""),
        "eval_set": set,
        "c": view,
        "flashes": flashes,
        "fmt": _fmt,
    }
    if view is not None:
        figure = reports.comparison_content(view)["figures"][0]
        context["chart"] = Markup(report_charts.svg(figure))  # noqa: S704  (escaped inside)
    return render(request, "model_compare.html", context, status=status)


@router.post("/model-compare/report", dependencies=[Depends(verify_csrf)])
def save_report(
    request: Request,
    baseline: str = Form(..., max_length=200),
    candidate: str = Form(..., max_length=200),
    set: str = Form("", max_length=200),
    principal: Principal = Depends(evaluate_models),
) -> Response:
    """Save the comparison as a report and open it."""
    state = app_state(request)
    with state.db.transaction() as s:
        saved = reports.create_comparison_report(
            s, state.blobs, principal, baseline, candidate, eval_set=set or None
        )
    return RedirectResponse(f"/console/model-reports/{saved.id}", status_code=303)


@router.get("/model-reports/{report_id}.{fmt}")
def report_download(
    request: Request,
    report_id: str = ReportId,
    fmt: str = Path(pattern=r"^(pdf|html|json)$"),
    principal: Principal = Depends(read_models),
) -> Response:
    """A saved report's PDF, HTML or JSON."""
    state = app_state(request)
    with state.db.session() as s:
        data, media_type = reports.report_file(s, state.blobs, principal, report_id, fmt)
    disposition = "inline" if fmt != "json" else "attachment"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="model-report-{report_id}.{fmt}"'
        },
    )


@router.get("/model-reports/{report_id}")
def report_page(
    request: Request, report_id: str = ReportId, principal: Principal = Depends(read_models)
) -> Response:
    """A saved report in the console."""
    state = app_state(request)
    with state.db.session() as s:
        report = reports.get_report(s, principal, report_id)
        content = reports.report_content(s, state.blobs, principal, report_id)
    return render(
        request,
        "model_report_page.html",
        {"r": content, "report": report, "svgs": reports.figure_svgs(content)},
    )
