"""``/v1/drift``: drift checks and events of deployed model versions, and the monitoring
series of a version (staff: ``models.read`` to view, ``models.evaluate`` to run a check).

The service (:mod:`carepipe.mlops.drift`, :mod:`carepipe.mlops.monitoring`) owns the rules;
these routes parse, call it in one session or transaction, and render its views.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from carepipe.api.openapi import error_responses
from carepipe.api.params import MAX_ID, AwareTime
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.mlops import drift, monitoring
from carepipe.mlops.refs import REF_PATTERN

router = APIRouter(prefix="/v1/drift", tags=["drift"])

# A version id, name@<version> or name@<alias> (carepipe.mlops.refs).
VersionRef = Annotated[
    str, Path(pattern=REF_PATTERN, description="A version id, name@<version> or name@<alias>.")
]
EngineKind = Literal["asr", "note", "ocr", "orders"]


class WindowIn(BaseModel):
    """A pinned window ``[since, until)`` (timestamps with a zone)."""

    model_config = ConfigDict(extra="forbid")

    since: AwareTime | None = None
    until: AwareTime | None = None


class CheckRequest(BaseModel):
    """Check one version, or every version deployed for an engine kind; windows optional
    (default: the version's first jobs against the newest)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["version"], "properties": {"version": {"type": "string"}}},
                {"required": ["engine_kind"], "properties": {"engine_kind": {"type": "string"}}},
            ]
        },
    )

    version: str | None = Field(None, pattern=REF_PATTERN, max_length=194)
    engine_kind: EngineKind | None = None
    baseline: WindowIn | None = None
    current: WindowIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CheckRequest:
        if (self.version is None) == (self.engine_kind is None):
            raise ValueError("give version or engine_kind")
        return self


def _window(w: WindowIn | None) -> drift.Window | None:
    return None if w is None else drift.Window(since=w.since, until=w.until)


@router.post(
    "/checks", response_model=drift.DriftCheckRun, responses=error_responses(400, 403, 404)
)
def run_check(
    body: CheckRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> drift.DriftCheckRun:
    """Run a drift check now: scores per feature, events stored, next check time."""
    with state.db.transaction() as s:
        return drift.check_now(
            s,
            principal,
            settings=state.settings,
            version=body.version,
            engine_kind=body.engine_kind,
            baseline=_window(body.baseline),
            current=_window(body.current),
        )


@router.get("/checks", response_model=list[drift.DriftCheck], responses=error_responses(403))
def latest_checks(
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> list[drift.DriftCheck]:
    """The newest check of every deployed version."""
    with state.db.session() as s:
        return drift.latest_checks(s, principal)


@router.get(
    "/events", response_model=drift.DriftEventPage, responses=error_responses(400, 403, 404)
)
def list_events(
    version: Annotated[str | None, Query(pattern=REF_PATTERN, max_length=194)] = None,
    engine_kind: EngineKind | None = None,
    severity: Literal["marginal", "severe"] | None = None,
    feature: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    since: AwareTime | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> drift.DriftEventPage:
    """Drift events, newest first; ``next_before`` pages on."""
    with state.db.session() as s:
        return drift.list_events(
            s,
            principal,
            version=version,
            engine_kind=engine_kind,
            severity=severity,
            feature=feature,
            since=since,
            before=before,
            limit=limit,
        )


@router.get(
    "/monitoring/{ref}",
    response_model=monitoring.MonitoringSeries,
    responses=error_responses(400, 403, 404),
)
def monitor(
    ref: VersionRef,
    hours: Annotated[int, Query(ge=1, le=monitoring.MAX_HOURS)] = 24,
    bucket: Literal["hour", "day"] = "hour",
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> monitoring.MonitoringSeries:
    """A version's jobs, failure rate, latency, RTF, confidence and correction WER over time."""
    with state.db.session() as s:
        return monitoring.monitor_version(s, principal, ref, hours=hours, bucket=bucket)
