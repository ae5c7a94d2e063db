"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from carepipe.api.state import AppState, get_state
from carepipe.core.migrate import is_current
from carepipe.observability.metrics import REGISTRY

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: AppState = Depends(get_state)) -> Response:
    """The database answers and its schema is at the newest migration."""
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
