"""Rollback: put an earlier version back on a deployment, checked, verified and recorded.

Targets are the deployment's earlier stable versions (from its events) and the versions
retired and not yet decommissioned. A rollback health-checks the target (load + smoke
input), switches (ending any canary), verifies by reading back what a worker would now
resolve, and records an event, an audit event and an incident; then notifies. A running
worker picks the target up within ``model_serving_refresh_seconds``, without a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.mlops import health
from carepipe.mlops.artifacts import runnable
from carepipe.mlops.deployments import (
    DeploymentView,
    View,
    _label_of,
    _unhealthy,
    apply_change,
    get_row,
    open_incident,
    servable_version,
    view,
)
from carepipe.mlops.models import MlDeploymentEvent, MlModelVersion
from carepipe.mlops.notify import notify
from carepipe.mlops.refs import label
from carepipe.mlops.serving import clear_cache


class RollbackTarget(View):
    version_id: str
    version: str
    source: str  # "history" | "retired"
    last_stable_at: datetime | None


class RollbackView(View):
    deployment: DeploymentView
    rolled_back_from: str
    rolled_back_to: str
    incident_id: str
    health: dict[str, Any]


def targets(session: Any, principal: Principal, deployment_id: str) -> list[RollbackTarget]:
    """Versions this deployment can roll back to, most recently stable first (``models.read``)."""
    require(principal, "models.read")
    row = get_row(session, deployment_id)
    seen: dict[str, RollbackTarget] = {}
    events = session.execute(
        select(MlDeploymentEvent.stable_version_id, MlDeploymentEvent.at)
        .where(MlDeploymentEvent.deployment_id == row.id)
        .order_by(MlDeploymentEvent.at.desc(), MlDeploymentEvent.id.desc())
    ).all()
    for version_id, at in events:
        if version_id == row.stable_version_id or version_id in seen:
            continue
        seen[version_id] = RollbackTarget(
            version_id=version_id,
            version=_label_of(session, version_id) or version_id,
            source="retired" if version_id in (row.retired_version_ids or []) else "history",
            last_stable_at=at,
        )
    for version_id in row.retired_version_ids or []:
        if version_id not in seen and version_id != row.stable_version_id:
            seen[version_id] = RollbackTarget(
                version_id=version_id,
                version=_label_of(session, version_id) or version_id,
                source="retired",
                last_stable_at=None,
            )
    # Archived versions are not offered: archiving says they must not serve again.
    return [
        t
        for t in seen.values()
        if (v := session.get(MlModelVersion, t.version_id)) is not None and v.stage != "archived"
    ]


def rollback(
    db: Database,
    settings: Any,
    principal: Principal,
    deployment_id: str,
    *,
    to: str | None = None,
    expected_revision: int | None = None,
    reason: str | None = None,
    blobs: BlobStore | None = None,
    health_timeout_seconds: float = health.DEFAULT_TIMEOUT_SECONDS,
) -> RollbackView:
    """Roll the deployment back to ``to`` (default: the most recent earlier stable version)
    (``models.deploy``). Unhealthy target -> ``DeploymentUnhealthy``, nothing switched."""
    require(principal, "models.deploy")
    with db.session() as s:
        row = get_row(s, deployment_id)
        offered = targets(s, principal, deployment_id)
        if to is None:
            if not offered:
                raise NotFound(f"deployment {deployment_id} has no earlier version to roll back to")
            target_id = offered[0].version_id
        else:
            target_id = servable_version(s, to, row.engine_kind).id
            if target_id not in {t.version_id for t in offered}:
                raise InvalidRequest(
                    f"{_label_of(s, target_id)} is not a rollback target of this deployment",
                    details={"targets": [t.version for t in offered]},
                )
        target = s.get(MlModelVersion, target_id)
        assert target is not None
        target_label, run = label(s, target), runnable(target)
        kind = row.engine_kind
    result = health.check_version(
        settings, kind, run, blobs=blobs, timeout_seconds=health_timeout_seconds
    )
    if not result.ok:
        raise _unhealthy(
            db, settings, principal, deployment_id, target_label, result, action="rollback"
        )
    with db.transaction() as s:
        row = get_row(s, deployment_id)
        old = row.stable_version_id
        old_label = _label_of(s, old) or old
        canary = _label_of(s, row.canary_version_id)
        retired = [v for v in row.retired_version_ids or [] if v != target_id]
        if old not in retired:
            retired.append(old)
        why = reason or "rollback"
        apply_change(
            s,
            row,
            actor=principal.actor,
            actor_role=principal.role,
            action="rollback",
            expected_revision=expected_revision,
            values={
                "stable_version_id": target_id,
                "canary_version_id": None,
                "canary_percent": 0,
                "status": "stable",
                "step_started_at": None,
                "retired_version_ids": retired,
            },
            detail={
                "from": old_label,
                "to": target_label,
                "canary_ended": canary,
                "health": result.to_dict(),
            },
            reason=why,
        )
        incident = open_incident(
            s,
            row.id,
            by=principal.actor,
            kind="rollback",
            summary=f"rolled back {old_label} -> {target_label}: {why}",
            detail={"from": old_label, "to": target_label, "canary_ended": canary},
        )
        out = RollbackView(
            deployment=view(s, row),
            rolled_back_from=old_label,
            rolled_back_to=target_label,
            incident_id=incident.id,
            health=result.to_dict(),
        )
    clear_cache()
    # Verify: what a worker resolves now (fresh read, no cache) is the target.
    with db.session() as s:
        if get_row(s, deployment_id).stable_version_id != target_id:
            raise InvalidRequest("the rollback did not take: another change came first")
    notify(
        settings.model_webhook_url,
        "deployment.rolled_back",
        {
            "deployment_id": deployment_id,
            "from": old_label,
            "to": target_label,
            "incident_id": out.incident_id,
        },
    )
    return out
