"""``carepipe users ...``: console users (create, list, lock, unlock, passwords, tokens)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from carepipe.cli.common import AsJson, echo_json, operator, read, write

group = typer.Typer(help="Console users.", no_args_is_help=True)


@group.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Sign-in name (lower case).")],
    role: Annotated[list[str], typer.Option(help="Role; repeat for several.")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    as_json: AsJson = False,
) -> None:
    """Create a console user; without --password-stdin prints a one-time password."""
    from carepipe.ops.users import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    created = write(
        lambda session: create_user(
            session,
            operator(),
            username=username,
            roles=role,
            password=password,
            display_name=display_name,
            reason=reason,
        )
    )
    if as_json:
        echo_json(created)
        return
    typer.echo(f"user {created.username} created with roles {', '.join(created.roles)}")
    if created.one_time_password:
        typer.echo("one-time password (shown once; must be changed at first sign-in):")
        typer.echo(created.one_time_password)


@group.command("list")
def users_list(as_json: AsJson = False) -> None:
    """List users, their roles and lock state."""
    from carepipe.ops.users import list_users

    rows = read(lambda session: list_users(session, operator()))
    if as_json:
        echo_json(rows)
        return
    for u in rows:
        state = (
            "locked"
            if u.locked
            else (f"lockout until {u.locked_until.isoformat()}" if u.locked_until else "active")
        )
        last = u.last_login_at.isoformat() if u.last_login_at else "-"
        typer.echo(f"{u.username:<20} {','.join(u.roles):<28} {state:<12} last {last}")


@group.command("lock")
def users_lock(
    username: str,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Lock an account (its sessions and tokens stop working)."""
    from carepipe.ops.users import lock_user

    user = write(lambda session: lock_user(session, operator(), username, reason=reason))
    if as_json:
        echo_json(user)
        return
    typer.echo(f"{username} locked")


@group.command("unlock")
def users_unlock(
    username: str,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Unlock an account (also clears an automatic lockout)."""
    from carepipe.ops.users import unlock_user

    user = write(lambda session: unlock_user(session, operator(), username, reason=reason))
    if as_json:
        echo_json(user)
        return
    typer.echo(f"{username} unlocked")


@group.command("reset-password")
def users_reset(
    username: str,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Issue a new one-time password."""
    from carepipe.ops.users import reset_password

    reset = write(lambda session: reset_password(session, operator(), username, reason=reason))
    if as_json:
        echo_json(reset)
        return
    typer.echo("one-time password (shown once):")
    typer.echo(reset.one_time_password)


@group.command("token")
def users_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    days: Annotated[float, typer.Option(help="Validity in days (0: no expiry).")] = 90,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Issue a personal bearer token for the staff API (printed once)."""
    from carepipe.ops.users import issue_token

    tok = write(
        lambda session: issue_token(
            session, operator(), username, name=name, days=days or None, reason=reason
        )
    )
    if as_json:
        echo_json(tok)
        return
    typer.echo(f"token {tok.id} for {tok.username} (shown once):")
    typer.echo(tok.plaintext)
