"""``carepipe backfill ...``: start, pause, resume, cancel, status and report of backfills.

``register(app)`` adds the command group to the main Typer app. Like the rest
of the CLI, whoever runs it on a host with database access acts as an admin
operator (``cli:<login>``), and every change is audited under that name.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings, get_settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError

backfill_app = typer.Typer(help="Reprocess archived messages (backfills).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``backfill`` command group to ``app``."""
    app.add_typer(backfill_app, name="backfill")


def _operator() -> Principal:
    return Principal(kind="cli", id=getpass.getuser(), roles=("admin",))


def _settings() -> Settings:
    from carepipe.observability.logging import configure_logging

    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    return s


def _open(s: Settings) -> tuple[Database, BlobStore]:
    from carepipe.core.blobs import blob_store_from_settings

    return Database(s.resolved_database_url), blob_store_from_settings(s)


def _fail(exc: CarePipeError) -> None:
    typer.echo(json.dumps({"error": exc.to_dict()}), err=True)
    raise typer.Exit(2)


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{name}: use ISO 8601, e.g. 2026-03-01T00:00:00Z") from None
    if ts.tzinfo is None:
        raise typer.BadParameter(f"{name}: give a time zone, e.g. 2026-03-01T00:00:00Z")
    return ts


def _print_view(view: dict[str, Any]) -> None:
    typer.echo(json.dumps(view, indent=2, default=str))


@backfill_app.command("start")
def start(
    since: Annotated[str, typer.Option(help="Received at or after (ISO 8601 with zone).")],
    until: Annotated[str, typer.Option(help="Received before (ISO 8601 with zone).")],
    pipeline: Annotated[str, typer.Option(help="Pipeline to replay into.")],
    rate: Annotated[float, typer.Option(help="Messages per minute.")] = 100.0,
    from_pipeline: Annotated[
        str | None, typer.Option(help="Only messages archived for this pipeline (default: same).")
    ] = None,
    any_pipeline: Annotated[bool, typer.Option(help="Select messages of every pipeline.")] = False,
    tenant: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str | None, typer.Option(help="api, mllp, console, cli...")] = None,
    error_code: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="accepted, rejected, duplicate")] = None,
    job_status: Annotated[str | None, typer.Option(help="succeeded, dead, ... or none")] = None,
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count the matching messages.")] = False,
) -> None:
    """Replay the archived messages matching the filter into PIPELINE, throttled to RATE."""
    from carepipe.ops import archive, backfill
    from carepipe.pipelines.registry import load_pipelines

    s = _settings()
    load_pipelines(s.pipeline_modules)
    db, _ = _open(s)
    try:
        f = archive.ArchiveFilter(
            since=_when(since, "since"),
            until=_when(until, "until"),
            pipeline=None if any_pipeline else (from_pipeline or pipeline),
            tenant=tenant,
            source=source,
            error_code=error_code,
            status=status,
            job_status=job_status,
        )
        if dry_run:
            with db.session() as session:
                n = archive.count_messages(session, _operator(), f)
            typer.echo(json.dumps({"matching": n, "filter": f.to_dict()}))
            return
        view = backfill.start_backfill(
            db,
            _operator(),
            archive_filter=f,
            pipeline=pipeline,
            rate_per_minute=rate,
            reason=reason,
            max_attempts=s.max_attempts,
        )
    except CarePipeError as exc:
        _fail(exc)
        return
    _print_view(view)


def _act(action: str, backfill_id: str, reason: str | None) -> None:
    from carepipe.ops import backfill

    fn = {
        "pause": backfill.pause_backfill,
        "resume": backfill.resume_backfill,
        "cancel": backfill.cancel_backfill,
    }[action]
    s = _settings()
    db, blobs = _open(s)
    try:
        with db.transaction() as session:
            fn(session, _operator(), backfill_id, reason=reason)
        view = backfill.get_backfill(db, blobs, _operator(), backfill_id)
    except CarePipeError as exc:
        _fail(exc)
        return
    typer.echo(f"backfill {backfill_id} {view['status']}")


@backfill_app.command("pause")
def pause(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Stop handing out the backfill's messages (those running finish)."""
    _act("pause", backfill_id, reason)


@backfill_app.command("resume")
def resume(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Continue a paused backfill at its rate."""
    _act("resume", backfill_id, reason)


@backfill_app.command("cancel")
def cancel(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Cancel the waiting messages; their jobs get their earlier state back."""
    _act("cancel", backfill_id, reason)


@backfill_app.command("status")
def status(
    backfill_id: Annotated[str | None, typer.Argument(help="Omit to list backfills.")] = None,
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Progress of one backfill (JSON), or a one-line summary of the newest ones."""
    from carepipe.ops import backfill

    s = _settings()
    db, blobs = _open(s)
    try:
        if backfill_id:
            _print_view(backfill.get_backfill(db, blobs, _operator(), backfill_id))
            return
        backfill.finalize_due(db, blobs)
        with db.session() as session:
            rows = backfill.list_backfills(session, _operator(), limit=limit)
    except CarePipeError as exc:
        _fail(exc)
        return
    for r in rows:
        typer.echo(
            f"{r['id']}  {r['status']:<10} {r['pipeline']:<10} "
            f"processed {r['processed']}/{r['enqueued']}  failed {r['failed']}  "
            f"skipped {r['skipped']}  created {r['created_at']}"
        )


@backfill_app.command("report")
def report(
    backfill_id: str,
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The reconciliation report of a finished backfill; its SHA-256 is in the audit log."""
    from carepipe.ops import backfill

    s = _settings()
    db, blobs = _open(s)
    try:
        rep = backfill.get_report(db, blobs, _operator(), backfill_id, format)
    except CarePipeError as exc:
        _fail(exc)
        return
    if output is not None:
        output.write_bytes(rep.content)
        typer.echo(f"wrote {output} (sha256 {rep.sha256})", err=True)
    else:
        sys.stdout.buffer.write(rep.content)
        sys.stdout.flush()
