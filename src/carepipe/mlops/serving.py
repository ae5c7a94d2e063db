"""Which model version serves a job: the deployment of its engine kind for its tenant, and
the arm (stable or canary) its routing key falls in.

The worker asks for every ASR and note stage, so deployments are read through a small
process-local cache that lives ``settings.model_serving_refresh_seconds``: a deploy,
a canary step or a rollback reaches a running worker within that time, without a restart.
When no deployment exists for the kind, :func:`served_version` answers None and the
process settings serve, exactly as before the registry existed.

The canary split is sticky: sha256 of the routing key (the job's idempotency key, else
its id; or the tenant when the plan says ``sticky: tenant``) taken mod 100 and compared
with ``canary_percent``. Raising the share from 10 to 50 keeps every key that was in the
canary there (bucket < 10 implies bucket < 50).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.mlops.artifacts import Runnable, runnable, settings_update
from carepipe.mlops.models import MlDeployment, MlModel, MlModelVersion

ENVIRONMENT = "production"


@dataclass(frozen=True)
class Served:
    """The version serving one job: ids for the records, the settings it runs with."""

    version_id: str
    label: str
    arm: str  # "stable" | "canary"
    deployment_id: str
    run: Runnable = field(default_factory=lambda: Runnable("", "", None))

    def settings(self, settings: Any, blobs: BlobStore | None) -> Any:
        """``settings`` with this version's engine settings laid over them (an uploaded
        model unpacked first: may raise ``EngineUnavailable``)."""
        return settings.model_copy(update=settings_update(settings, blobs, self.run))


@dataclass(frozen=True)
class _Arm:
    version_id: str
    label: str
    run: Runnable


@dataclass(frozen=True)
class _Target:
    deployment_id: str
    tenant: str
    stable: _Arm
    canary: _Arm | None
    percent: int
    sticky: str


_cache: dict[tuple[str, str], tuple[float, dict[str, _Target]]] = {}
_lock = threading.Lock()


def bucket(routing_key: str) -> int:
    """The key's bucket, 0..99: stable across processes and releases (sha256, not hash())."""
    digest = hashlib.sha256(routing_key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def arm_for(routing_key: str, canary_percent: int) -> str:
    """``canary`` when the key's bucket is below the canary's share, else ``stable``."""
    return "canary" if canary_percent > 0 and bucket(routing_key) < canary_percent else "stable"


def clear_cache() -> None:
    """Forget cached deployments (tests, and a process that just changed one itself)."""
    with _lock:
        _cache.clear()


def _arm(versions: dict[str, tuple[MlModelVersion, str]], version_id: str) -> _Arm:
    version, name = versions[version_id]
    return _Arm(version_id, f"{name}@{version.version}", runnable(version))


def _load(db: Database, kind: str, environment: str) -> dict[str, _Target]:
    with db.session() as s:
        rows = (
            s.execute(
                select(MlDeployment).where(
                    MlDeployment.engine_kind == kind, MlDeployment.environment == environment
                )
            )
            .scalars()
            .all()
        )
        ids = {r.stable_version_id for r in rows} | {
            r.canary_version_id for r in rows if r.canary_version_id
        }
        versions: dict[str, tuple[MlModelVersion, str]] = {}
        if ids:
            for v, name in s.execute(
                select(MlModelVersion, MlModel.name)
                .join(MlModel, MlModel.id == MlModelVersion.model_id)
                .where(MlModelVersion.id.in_(ids))
            ).all():
                versions[v.id] = (v, name)
        out: dict[str, _Target] = {}
        for r in rows:
            canary = _arm(versions, r.canary_version_id) if r.canary_version_id else None
            out[r.tenant] = _Target(
                deployment_id=r.id,
                tenant=r.tenant,
                stable=_arm(versions, r.stable_version_id),
                canary=canary,
                percent=r.canary_percent if canary is not None else 0,
                sticky=str((r.plan or {}).get("sticky") or "idempotency_key"),
            )
        return out


def _targets(db: Database, settings: Any, kind: str, environment: str) -> dict[str, _Target]:
    ttl = float(getattr(settings, "model_serving_refresh_seconds", 2.0))
    key = (kind, environment)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    targets = _load(db, kind, environment)
    with _lock:
        _cache[key] = (time.monotonic(), targets)
    return targets


def served_version(
    db: Database,
    settings: Any,
    kind: str,
    tenant: str,
    routing_key: str,
    *,
    environment: str = ENVIRONMENT,
) -> Served | None:
    """The version that serves a job of ``kind`` for ``tenant``, or None (no deployment:
    the process settings serve). The tenant's own deployment wins over ``*``."""
    targets = _targets(db, settings, kind, environment)
    target = targets.get(tenant) or targets.get("*")
    if target is None:
        return None
    key = tenant if target.sticky == "tenant" else routing_key
    arm = "canary" if target.canary and arm_for(key, target.percent) == "canary" else "stable"
    chosen = target.canary if arm == "canary" and target.canary else target.stable
    return Served(
        version_id=chosen.version_id,
        label=chosen.label,
        arm=arm,
        deployment_id=target.deployment_id,
        run=chosen.run,
    )
