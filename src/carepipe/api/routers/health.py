"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from carepipe.api.maintenance import maintenance_error
from carepipe.api.state import AppState, get_state
from carepipe.core.maintenance.watch import fence_watch
from carepipe.core.migrate import is_current
from carepipe.observability.metrics import REGISTRY

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(state: AppState = Depends(get_state)) -> dict[str, str]:
    """The process is alive (and says so when the platform is fenced: it stays alive)."""
    fence = fence_watch(state.db).current
    if fence is None:
        return {"status": "ok"}
    return {"status": "ok", "maintenance": "fenced", "fenced_at": fence.fenced_at.isoformat()}


@router.get("/readyz")
def readyz(state: AppState = Depends(get_state)) -> Response:
    """The database answers, its schema is at the newest migration and the platform is
    not fenced (a load balancer drains a fenced primary: 503 ``maintenance``)."""
    fence = fence_watch(state.db).current
    if fence is not None:
        err = maintenance_error(fence)
        return JSONResponse(
            {"error": err.to_dict()},
            503,
            headers={"Retry-After": str(fence.retry_after_seconds)},
        )
    checks: dict[str, str] = {}
    try:
        state.db.ping()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if is_current(state.db.engine) else "pending"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    if not ready:
        return JSONResponse(
            {"error": {"code": "not_ready", "message": "not ready", "details": checks}}, 503
        )
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
