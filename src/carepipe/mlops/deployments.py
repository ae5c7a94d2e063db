"""Deployments: which stable version serves an engine kind in an environment, for all
tenants (``*``) or one (the most specific wins), and their history.

Every change goes through :func:`apply_change`: a conditional update on the deployment's
``revision`` (a stale ``expected_revision``, or another change first -> ``RegistryConflict``
409), one ``ml_deployment_events`` row, one audit event, in the caller's transaction.
:func:`deploy` runs the health check (:mod:`carepipe.mlops.health`) before switching and
owns its transactions: a failed check is recorded (event + incident, committed) and then
raised as ``DeploymentUnhealthy``, the old version still serving.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import (
    Conflict,
    DeploymentUnhealthy,
    InvalidRequest,
    NotFound,
    RegistryConflict,
)
from carepipe.mlops import health
from carepipe.mlops.artifacts import runnable
from carepipe.mlops.models import (
    MlDeployment,
    MlDeploymentEvent,
    MlIncident,
    MlModel,
    MlModelVersion,
)
from carepipe.mlops.notify import notify
from carepipe.mlops.refs import label, resolve_version
from carepipe.mlops.serving import clear_cache
from carepipe.mlops.views import View

SERVABLE_KINDS = ("asr", "note")


class DeploymentEventView(View):
    id: int
    at: datetime
    actor: str
    action: str
    stable: str
    canary: str | None
    canary_percent: int
    detail: dict[str, Any]


class DeploymentView(View):
    id: str
    engine_kind: str
    environment: str
    tenant: str
    stable: str
    stable_version_id: str
    canary: str | None
    canary_version_id: str | None
    canary_percent: int
    status: str
    plan: dict[str, Any]
    step_started_at: datetime | None
    retired: list[str]
    updated_at: datetime
    updated_by: str
    revision: int


class ProductionAtView(View):
    """What served ``engine_kind`` for ``tenant`` at ``at``, per the newest event before it."""

    engine_kind: str
    environment: str
    tenant: str
    at: datetime
    deployment_id: str
    deployment_tenant: str
    stable: str
    canary: str | None
    canary_percent: int
    since: datetime
    action: str


class IncidentView(View):
    id: str
    deployment_id: str
    opened_at: datetime
    opened_by: str
    kind: str
    summary: str
    detail: dict[str, Any]
    status: str


def _label_of(session: Session, version_id: str | None) -> str | None:
    if not version_id:
        return None
    version = session.get(MlModelVersion, version_id)
    return label(session, version) if version else version_id


def view(session: Session, row: MlDeployment) -> DeploymentView:
    """The deployment as callers see it (versions by label as well as by id)."""
    return DeploymentView(
        id=row.id,
        engine_kind=row.engine_kind,
        environment=row.environment,
        tenant=row.tenant,
        stable=_label_of(session, row.stable_version_id) or "",
        stable_version_id=row.stable_version_id,
        canary=_label_of(session, row.canary_version_id),
        canary_version_id=row.canary_version_id,
        canary_percent=row.canary_percent,
        status=row.status,
        plan=dict(row.plan or {}),
        step_started_at=row.step_started_at,
        retired=[_label_of(session, v) or v for v in row.retired_version_ids or []],
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        revision=row.revision,
    )


def event_view(session: Session, e: MlDeploymentEvent) -> DeploymentEventView:
    return DeploymentEventView(
        id=e.id,
        at=e.at,
        actor=e.actor,
        action=e.action,
        stable=_label_of(session, e.stable_version_id) or "",
        canary=_label_of(session, e.canary_version_id),
        canary_percent=e.canary_percent,
        detail=dict(e.detail or {}),
    )


def get_row(session: Session, deployment_id: str) -> MlDeployment:
    """The deployment row, or ``NotFound``."""
    row = session.get(MlDeployment, deployment_id)
    if row is None:
        raise NotFound(f"no deployment {deployment_id}")
    return row


def find_row(session: Session, kind: str, environment: str, tenant: str) -> MlDeployment | None:
    return session.execute(
        select(MlDeployment).where(
            MlDeployment.engine_kind == kind,
            MlDeployment.environment == environment,
            MlDeployment.tenant == tenant,
        )
    ).scalar_one_or_none()


def list_deployments(session: Session, principal: Principal) -> list[DeploymentView]:
    """Every deployment, by kind, environment and tenant (``models.read``)."""
    require(principal, "models.read")
    rows = session.execute(
        select(MlDeployment).order_by(
            MlDeployment.engine_kind, MlDeployment.environment, MlDeployment.tenant
        )
    ).scalars()
    return [view(session, r) for r in rows]


def get_deployment(session: Session, principal: Principal, deployment_id: str) -> DeploymentView:
    """One deployment (``models.read``)."""
    require(principal, "models.read")
    return view(session, get_row(session, deployment_id))


def history(
    session: Session, principal: Principal, deployment_id: str, *, limit: int = 100
) -> list[DeploymentEventView]:
    """The deployment's events, newest first (``models.read``)."""
    require(principal, "models.read")
    get_row(session, deployment_id)
    rows = session.execute(
        select(MlDeploymentEvent)
        .where(MlDeploymentEvent.deployment_id == deployment_id)
        .order_by(MlDeploymentEvent.at.desc(), MlDeploymentEvent.id.desc())
        .limit(limit)
    ).scalars()
    return [event_view(session, e) for e in rows]


def apply_change(
    session: Session,
    row: MlDeployment,
    *,
    actor: str,
    actor_role: str | None,
    action: str,
    expected_revision: int | None,
    values: dict[str, Any],
    detail: dict[str, Any] | None = None,
    reason: str | None = None,
) -> MlDeployment:
    """Change the deployment if its revision is still the one read (``expected_revision``,
    default the row's); record the event and the audit in the same transaction."""
    base = row.revision if expected_revision is None else expected_revision
    if base != row.revision:
        raise RegistryConflict(
            f"deployment {row.id} is at revision {row.revision}, not {base}: read it again",
            details={"current_revision": row.revision, "expected_revision": base},
        )
    before = {
        "stable": row.stable_version_id,
        "canary": row.canary_version_id,
        "canary_percent": row.canary_percent,
        "status": row.status,
    }
    now = utcnow()
    done = session.execute(
        update(MlDeployment)
        .where(MlDeployment.id == row.id, MlDeployment.revision == base)
        .values(**values, revision=base + 1, updated_at=now, updated_by=actor)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise RegistryConflict(
            f"deployment {row.id} changed since revision {base}: read it again",
            details={"expected_revision": base},
        )
    session.refresh(row)
    session.add(
        MlDeploymentEvent(
            deployment_id=row.id,
            at=now,
            actor=actor,
            action=action,
            stable_version_id=row.stable_version_id,
            canary_version_id=row.canary_version_id,
            canary_percent=row.canary_percent,
            detail=detail or {},
        )
    )
    audit.record(
        session,
        actor=actor,
        actor_role=actor_role,
        action=f"model.{action}",
        target_type="ml_deployment",
        target_id=row.id,
        before=before,
        after={
            "stable": row.stable_version_id,
            "canary": row.canary_version_id,
            "canary_percent": row.canary_percent,
            "status": row.status,
        },
        reason=reason,
    )
    session.flush()
    return row


def open_incident(
    session: Session,
    deployment_id: str,
    *,
    by: str,
    kind: str,
    summary: str,
    detail: dict[str, Any],
) -> MlIncident:
    """Open an incident record (rollback, aborted canary, failed health check)."""
    incident = MlIncident(
        deployment_id=deployment_id,
        opened_at=utcnow(),
        opened_by=by,
        kind=kind,
        summary=summary,
        detail=detail,
    )
    session.add(incident)
    session.flush()
    return incident


def incidents(session: Session, principal: Principal, deployment_id: str) -> list[IncidentView]:
    """The deployment's incidents, newest first (``models.read``)."""
    require(principal, "models.read")
    rows = session.execute(
        select(MlIncident)
        .where(MlIncident.deployment_id == deployment_id)
        .order_by(MlIncident.opened_at.desc())
    ).scalars()
    return [IncidentView.model_validate(r, from_attributes=True) for r in rows]


def close_incident(
    session: Session, principal: Principal, deployment_id: str, incident_id: str, *, resolution: str
) -> IncidentView:
    """Close an open incident with its resolution (``models.deploy``); audited. A closed
    incident stays closed (409 ``conflict``): reopening is a new incident."""
    require(principal, "models.deploy")
    incident = session.get(MlIncident, incident_id)
    if incident is None or incident.deployment_id != deployment_id:
        raise NotFound(f"no incident {incident_id} on deployment {deployment_id}")
    if not resolution.strip():
        raise InvalidRequest("closing an incident needs its resolution")
    if incident.status != "open":
        raise Conflict(f"incident {incident_id} is already {incident.status}")
    incident.status = "closed"
    incident.detail = {
        **(incident.detail or {}),
        "resolution": resolution,
        "closed_by": principal.actor,
        "closed_at": utcnow().isoformat(),
    }
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.incident.close",
        target_type="ml_incident",
        target_id=incident.id,
        before={"status": "open"},
        after={"status": "closed"},
        reason=resolution,
    )
    session.flush()
    return IncidentView.model_validate(incident, from_attributes=True)


def servable_version(session: Session, ref: str, kind: str) -> MlModelVersion:
    """The version ``ref`` names, refused unless its model serves ``kind``."""
    version = resolve_version(session, ref)
    model = session.get(MlModel, version.model_id)
    if model is None or model.kind != kind:
        raise InvalidRequest(
            f"{label(session, version)} is a {model.kind if model else '?'} model, not {kind}",
            details={"engine_kind": kind},
        )
    if version.stage == "archived":
        raise InvalidRequest(f"{label(session, version)} is archived")
    return version


def _unhealthy(
    db: Database,
    settings: Any,
    principal: Principal,
    deployment_id: str | None,
    version: str,
    result: health.HealthResult,
    *,
    action: str,
) -> DeploymentUnhealthy:
    """Record a failed health check (event + incident when the deployment exists, audit
    always), commit, and return the error to raise."""
    detail = {"version": version, **result.to_dict()}
    with db.transaction() as s:
        if deployment_id is not None:
            row = get_row(s, deployment_id)
            s.add(
                MlDeploymentEvent(
                    deployment_id=row.id,
                    at=utcnow(),
                    actor=principal.actor,
                    action=f"{action}_failed",
                    stable_version_id=row.stable_version_id,
                    canary_version_id=row.canary_version_id,
                    canary_percent=row.canary_percent,
                    detail=detail,
                )
            )
            open_incident(
                s,
                row.id,
                by=principal.actor,
                kind="health_check_failed",
                summary=f"{action} of {version} refused: {result.check} check failed",
                detail=detail,
            )
        audit.record(
            s,
            actor=principal.actor,
            actor_role=principal.role,
            action=f"model.{action}_failed",
            target_type="ml_deployment",
            target_id=deployment_id,
            after=detail,
        )
    notify(settings.model_webhook_url, f"deployment.{action}_failed", detail)
    return DeploymentUnhealthy(
        f"{version} failed its health check ({result.check}): {result.reason}; "
        "the previous version keeps serving",
        details=detail,
    )


def deploy(
    db: Database,
    settings: Any,
    principal: Principal,
    *,
    engine_kind: str,
    version_ref: str,
    environment: str = "production",
    tenant: str = "*",
    expected_revision: int | None = None,
    reason: str | None = None,
    blobs: BlobStore | None = None,
    health_timeout_seconds: float = health.DEFAULT_TIMEOUT_SECONDS,
) -> DeploymentView:
    """Make ``version_ref`` the stable version of ``engine_kind`` for ``tenant``
    (``models.deploy``). Health check first; any running canary ends; the replaced version
    waits in ``retired`` for confirmation. ``expected_revision`` 0 means "create only"."""
    require(principal, "models.deploy")
    if engine_kind not in SERVABLE_KINDS:
        raise InvalidRequest(
            f"engine kind {engine_kind!r} cannot be deployed yet",
            details={"supported": list(SERVABLE_KINDS)},
        )
    with db.session() as s:
        version = servable_version(s, version_ref, engine_kind)
        version_id, version_label = version.id, label(s, version)
        run = runnable(version)
        row = find_row(s, engine_kind, environment, tenant)
        deployment_id = row.id if row else None
        current = row.revision if row else 0
    if expected_revision is not None and expected_revision != current:
        raise RegistryConflict(
            f"the deployment is at revision {current}, not {expected_revision}: read it again",
            details={"current_revision": current, "expected_revision": expected_revision},
        )
    result = health.check_version(
        settings, engine_kind, run, blobs=blobs, timeout_seconds=health_timeout_seconds
    )
    if not result.ok:
        raise _unhealthy(
            db, settings, principal, deployment_id, version_label, result, action="deploy"
        )
    detail = {"version": version_label, "health": result.to_dict()}
    try:
        with db.transaction() as s:
            row = find_row(s, engine_kind, environment, tenant)
            if row is None:
                if expected_revision not in (None, 0):
                    raise RegistryConflict("the deployment no longer exists: read it again")
                now = utcnow()
                row = MlDeployment(
                    engine_kind=engine_kind,
                    environment=environment,
                    tenant=tenant,
                    stable_version_id=version_id,
                    created_at=now,
                    updated_at=now,
                    updated_by=principal.actor,
                    revision=0,
                    plan={},
                    retired_version_ids=[],
                )
                s.add(row)
                s.flush()
                retired: list[Any] = []
            else:
                retired = [v for v in row.retired_version_ids or [] if v != version_id]
                if row.stable_version_id != version_id:
                    retired.append(row.stable_version_id)
            apply_change(
                s,
                row,
                actor=principal.actor,
                actor_role=principal.role,
                action="deploy",
                expected_revision=expected_revision if row.revision else 0,
                values={
                    "stable_version_id": version_id,
                    "canary_version_id": None,
                    "canary_percent": 0,
                    "status": "stable",
                    "step_started_at": None,
                    "retired_version_ids": retired,
                },
                detail=detail,
                reason=reason,
            )
            out = view(s, row)
    except IntegrityError:
        # Two first deploys of the same target at once: the unique target refused one.
        raise RegistryConflict("another deploy of this target came first: read it again") from None
    clear_cache()
    notify(
        settings.model_webhook_url,
        "deployment.deployed",
        {
            "deployment_id": out.id,
            "engine_kind": engine_kind,
            "tenant": tenant,
            "environment": environment,
            "version": version_label,
            "revision": out.revision,
        },
    )
    return out


def confirm_decommission(
    session: Session,
    principal: Principal,
    deployment_id: str,
    version_ref: str,
    *,
    reason: str | None = None,
) -> DeploymentView:
    """Confirm that a retired version will not come back: it leaves ``retired`` (and the
    rollback targets). Nothing is decommissioned without this (``models.deploy``)."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    version = servable_version(session, version_ref, row.engine_kind)
    if version.id not in (row.retired_version_ids or []):
        raise InvalidRequest(f"{label(session, version)} is not retired on this deployment")
    apply_change(
        session,
        row,
        actor=principal.actor,
        actor_role=principal.role,
        action="decommission",
        expected_revision=None,
        values={"retired_version_ids": [v for v in row.retired_version_ids if v != version.id]},
        detail={"version": label(session, version)},
        reason=reason,
    )
    return view(session, row)


def production_at(
    session: Session,
    principal: Principal,
    engine_kind: str,
    tenant: str,
    when: datetime,
    *,
    environment: str = "production",
) -> ProductionAtView:
    """What served ``engine_kind`` for ``tenant`` at ``when``: the newest event at or before
    ``when`` of the tenant's own deployment, else of the ``*`` one (``models.read``)."""
    require(principal, "models.read")
    for scope in (tenant, "*"):
        row = find_row(session, engine_kind, environment, scope)
        if row is None:
            continue
        e = session.execute(
            select(MlDeploymentEvent)
            .where(
                MlDeploymentEvent.deployment_id == row.id,
                MlDeploymentEvent.at <= when,
                MlDeploymentEvent.action.not_like("%_failed"),
            )
            .order_by(MlDeploymentEvent.at.desc(), MlDeploymentEvent.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if e is None:
            continue
        return ProductionAtView(
            engine_kind=engine_kind,
            environment=environment,
            tenant=tenant,
            at=when,
            deployment_id=row.id,
            deployment_tenant=scope,
            stable=_label_of(session, e.stable_version_id) or "",
            canary=_label_of(session, e.canary_version_id),
            canary_percent=e.canary_percent,
            since=e.at,
            action=e.action,
        )
    raise NotFound(
        f"no {engine_kind} deployment served tenant {tenant!r} at {when.isoformat()}: "
        "the process settings did"
    )
