"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from carepipe import __version__
from carepipe.api.admission import AdmissionMiddleware
from carepipe.api.errors import install_error_handlers
from carepipe.api.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    UrlGuardMiddleware,
)
from carepipe.api.openapi import document_errors
from carepipe.api.routers import health, jobs, tenants
from carepipe.api.state import AppState
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.observability.metrics import install_queue_collector
from carepipe.pipelines.registry import load_pipelines


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    blobs: BlobStore | None = None,
) -> FastAPI:
    """Build the API for ``settings`` (database and blob store may be passed in by tests)."""
    load_pipelines(getattr(settings, "pipeline_modules", ""))
    db = db or Database(settings.resolved_database_url)
    blobs = blobs or blob_store_from_settings(settings)
    app = FastAPI(
        title="CarePipe",
        version=__version__,
        description="Clinical AI pipelines: ingestion, status, dead letters and operations.",
    )
    app.state.carepipe = AppState(settings=settings, db=db, blobs=blobs)
    install_error_handlers(app)
    document_errors(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(tenants.router)
    _include_optional_routers(app)
    install_queue_collector(db)
    # Order: the limit runs inside the request context, so 413s are logged and timed too.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_payload_bytes)
    app.add_middleware(UrlGuardMiddleware)
    app.add_middleware(
        AdmissionMiddleware,
        max_inflight=settings.api_max_inflight,
        wait_seconds=settings.api_admission_wait_seconds,
    )
    app.add_middleware(RequestContextMiddleware)
    return app


def _include_optional_routers(app: FastAPI) -> None:
    """Routers of areas that land in later changes register here when present."""
    import importlib

    for name in ("patients", "hl7", "dlq", "backfills", "queues", "audit"):
        try:
            mod = importlib.import_module(f"carepipe.api.routers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and f"carepipe.api.routers.{name}".startswith(exc.name):
                continue
            raise
        app.include_router(mod.router)
    try:
        from carepipe.web.app import mount_console
    except ModuleNotFoundError as exc:
        if not (exc.name and "carepipe.web.app".startswith(exc.name)):
            raise
    else:
        mount_console(app)
