"""``carepipe backfill ...``: start, pause, resume, cancel, status and report of backfills.

Every change is audited under the operator who runs the command (``cli:<login>``).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from carepipe.cli.common import echo_json, fail, field, load_settings, open_stores, operator
from carepipe.core.errors import CarePipeError

group = typer.Typer(help="Reprocess archived messages (backfills).", no_args_is_help=True)


def _when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with a zone, or a usage error naming the option."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{name}: use ISO 8601, e.g. 2026-03-01T00:00:00Z") from None
    if ts.tzinfo is None:
        raise typer.BadParameter(f"{name}: give a time zone, e.g. 2026-03-01T00:00:00Z")
    return ts


@group.command("start")
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
    from carepipe.pipelines.catalog import load_pipelines

    s = load_settings()
    load_pipelines(s.pipeline_modules)
    db, _ = open_stores(s)
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
                n = archive.count_messages(session, operator(), f)
            typer.echo(json.dumps({"matching": n, "filter": f.to_dict()}))
            return
        view = backfill.start_backfill(
            db,
            operator(),
            archive_filter=f,
            pipeline=pipeline,
            rate_per_minute=rate,
            reason=reason,
            max_attempts=s.max_attempts,
        )
    except CarePipeError as exc:
        raise fail(exc) from None
    echo_json(view)


def _act(action: str, backfill_id: str, reason: str | None) -> None:
    """Pause, resume or cancel a backfill, then print its new status."""
    from carepipe.ops import backfill

    fn = {
        "pause": backfill.pause_backfill,
        "resume": backfill.resume_backfill,
        "cancel": backfill.cancel_backfill,
    }[action]
    db, blobs = open_stores(load_settings())
    try:
        fn(db, operator(), backfill_id, reason=reason)
        view = backfill.get_backfill(db, blobs, operator(), backfill_id)
    except CarePipeError as exc:
        raise fail(exc) from None
    typer.echo(f"backfill {backfill_id} {field(view, 'status')}")


@group.command("pause")
def pause(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Stop handing out the backfill's messages (those running finish)."""
    _act("pause", backfill_id, reason)


@group.command("resume")
def resume(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Continue a paused backfill at its rate."""
    _act("resume", backfill_id, reason)


@group.command("cancel")
def cancel(
    backfill_id: str, reason: Annotated[str | None, typer.Option(help="Why.")] = None
) -> None:
    """Cancel the waiting messages; their jobs get their earlier state back."""
    _act("cancel", backfill_id, reason)


@group.command("status")
def status(
    backfill_id: Annotated[str | None, typer.Argument(help="Omit to list backfills.")] = None,
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Progress of one backfill (JSON), or a one-line summary of the newest ones."""
    from carepipe.ops import backfill

    db, blobs = open_stores(load_settings())
    try:
        if backfill_id:
            echo_json(backfill.get_backfill(db, blobs, operator(), backfill_id))
            return
        backfill.finalize_due(db, blobs)
        with db.session() as session:
            rows = backfill.list_backfills(session, operator(), limit=limit)
    except CarePipeError as exc:
        raise fail(exc) from None
    for r in rows:
        typer.echo(
            f"{field(r, 'id')}  {field(r, 'status'):<10} {field(r, 'pipeline'):<10} "
            f"processed {field(r, 'processed')}/{field(r, 'enqueued')}  "
            f"failed {field(r, 'failed')}  skipped {field(r, 'skipped')}  "
            f"created {field(r, 'created_at')}"
        )


@group.command("report")
def report(
    backfill_id: str,
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The reconciliation report of a finished backfill; its SHA-256 is in the audit log."""
    from carepipe.ops import backfill

    db, blobs = open_stores(load_settings())
    try:
        rep = backfill.get_report(db, blobs, operator(), backfill_id, format)
    except CarePipeError as exc:
        raise fail(exc) from None
    if output is not None:
        output.write_bytes(rep.content)
        typer.echo(f"wrote {output} (sha256 {rep.sha256})", err=True)
    else:
        sys.stdout.buffer.write(rep.content)
        sys.stdout.flush()
