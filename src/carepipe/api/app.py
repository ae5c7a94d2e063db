"""The HTTP API: its routers, error mapping, OpenAPI document and middleware.

Every router is listed here; ``carepipe.app`` adds the console and the pipelines
to make the whole platform's application.
"""

from __future__ import annotations

from fastapi import FastAPI

from carepipe import __version__
from carepipe.api.admission import AdmissionMiddleware
from carepipe.api.errors import install_error_handlers
from carepipe.api.maintenance import MaintenanceMiddleware
from carepipe.api.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    UrlGuardMiddleware,
)
from carepipe.api.openapi import document_errors
from carepipe.api.routers import (
    audit,
    backfills,
    deployments,
    dlq,
    dr,
    flags,
    health,
    hl7,
    jobs,
    keys,
    model_drift,
    model_evaluations,
    models,
    ofrep,
    patients,
    queues,
    reviews,
    secrets,
    tenants,
)
from carepipe.api.state import AppState
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database

ROUTERS = (
    health,
    jobs,
    hl7,
    patients,
    tenants,
    queues,
    dlq,
    backfills,
    audit,
    reviews,
    models,
    model_evaluations,
    deployments,
    model_drift,
    secrets,
    keys,
    ofrep,
    flags,
    dr,
)


def create_api(settings: Settings, *, db: Database, blobs: BlobStore) -> FastAPI:
    """The API for ``settings`` on ``db`` and ``blobs`` (no console: see ``carepipe.app``)."""
    api = FastAPI(
        title="CarePipe",
        version=__version__,
        description="Clinical AI pipelines: ingestion, status, dead letters and operations.",
    )
    api.state.carepipe = AppState(settings=settings, db=db, blobs=blobs)
    install_error_handlers(api)
    document_errors(api)
    for module in ROUTERS:
        api.include_router(module.router)
    # Outermost last: the request context wraps everything, so refusals of the admission
    # control, the URL guard and the body limit are logged and timed too.
    api.add_middleware(BodyLimitMiddleware, limit=settings.max_payload_bytes)
    api.add_middleware(UrlGuardMiddleware)
    api.add_middleware(
        AdmissionMiddleware,
        max_inflight=settings.api_max_inflight,
        wait_seconds=settings.api_admission_wait_seconds,
    )
    # Outside the admission control: a fenced platform refuses writes without waiting
    # for a slot (issue 17, docs/disaster-recovery.md).
    api.add_middleware(MaintenanceMiddleware, db=db)
    api.add_middleware(RequestContextMiddleware)
    return api
