"""The long-running processes, root-level commands: ``up``, ``worker``, ``mllp``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from carepipe.cli.common import load_settings, open_blobs, open_db
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database

# ``carepipe up`` runs the API and the workers in one process. A shorter GIL switch
# interval than the default 5 ms keeps request threads from queuing behind busy
# worker threads (measured: p99 POST /v1/jobs 22 -> 15 ms at 100 req/s).
UP_SWITCH_INTERVAL = 0.0005


def up(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker threads in this process.")] = None,
    mllp: Annotated[bool, typer.Option(help="Also start the MLLP listener.")] = True,
) -> None:
    """Run everything in one process: migrations, API, console, workers, scheduler."""
    import uvicorn

    from carepipe.app import create_app
    from carepipe.core.migrate import upgrade
    from carepipe.pipelines.worker import Worker

    s = load_settings()
    h, p = host or s.host, port or s.port
    # Drills launched from here (the schedule, the console's "Run drill now") run as
    # their own ``carepipe dr drill`` process and probe this process's doors at their
    # settings' address: hand them the one it really serves, options included.
    os.environ["CAREPIPE_HOST"], os.environ["CAREPIPE_PORT"] = h, str(p)
    sys.setswitchinterval(UP_SWITCH_INTERVAL)
    upgrade(s.resolved_database_url)
    db = open_db(s)
    blobs = open_blobs(s)
    admin_password = _bootstrap_admin(db)
    _register_builtin_models(db, blobs, s)
    # The maintenance fence (issue 17): the API, workers, scheduler and MLLP listener of
    # this process all read it from this one watch.
    stop_fence = _start_fence_watch(db)
    api = create_app(s, db=db, blobs=blobs)
    # Flags are evaluated from this process's snapshot: start it (and its poller/LISTEN)
    # now, so a kill switch reaches the API and the workers here within seconds.
    flags = _start_flag_cache(db)
    worker = None
    if workers != 0:
        worker = Worker(db, blobs, s, queues=s.queue_list or None, concurrency=workers)
        worker.start_background()
    extras = _start_extras(s, db, blobs, mllp=mllp)
    typer.echo(f"CarePipe is up at http://{h}:{p}  (API docs: http://{h}:{p}/docs)")
    typer.echo("Create an API key:  .venv/bin/carepipe keys create --tenant demo --name me")
    typer.echo(f"Operations console: http://{h}:{p}/console")
    if admin_password:
        typer.echo(
            f"  first sign-in: user 'admin', one-time password {admin_password}"
            " (you will be asked to change it)"
        )
    # uvicorn re-raises SIGTERM after its graceful shutdown, with our handler back in
    # place: without one the default action kills the process before the ``finally``,
    # leaving Litestream running orphaned (a second one after a restart would write to the
    # same replica) and the workers cut off. Exit through the ``finally`` instead.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(api, host=h, port=p, log_level="warning", access_log=False)
    finally:
        flags()
        for stop in extras:
            stop()
        if worker is not None:
            worker.stop()
            worker.stopped.wait(s.shutdown_grace_seconds + 5)
        stop_fence()


def _exit_on_sigterm(_sig: int, _frame: object) -> None:
    """SIGTERM handler of ``carepipe up``: a normal exit, so its shutdown code runs."""
    raise SystemExit(0)


def _bootstrap_admin(db: Database) -> str | None:
    """Create the first console admin on an empty install; returns its one-time password."""
    from carepipe.ops.users import ensure_admin

    with db.transaction() as session:
        return ensure_admin(session)


def _register_builtin_models(db: Database, blobs: BlobStore, s: Settings) -> None:
    """Put the built-in models in the registry on first start (idempotent), so the models
    that already run are there to evaluate, compare and deploy against from day one."""
    from carepipe.core.auth import SYSTEM
    from carepipe.mlops.builtin import ensure_builtin_models

    try:
        with db.transaction() as session:
            ensure_builtin_models(session, SYSTEM, blobs, s)
    except Exception as exc:  # the platform runs without a registry; say why it is empty
        typer.echo(f"model registry: built-in models not registered ({type(exc).__name__})")


def _start_fence_watch(db: Database) -> Callable[[], None]:
    """Start this process's maintenance fence watch (docs/disaster-recovery.md); returns
    its stop."""
    from carepipe.core.maintenance.watch import fence_watch, release_fence_watch

    fence_watch(db)
    return lambda: release_fence_watch(db)


def _start_flag_cache(db: Database) -> Callable[[], None]:
    """Start this process's flag cache (issue 16, docs/flags.md); returns its stop."""
    from carepipe.flags.cache import flag_cache

    return flag_cache(db).stop


def _start_extras(
    s: Settings, db: Database, blobs: BlobStore, *, mllp: bool
) -> list[Callable[[], None]]:
    """Background services beside the API: the scheduler and (optionally) the MLLP listener."""
    from carepipe.core.maintenance.watch import fence_watch
    from carepipe.ops.scheduler import Scheduler, default_jobs

    scheduler = Scheduler(default_jobs(db, blobs), fence=fence_watch(db)).start()
    stops = [scheduler.stop]
    if s.backup_url and db.is_sqlite:
        # Continuous backup (docs/backups.md): Litestream ships the WAL while we run.
        from carepipe.ops.backup.litestream import Replicator

        replicator = Replicator(s).start()
        typer.echo(f"Backups: litestream replicating to {s.backup_url}")
        stops.append(replicator.stop)
    if mllp:
        from carepipe.pipelines.hl7_intake import start_mllp

        server = start_mllp(s, db, blobs)
        typer.echo(f"MLLP listener on {s.mllp_host}:{server.port}")
        stops.append(server.stop)
    return stops


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues (default: all).")] = "",
    concurrency: Annotated[int | None, typer.Option(help="Handler threads.")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve /metrics on this port.")] = None,
) -> None:
    """Run a worker process (many may run, on many machines, against one PostgreSQL)."""
    from carepipe.pipelines.catalog import load_pipelines
    from carepipe.pipelines.worker import Worker

    s = load_settings()
    load_pipelines(s.pipeline_modules)
    db = open_db(s)
    stop_fence = _start_fence_watch(db)
    qs = [q.strip() for q in (queues or s.queues).split(",") if q.strip()] or None
    w = Worker(db, open_blobs(s), s, queues=qs, concurrency=concurrency)
    if metrics_port:
        from prometheus_client import start_http_server

        from carepipe.observability.metrics import REGISTRY
        from carepipe.ops.backfill.metrics import install_backfill_collector
        from carepipe.ops.queue_metrics import install_queue_collector

        install_queue_collector(db)
        install_backfill_collector(db)
        start_http_server(metrics_port, registry=REGISTRY)

    def _term(_sig: int, _frame: object) -> None:
        w.stop()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    from carepipe.core.maintenance.watch import fence_watch
    from carepipe.ops.scheduler import Scheduler, canary_jobs

    # Canary analysis runs here too: in a PostgreSQL layout with separate workers a canary
    # must not depend on a ``carepipe up`` being alive (two analysers are safe).
    scheduler = Scheduler(canary_jobs(db), fence=fence_watch(db)).start()
    stop_flags = _start_flag_cache(db)
    t = threading.Thread(target=w.run, name="carepipe-worker-main")
    t.start()
    while t.is_alive():
        t.join(0.5)
    stop_flags()
    scheduler.stop()
    stop_fence()


def mllp(
    port: Annotated[int | None, typer.Option(help="TCP port (default CAREPIPE_MLLP_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
) -> None:
    """Run only the MLLP listener (HL7 v2 over TCP), answering ACKs once messages are queued."""
    from carepipe.pipelines.catalog import load_pipelines
    from carepipe.pipelines.hl7_intake import start_mllp

    s = load_settings()
    s = s.model_copy(update={k: v for k, v in (("mllp_port", port), ("mllp_host", host)) if v})
    load_pipelines(s.pipeline_modules)
    db = open_db(s)
    stop_fence = _start_fence_watch(db)  # the listener closes its port while fenced
    server = start_mllp(s, db, open_blobs(s))
    typer.echo(f"MLLP listener on {s.mllp_host}:{server.port} (tenant {s.mllp_tenant})")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    stop_fence()
