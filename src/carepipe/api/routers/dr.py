"""``/v1/dr``: disaster-recovery drills, their reports and findings (``dr.read``: admin, ops,
compliance); findings are changed with ``dr.manage`` (admin). Drills are run by
``carepipe dr drill`` (or the console's "Run drill now"), never by an API call: a drill
fences the platform the API runs on."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import MAX_ID, PRINTABLE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops.dr import findings, service
from carepipe.ops.dr.views import DrillView, FindingView

router = APIRouter(prefix="/v1/dr", tags=["disaster recovery"])
DRILL_ID = Path(
    min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="A drill's id."
)
OWNER = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def _iso_date(value: Any) -> Any:
    # A number is not a date here (pydantic would read 0 as 1970-01-01).
    if not isinstance(value, str | date):
        raise ValueError("must be an ISO date, e.g. 2026-06-30")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class FindingPatch(BaseModel):
    """What to change on a finding; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    # Printable, and not blank at either end (the service trims; all blank is refused).
    owner: str | None = Field(None, min_length=1, max_length=128, pattern=OWNER)
    due_date: IsoDate | None = Field(None, description="ISO date, e.g. 2026-06-30.")
    ticket: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="Tracker key; empty removes it."
    )
    status: Literal["open", "done"] | None = Field(
        None, description="done closes the finding (stamps closed_at/closed_by)."
    )


@router.get(
    "/drills",
    operation_id="listDrills",
    response_model=list[DrillView],
    responses=error_responses(403),
)
def list_drills(
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> list[DrillView]:
    """The newest drills first, each with its measurements, smoke tests and findings."""
    return service.list_drills(state.db, principal, limit=limit)


@router.get(
    "/drills/{drill_id}",
    operation_id="getDrill",
    response_model=DrillView,
    responses=error_responses(403, 404),
)
def get_drill(
    drill_id: str = DRILL_ID,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> DrillView:
    """One drill: timeline, RTO/RPO against the targets, smoke tests, missing items, findings."""
    return service.get_drill(state.db, principal, drill_id)


@router.get(
    "/drills/{drill_id}/report",
    operation_id="getDrillReport",
    response_class=Response,
    responses={
        200: {
            "description": "The drill's report as a download.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_responses(403, 404),
    },
)
def get_report(
    drill_id: str = DRILL_ID,
    format: Literal["html", "json", "pdf"] = "html",
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """The report (timeline, RTO/RPO against targets, smoke tests, findings) as HTML, JSON
    or PDF."""
    body = service.report(state.db, principal, drill_id, format)
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="drill-{drill_id}.{format}"'},
    )


@router.get(
    "/findings",
    operation_id="listDrillFindings",
    response_model=list[FindingView],
    responses={
        200: {
            "description": "The findings (JSON), or a Jira-importable CSV with format=csv.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(403),
    },
)
def list_findings(
    drill_id: str | None = Query(None, min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$"),
    status: Literal["open", "done"] | None = None,
    format: Literal["json", "csv"] = "json",
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> list[FindingView] | Response:
    """Findings, oldest first; ``format=csv`` in the shape Jira's CSV importer takes
    (docs/disaster-recovery.md, "Findings"; the console also offers Jira's JSON import)."""
    rows = findings.list_findings(state.db, principal, drill_id=drill_id, status=status)
    if format == "json":
        return rows
    return Response(
        findings.export_findings(rows, "csv"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dr-findings.csv"'},
    )


@router.patch(
    "/findings/{finding_id}",
    operation_id="updateDrillFinding",
    response_model=FindingView,
    responses=error_responses(403, 404, 422),
)
def update_finding(
    body: FindingPatch,
    finding_id: int = Path(ge=1, le=MAX_ID),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> FindingView:
    """Set the owner, due date or ticket, or close (``status: done``) / reopen a finding
    (``dr.manage``; audited ``dr.finding.update`` / ``dr.finding.close``)."""
    return findings.update_finding(
        state.db,
        principal,
        finding_id,
        owner=body.owner,
        due_date=body.due_date,
        ticket=body.ticket,
        status=body.status,
    )
