"""The composition root: the platform's web application, wired explicitly.

The API (``carepipe.api``), the operations console (``carepipe.web``), the
built-in pipelines and the scrape-time queue metrics are put together here and
nowhere else; ``carepipe up``, tests and benchmarks all build the application
through ``create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI

from carepipe.api.app import create_api
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.observability import model_quality
from carepipe.ops.backfill.metrics import install_backfill_collector
from carepipe.ops.queue_metrics import install_queue_collector
from carepipe.pipelines.catalog import load_pipelines
from carepipe.web.app import mount_console


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    blobs: BlobStore | None = None,
) -> FastAPI:
    """The whole platform for ``settings`` (database and blob store may be passed in by tests)."""
    load_pipelines(settings.pipeline_modules)
    db = db or Database(settings.resolved_database_url)
    blobs = blobs or blob_store_from_settings(settings)
    app = create_api(settings, db=db, blobs=blobs)
    mount_console(app)
    install_queue_collector(db)
    install_backfill_collector(db)
    # The WER baseline this process exports beside the corrections it observes (issue 14).
    model_quality.configure(wer_baseline=settings.asr_wer_baseline)
    return app
