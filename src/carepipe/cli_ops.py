"""Operations commands added to ``carepipe`` (``cli.py`` calls ``register``).

Organised by area: users, dead-letter queue, audit log. (Backfill commands
join this file in their own section.) Every command is a thin adapter over the
same services as the API and console; the operator on the host acts as admin.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from carepipe.core.errors import CarePipeError


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The existing command group ``name`` of ``app``, or a new one."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def _context():  # type: ignore[no-untyped-def]
    from carepipe.cli import _db, _operator, _settings

    s = _settings()
    return s, _db(s), _operator()


def _fail(exc: CarePipeError) -> typer.Exit:
    typer.echo(json.dumps({"error": exc.to_dict()}), err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``users``, ``dlq bulk-replay`` and ``audit export`` commands to ``app``."""
    _register_users(_group(app, "users", "Console users."))
    _register_dlq(_group(app, "dlq", "Dead-letter queue."))
    _register_audit(_group(app, "audit", "Audit log."))


# -- users ---------------------------------------------------------------------------------


def _register_users(users_app: typer.Typer) -> None:
    @users_app.command("create")
    def users_create(
        username: Annotated[str, typer.Option(help="Sign-in name (lower case).")],
        role: Annotated[list[str], typer.Option(help="Role; repeat for several.")],
        display_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
        password_stdin: Annotated[
            bool, typer.Option(help="Read the password from standard input.")
        ] = False,
        reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    ) -> None:
        """Create a console user; without --password-stdin prints a one-time password."""
        from carepipe.ops.users import create_user

        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        _s, db, op = _context()
        try:
            with db.transaction() as session:
                created = create_user(
                    session,
                    op,
                    username=username,
                    roles=role,
                    password=password,
                    display_name=display_name,
                    reason=reason,
                )
        except CarePipeError as exc:
            raise _fail(exc) from None
        typer.echo(f"user {created.username} created with roles {', '.join(created.roles)}")
        if created.one_time_password:
            typer.echo("one-time password (shown once; must be changed at first sign-in):")
            typer.echo(created.one_time_password)

    @users_app.command("list")
    def users_list() -> None:
        """List users, their roles and lock state."""
        from carepipe.ops.users import list_users

        _s, db, op = _context()
        with db.session() as session:
            for u in list_users(session, op):
                state = (
                    "locked"
                    if u.locked
                    else (
                        f"lockout until {u.locked_until.isoformat()}"
                        if u.locked_until
                        else "active"
                    )
                )
                last = u.last_login_at.isoformat() if u.last_login_at else "-"
                typer.echo(f"{u.username:<20} {','.join(u.roles):<28} {state:<12} last {last}")

    @users_app.command("lock")
    def users_lock(username: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
        """Lock an account (its sessions and tokens stop working)."""
        from carepipe.ops.users import lock_user

        _s, db, op = _context()
        try:
            with db.transaction() as session:
                lock_user(session, op, username, reason=reason)
        except CarePipeError as exc:
            raise _fail(exc) from None
        typer.echo(f"{username} locked")

    @users_app.command("unlock")
    def users_unlock(username: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
        """Unlock an account (also clears an automatic lockout)."""
        from carepipe.ops.users import unlock_user

        _s, db, op = _context()
        try:
            with db.transaction() as session:
                unlock_user(session, op, username, reason=reason)
        except CarePipeError as exc:
            raise _fail(exc) from None
        typer.echo(f"{username} unlocked")

    @users_app.command("reset-password")
    def users_reset(username: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
        """Issue a new one-time password."""
        from carepipe.ops.users import reset_password

        _s, db, op = _context()
        try:
            with db.transaction() as session:
                otp = reset_password(session, op, username, reason=reason)
        except CarePipeError as exc:
            raise _fail(exc) from None
        typer.echo("one-time password (shown once):")
        typer.echo(otp)

    @users_app.command("token")
    def users_token(
        username: str,
        name: Annotated[str, typer.Option(help="What the token is for.")] = "",
        days: Annotated[float, typer.Option(help="Validity in days (0: no expiry).")] = 90,
        reason: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Issue a personal bearer token for the staff API (printed once)."""
        from carepipe.ops.users import issue_token

        _s, db, op = _context()
        try:
            with db.transaction() as session:
                tok = issue_token(
                    session, op, username, name=name, days=days or None, reason=reason
                )
        except CarePipeError as exc:
            raise _fail(exc) from None
        typer.echo(f"token {tok.id} for {tok.username} (shown once):")
        typer.echo(tok.plaintext)


# -- dead-letter queue ---------------------------------------------------------------------


def _register_dlq(dlq_app: typer.Typer) -> None:
    @dlq_app.command("bulk-replay")
    def dlq_bulk_replay(
        reason: Annotated[str, typer.Option(help="Ticket or justification (recorded).")],
        pipeline: Annotated[str | None, typer.Option()] = None,
        queue: Annotated[str | None, typer.Option()] = None,
        error_code: Annotated[str | None, typer.Option()] = None,
        tenant: Annotated[str | None, typer.Option()] = None,
        since: Annotated[str | None, typer.Option(help="ISO time: died at or after.")] = None,
        until: Annotated[str | None, typer.Option(help="ISO time: died before.")] = None,
        task_id: Annotated[list[int] | None, typer.Option(help="Replay these tasks.")] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Replay every dead letter matching the filter (or the given --task-id), here."""
        from carepipe.core.clock import utcnow
        from carepipe.ops import bulk_replay
        from carepipe.ops.dlq import DeadLetterFilter, count_dead

        _s, db, op = _context()
        try:
            f = DeadLetterFilter.from_dict(
                {
                    "pipeline": pipeline,
                    "queue": queue,
                    "error_code": error_code,
                    "tenant": tenant,
                    "since": since,
                    "until": until,
                }
            )
            cutoff = utcnow()
            if task_id:
                selection = bulk_replay.BulkSelection(task_ids=tuple(task_id))
                total = len(task_id)
            else:
                selection = bulk_replay.BulkSelection(filter=f)
                with db.session() as session:
                    total = count_dead(session, op, f, died_before=cutoff)
            if total == 0:
                typer.echo("nothing to replay")
                return
            if not yes and not typer.confirm(f"Replay {total} dead letters?"):
                raise typer.Exit(1)
            with db.transaction() as session:
                row = bulk_replay.request_bulk_replay(
                    session, op, selection, reason=reason, cutoff=cutoff, expected_total=total
                )
                bulk_id = row.id
        except CarePipeError as exc:
            raise _fail(exc) from None
        owner = f"cli-{bulk_id[:8]}"
        if bulk_replay.claim(db, owner, bulk_id) is None:
            typer.echo(f"bulk replay {bulk_id} queued (another runner took it)")
            return
        started = time.monotonic()
        result = bulk_replay.run_one(db, bulk_id, owner)
        typer.echo(
            f"bulk replay {bulk_id}: {result['status']}, replayed {result['replayed']}, "
            f"skipped {result['skipped']} of {result['total']} "
            f"in {time.monotonic() - started:.1f}s"
        )


# -- audit log -----------------------------------------------------------------------------


def _register_audit(audit_app: typer.Typer) -> None:
    @audit_app.command("export")
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
        from carepipe.ops.dlq import _parse_time

        _s, db, op = _context()
        try:
            f = audit_export.AuditFilter(
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=target_id,
                tenant=tenant,
                since=_parse_time(since, "since") if since else None,
                until=_parse_time(until, "until") if until else None,
            )
            with db.transaction() as session:
                audit_export.record_export(session, op, f, format, reason=reason)
        except CarePipeError as exc:
            raise _fail(exc) from None
        chunks = (audit_export.export_csv if format == "csv" else audit_export.export_json)(
            db, op, f
        )
        if output is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            return
        with output.open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
        typer.echo(f"wrote {output}", err=True)
