"""Jobs: ``carepipe submit`` (a root-level command) and ``carepipe jobs ...``."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated

import typer

from carepipe.cli.common import echo_json, fail, load_settings, open_blobs, open_db, operator
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError

group = typer.Typer(help="Jobs.", no_args_is_help=True)


def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    pipeline: Annotated[str, typer.Option(help="Pipeline to run.")],
    tenant: Annotated[str, typer.Option(help="Tenant the job belongs to.")] = "default",
    priority: Annotated[str, typer.Option(help="low|normal|high|urgent")] = "normal",
    idempotency_key: Annotated[str | None, typer.Option()] = None,
    context: Annotated[
        str | None,
        typer.Option(help='The patient, as JSON: {"mrn": "123", "assigning_authority": "HOSP"}.'),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Run a worker here until the job ends.")] = False,
) -> None:
    """Archive FILE and start a job on PIPELINE."""
    from carepipe.ops.jobs import submit_job
    from carepipe.pipelines.catalog import load_pipelines

    s = load_settings()
    load_pipelines(s.pipeline_modules)
    try:
        patient = json.loads(context) if context else None
    except ValueError:
        raise typer.BadParameter("--context must be a JSON object") from None
    db = open_db(s)
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if file.suffix.lower() in (".hl7", ".txt") and pipeline == "hl7":
        ctype = "x-application/hl7-v2+er7"
    try:
        sub = submit_job(
            db,
            open_blobs(s),
            operator(),
            pipeline=pipeline,
            payload=file.read_bytes(),
            content_type=ctype,
            priority=priority,
            idempotency_key=idempotency_key,
            filename=file.name,
            source="cli",
            tenant=tenant,
            max_attempts=s.max_attempts,
            context=patient,
        )
    except CarePipeError as exc:
        raise fail(exc) from None
    typer.echo(json.dumps({"id": sub.job_id, "status": sub.status, "created": sub.created}))
    if wait:
        _run_until_done(s, db, sub.job_id)


def _run_until_done(s: Settings, db: Database, job_id: str, timeout: float = 600) -> None:
    """Run a worker in this process until the job ends (or ``timeout``), then show it."""
    import time

    from carepipe.core.models import Job
    from carepipe.pipelines.worker import Worker

    w = Worker(db, open_blobs(s), s)
    w.start_background()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                job = session.get(Job, job_id)
                if job and job.status in ("succeeded", "dead", "cancelled", "waiting_review"):
                    break
            time.sleep(0.2)
    finally:
        w.stop()
        w.stopped.wait(30)
    _show_job(db, job_id)


def _show_job(db: Database, job_id: str) -> None:
    from carepipe.ops.jobs import job_view

    echo_json(job_view(db, operator(), job_id))


@group.command("show")
def jobs_show(job_id: str) -> None:
    """Print a job: status, stage, tasks, errors, artifacts."""
    s = load_settings()
    try:
        _show_job(open_db(s), job_id)
    except CarePipeError as exc:
        raise fail(exc) from None
