"""``carepipe backup ...`` (status, now, list, verify) and the root command ``carepipe restore``.

Thin: each command calls ``carepipe.ops.backup.service`` as the CLI operator and
prints its view (text, or ``--json``); errors go to stderr as JSON with their code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from carepipe.cli.common import AsJson, echo_json, fail, load_settings, operator, result_or_fail
from carepipe.core.errors import InvalidRequest
from carepipe.core.iso_time import TimeFormatError, parse_aware_time

group = typer.Typer(help="Backups: continuous replication, verification.", no_args_is_help=True)


@group.command("status")
def backup_status(as_json: AsJson = False) -> None:
    """Newest restorable point, lag, blob manifest size, last verification."""
    from carepipe.ops.backup import service

    st = result_or_fail(lambda: service.backup_status(load_settings(), operator()))
    if as_json:
        echo_json(st)
        return
    typer.echo(f"backend {st.backend}  replica {st.replica}")
    typer.echo(f"last backup {st.last_backup_at}  position {st.position}  lag {st.lag_seconds}s")
    for key, value in st.details.items():
        typer.echo(f"  {key}: {value}")
    verified = st.last_verify
    typer.echo(
        f"last verify: {verified.verified_at} {'ok' if verified.ok else 'FAILED'}"
        if verified
        else "last verify: never"
    )


@group.command("now")
def backup_now(as_json: AsJson = False) -> None:
    """Ship everything committed so far (and new blobs) to the backup."""
    from carepipe.ops.backup import service

    run = result_or_fail(lambda: service.backup_now(load_settings(), operator()))
    if as_json:
        echo_json(run)
    else:
        typer.echo(f"backed up to position {run.position} at {run.finished_at}  {run.details}")


@group.command("list")
def backup_list(as_json: AsJson = False) -> None:
    """Restorable units (snapshots, WAL segments), oldest first."""
    from carepipe.ops.backup import service

    entries = result_or_fail(lambda: service.list_backups(load_settings(), operator()))
    if as_json:
        echo_json(entries)
        return
    for e in entries:
        typer.echo(f"{e.id:40} {e.kind:14} {e.created_at}  {e.size_bytes} B")


@group.command("verify")
def backup_verify(as_json: AsJson = False) -> None:
    """Restore the latest backup to a temp file and check it: integrity, rows, blob hashes.

    Exit 2 with ``backup_corrupt`` when the backup is not sound.
    """
    from carepipe.ops.backup import service

    report = result_or_fail(lambda: service.verify_backup(load_settings(), operator()))
    if as_json:
        echo_json(report)
    else:
        rows = sum(report.tables.values())
        typer.echo(f"backup ok: {len(report.tables)} tables, {rows} rows, {report.details}")


def restore(
    target: Annotated[Path, typer.Option(help="Where to write the restored database.")],
    at: Annotated[
        str | None, typer.Option(help="ISO time: restore what was committed before it.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite a database at TARGET.")] = False,
    as_json: AsJson = False,
) -> None:
    """Restore the database from its backup (latest, or as of --at)."""
    from carepipe.ops.backup import service

    try:
        when: datetime | None = parse_aware_time(at, "--at") if at else None
    except TimeFormatError as exc:
        raise fail(InvalidRequest(str(exc))) from None
    result = result_or_fail(
        lambda: service.restore(load_settings(), operator(), target, when, force=force)
    )
    if as_json:
        echo_json(result)
    else:
        typer.echo(f"restored to {result.target} ({sum(result.tables.values())} rows)")
