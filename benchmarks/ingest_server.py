"""The server side of the ingestion benchmark: ``carepipe up`` plus a bare endpoint.

    python benchmarks/ingest_server.py --port P   (settings from CAREPIPE_* variables)

One uvicorn process serves the real CarePipe API (``create_app``, SQLite in the
benchmark's temp dir, a worker running in the same process as ``carepipe up``
does) and, beside it, a bare FastAPI app whose ``POST /bare/v1/jobs`` returns 202
at once. A two-line ASGI dispatcher routes ``/bare/...`` to the bare app, so the
baseline shares the process, event loop and server but none of CarePipe's
middleware, authentication, archive or database work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

from carepipe.app import create_app  # noqa: E402
from carepipe.cli.server import UP_SWITCH_INTERVAL  # noqa: E402
from carepipe.core.blobs import blob_store_from_settings  # noqa: E402
from carepipe.core.config import Settings  # noqa: E402
from carepipe.core.db import Database  # noqa: E402
from carepipe.core.migrate import upgrade  # noqa: E402
from carepipe.pipelines.worker import Worker  # noqa: E402

bare = FastAPI()


@bare.post("/bare/v1/jobs", status_code=202)
async def bare_submit() -> JSONResponse:
    """The baseline: accept and answer 202 without doing anything."""
    return JSONResponse({"id": "bare", "status": "queued"}, status_code=202)


def build(settings: Settings) -> tuple[object, Worker]:
    upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    blobs = blob_store_from_settings(settings)
    api = create_app(settings, db=db, blobs=blobs)
    worker = Worker(db, blobs, settings)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/bare/"):
            await bare(scope, receive, send)
        else:
            await api(scope, receive, send)

    return dispatch, worker


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    import os

    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    import os

    # As ``carepipe up`` does: API and workers share one process.
    sys.setswitchinterval(UP_SWITCH_INTERVAL)
    settings = Settings()
    app, worker = build(settings)
    if not os.environ.get("BENCH_API_ONLY"):  # production shape: workers in other processes
        worker.start_background()
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    finally:
        worker.stop()
        worker.stopped.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
