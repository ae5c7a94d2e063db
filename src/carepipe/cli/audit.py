"""``carepipe audit ...``: verify the hash chain, checkpoint it, rotate its key, export it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepipe.cli.common import fail, load_settings, open_db, operator
from carepipe.core.errors import CarePipeError

if TYPE_CHECKING:
    from carepipe.core.audit import ChainReport

group = typer.Typer(help="Audit log.", no_args_is_help=True)


@group.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Check the audit log's keyed hash chain against its signed checkpoints.

    Lists every edited, inserted or deleted row (including rows deleted from the
    end after a checkpoint saw them) and any forged or removed checkpoint;
    exit 1 if anything is wrong.
    """
    from carepipe.ops.audit_checkpoints import verify

    s = load_settings()
    with open_db(s).session() as session:
        report = verify(session, operator())
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        _print_audit_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_audit_report(report: ChainReport) -> None:
    """The verification report as text; problems go to stderr."""
    keys = ", ".join(f"{k} ({n})" for k, n in sorted(report.keys_used.items())) or "-"
    head = f", head {report.head[:16]}" if report.head else ""
    typer.echo(f"audit log: {report.checked} rows through id {report.last_id or 0}{head}")
    typer.echo(f"  keys: {keys}")
    cps = report.checkpoints
    if cps is not None:
        line = (
            f"  checkpoints: {cps.store}: {cps.lines} line(s), {cps.applicable} for this database"
        )
        if cps.latest:
            lt = cps.latest
            line += (
                f"; latest #{lt['seq']} at {lt['at']}: {lt['count']} rows through id "
                f"{lt['last_id']}"
            )
        typer.echo(line)
    for note in report.notes:
        typer.echo(f"  note: {note}")
    if report.ok:
        typer.echo(f"audit log intact: {report.checked} events")
        return
    typer.echo(f"audit log TAMPERED: {report.problems_total} problem(s)", err=True)
    for p in report.problems:
        typer.echo(f"  - [{p.kind}] {p.message}", err=True)
    if report.problems_total > len(report.problems):
        typer.echo(f"  ... and {report.problems_total - len(report.problems)} more", err=True)


@group.command("checkpoint")
def audit_checkpoint(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checkpoint as JSON.")] = False,
) -> None:
    """Sign the audit log's current head and append it to the checkpoint log now.

    Refused (exit 1) when the log no longer matches its previous checkpoint.
    """
    from carepipe.ops.audit_checkpoints import write_checkpoint

    s = load_settings()
    try:
        result = write_checkpoint(open_db(s), force=True)
    except CarePipeError as exc:
        raise fail(exc, code=1) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    elif result.checkpoint is None:
        typer.echo(f"audit log is empty: nothing to checkpoint ({result.store})")
    else:
        cp = result.checkpoint
        typer.echo(
            f"checkpoint #{cp.seq}: {cp.count} rows through id {cp.last_id}, head "
            f"{cp.head[:16]}, signed by key {cp.key_id} -> {result.store}"
        )


@group.command("rotate-key")
def audit_rotate_key(
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
) -> None:
    """Replace the audit HMAC key kept in the data directory (the old one is kept to verify
    older rows). Keys set in CAREPIPE_AUDIT_HMAC_KEY are rotated in the environment."""
    from carepipe.ops.audit_checkpoints import rotate_key

    s = load_settings()
    try:
        r = rotate_key(open_db(s), s, operator(), reason=reason)
    except CarePipeError as exc:
        raise fail(exc) from None
    typer.echo(f"audit key {r.old_key_id} retired (kept for verification); new key {r.new_key_id}")


@group.command("export")
def audit_export_cmd(
    format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option(help="File (default: stdout).")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="Exact, or a prefix ending in '.'")] = None,
    target_type: Annotated[str | None, typer.Option()] = None,
    target_id: Annotated[str | None, typer.Option()] = None,
    tenant: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="ISO time")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Export the audit log (with row hashes) as CSV or JSON; the export is audited."""
    from carepipe.ops import audit_export

    s = load_settings()
    db, op = open_db(s), operator()
    try:
        f = audit_export.AuditFilter.from_dict(
            {
                "actor": actor,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "tenant": tenant,
                "since": since,
                "until": until,
            }
        )
        with db.transaction() as session:
            audit_export.record_export(session, op, f, format, reason=reason)
    except CarePipeError as exc:
        raise fail(exc) from None
    chunks = (audit_export.export_csv if format == "csv" else audit_export.export_json)(db, op, f)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with output.open("w", encoding="utf-8", newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)
    typer.echo(f"wrote {output}", err=True)
