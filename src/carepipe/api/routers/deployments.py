"""``/v1/deployments``: which model version serves, canary rollouts and rollbacks.

The services (:mod:`carepipe.mlops.deployments`, ``canary``, ``rollback``) check
``models.read`` / ``models.deploy`` and own every rule; these routes parse, call them and
render their views. A deploy or rollback runs the version's health check first (a few
seconds for Whisper): a failure answers ``409 deployment_unhealthy`` and nothing switches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE, PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.mlops import canary, deployments, rollback
from carepipe.mlops.canary import CanaryStatusView
from carepipe.mlops.deployments import (
    DeploymentEventView,
    DeploymentView,
    IncidentView,
    ProductionAtView,
)
from carepipe.mlops.refs import REF_PATTERN
from carepipe.mlops.rollback import RollbackTarget, RollbackView

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])

Ref = Annotated[str, Field(min_length=1, max_length=200, pattern=REF_PATTERN)]
Id = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A deployment id.")]
Reason = Annotated[str | None, Field(None, max_length=500)]
Kind = Literal["asr", "note"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeployRequest(_Body):
    """Make ``version`` the stable version of ``engine_kind`` for ``tenant`` (``*``: all).
    ``expected_revision``: the revision read (0: the deployment must not exist yet)."""

    engine_kind: Kind
    version: Ref
    environment: str = Field("production", max_length=32, pattern=r"^[a-z0-9_-]+$")
    tenant: str = Field("*", max_length=64, pattern=PRINTABLE)
    expected_revision: int | None = Field(None, ge=0)
    reason: Reason = None


class AnalysisTemplate(_Body):
    """The analysis template (defaults: Flagger-like, see docs/model-serving.md)."""

    interval_seconds: float | None = Field(None, ge=0, le=86400)
    min_success_rate: float | None = Field(None, ge=0, le=1)
    max_p99_ms: float | None = Field(None, gt=0)
    max_p99_factor: float | None = Field(None, gt=0)
    p99_margin_ms: float | None = Field(None, ge=0)
    min_jobs: int | None = Field(None, ge=1, le=100000)
    failure_limit: int | None = Field(None, ge=1, le=100)


class CanaryRequest(_Body):
    """Start a canary of ``version`` with ``steps`` (percent, default 10, 50, 100)."""

    version: Ref
    steps: list[Annotated[int, Field(ge=1, le=100)]] | None = Field(None, max_length=20)
    analysis: AnalysisTemplate | None = None
    sticky: Literal["idempotency_key", "tenant"] = "idempotency_key"
    expected_revision: int | None = Field(None, ge=1)
    reason: Reason = None


class ChangeRequest(_Body):
    expected_revision: int | None = Field(None, ge=1)
    reason: Reason = None


class RollbackRequest(_Body):
    """Roll back to ``to`` (default: the most recent earlier stable version)."""

    to: Ref | None = None
    expected_revision: int | None = Field(None, ge=1)
    reason: Reason = None


class ConfirmRequest(_Body):
    version: Ref
    reason: Reason = None


class DeploymentPage(BaseModel):
    items: list[DeploymentView]


class EventPage(BaseModel):
    items: list[DeploymentEventView]


class TargetPage(BaseModel):
    items: list[RollbackTarget]


class IncidentPage(BaseModel):
    items: list[IncidentView]


_R = error_responses(401, 403, 404)
_W = error_responses(400, 401, 403, 404, 409, 422)


@router.get("", operation_id="listDeployments", response_model=DeploymentPage, responses=_R)
def list_deployments(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> DeploymentPage:
    """Every deployment (``models.read``)."""
    with state.db.session() as s:
        return DeploymentPage(items=deployments.list_deployments(s, principal))


@router.post(
    "", status_code=201, operation_id="deployModel", response_model=DeploymentView, responses=_W
)
def deploy(
    body: DeployRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> DeploymentView:
    """Deploy a version (``models.deploy``): health check, then switch."""
    return deployments.deploy(
        state.db,
        state.settings,
        principal,
        engine_kind=body.engine_kind,
        version_ref=body.version,
        environment=body.environment,
        tenant=body.tenant,
        expected_revision=body.expected_revision,
        reason=body.reason,
        blobs=state.blobs,
    )


@router.get(
    "/production-at",
    operation_id="productionAt",
    response_model=ProductionAtView,
    responses=_R,
)
def production_at(
    engine_kind: Kind,
    tenant: Annotated[str, Query(max_length=64, pattern=PRINTABLE)],
    at: datetime,
    environment: Annotated[str, Query(max_length=32, pattern=r"^[a-z0-9_-]+$")] = "production",
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ProductionAtView:
    """What served ``engine_kind`` for ``tenant`` at time ``at`` (``models.read``)."""
    with state.db.session() as s:
        return deployments.production_at(
            s, principal, engine_kind, tenant, at, environment=environment
        )


@router.get(
    "/{deployment_id}", operation_id="getDeployment", response_model=CanaryStatusView, responses=_R
)
def get_deployment(
    deployment_id: Id,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> CanaryStatusView:
    """The deployment with its live canary: arms, jobs, success rate, p99, decisions."""
    with state.db.session() as s:
        return canary.status(s, principal, deployment_id)


@router.get(
    "/{deployment_id}/events",
    operation_id="deploymentEvents",
    response_model=EventPage,
    responses=_R,
)
def events(
    deployment_id: Id,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> EventPage:
    """The deployment's history, newest first."""
    with state.db.session() as s:
        return EventPage(items=deployments.history(s, principal, deployment_id, limit=limit))


@router.get(
    "/{deployment_id}/incidents",
    operation_id="deploymentIncidents",
    response_model=IncidentPage,
    responses=_R,
)
def incidents(
    deployment_id: Id,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> IncidentPage:
    """Incidents opened by rollbacks, aborted canaries and failed health checks."""
    with state.db.session() as s:
        return IncidentPage(items=deployments.incidents(s, principal, deployment_id))


class CloseIncidentRequest(_Body):
    """How the incident was resolved (kept in the incident and the audit log)."""

    resolution: str = Field(min_length=1, max_length=500, pattern=PROSE)


@router.post(
    "/{deployment_id}/incidents/{incident_id}/close",
    operation_id="closeIncident",
    response_model=IncidentView,
    responses=_W,
)
def close_incident(
    deployment_id: Id,
    incident_id: Id,
    body: CloseIncidentRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> IncidentView:
    """Close an open incident with its resolution (``models.deploy``)."""
    with state.db.transaction() as s:
        return deployments.close_incident(
            s, principal, deployment_id, incident_id, resolution=body.resolution
        )


@router.post(
    "/{deployment_id}/canary",
    operation_id="startCanary",
    response_model=DeploymentView,
    responses=_W,
)
def start_canary(
    deployment_id: Id,
    body: CanaryRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> DeploymentView:
    """Start a canary (``models.deploy``); the analysis runs on the scheduler."""
    analysis: dict[str, Any] = body.analysis.model_dump(exclude_none=True) if body.analysis else {}
    with state.db.transaction() as s:
        return canary.start_canary(
            s,
            principal,
            state.settings,
            deployment_id,
            body.version,
            steps=body.steps,
            analysis=analysis,
            sticky=body.sticky,
            expected_revision=body.expected_revision,
            reason=body.reason,
        )


_ACTIONS = {
    "pause": canary.pause,
    "resume": canary.resume,
    "abort": canary.abort,
    "promote": canary.promote_now,
}


@router.post(
    "/{deployment_id}/canary/{action}",
    operation_id="changeCanary",
    response_model=DeploymentView,
    responses=_W,
)
def change_canary(
    deployment_id: Id,
    action: Literal["pause", "resume", "abort", "promote"],
    body: ChangeRequest | None = None,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> DeploymentView:
    """Pause, resume, abort or promote now the running canary (``models.deploy``)."""
    body = body or ChangeRequest()
    with state.db.transaction() as s:
        return _ACTIONS[action](
            s,
            principal,
            state.settings,
            deployment_id,
            expected_revision=body.expected_revision,
            reason=body.reason,
        )


@router.post(
    "/{deployment_id}/retired/confirm",
    operation_id="confirmDecommission",
    response_model=DeploymentView,
    responses=_W,
)
def confirm(
    deployment_id: Id,
    body: ConfirmRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> DeploymentView:
    """Confirm a retired version's decommissioning (it leaves the rollback targets)."""
    with state.db.transaction() as s:
        return deployments.confirm_decommission(
            s, principal, deployment_id, body.version, reason=body.reason
        )


@router.get(
    "/{deployment_id}/rollback-targets",
    operation_id="rollbackTargets",
    response_model=TargetPage,
    responses=_R,
)
def rollback_targets(
    deployment_id: Id,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> TargetPage:
    """Versions this deployment can roll back to, most recently stable first."""
    with state.db.session() as s:
        return TargetPage(items=rollback.targets(s, principal, deployment_id))


@router.post(
    "/{deployment_id}/rollback",
    operation_id="rollbackDeployment",
    response_model=RollbackView,
    responses=_W,
)
def do_rollback(
    deployment_id: Id,
    body: RollbackRequest | None = None,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> RollbackView:
    """Roll back (``models.deploy``): health check the target, switch, verify, record."""
    body = body or RollbackRequest()
    return rollback.rollback(
        state.db,
        state.settings,
        principal,
        deployment_id,
        to=body.to,
        expected_revision=body.expected_revision,
        reason=body.reason,
        blobs=state.blobs,
    )
