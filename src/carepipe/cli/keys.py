"""``carepipe keys ...``: partner API keys (create, list, revoke, rotate, request, activate,
extend-grace)."""

from __future__ import annotations

from typing import Annotated

import typer

from carepipe.cli.common import AsJson, echo_json, load_settings, open_db, operator

group = typer.Typer(help="Partner API keys.", no_args_is_help=True)


@group.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant the key acts for.")],
    name: Annotated[str, typer.Option(help="A label (partner or system name).")],
    staged: Annotated[bool, typer.Option(help="Create as staged (activate later).")] = False,
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    as_json: AsJson = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from carepipe.ops.api_keys import create_key

    s = load_settings()
    with open_db(s).transaction() as session:
        issued = create_key(
            session, operator(), tenant=tenant, name=name, env=s.env, staged=staged, reason=reason
        )
    if as_json:
        echo_json(issued)
        return
    typer.echo(f"key id: {issued.id}  tenant: {issued.tenant}  status: {issued.status}")
    typer.echo("API key (shown once, store it now):")
    typer.echo(issued.plaintext)


@group.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """List keys (never their secrets)."""
    from carepipe.ops.api_keys import list_keys

    s = load_settings()
    with open_db(s).session() as session:
        keys = list_keys(session, operator(), tenant=tenant)
    if as_json:
        echo_json(keys)
        return
    for k in keys:
        last = k.last_used_at.isoformat() if k.last_used_at else "-"
        typer.echo(f"{k.masked}  {k.tenant:<16} {k.name:<20} {k.status:<8} last used {last}")


@group.command("revoke")
def keys_revoke(
    key_id: str,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Revoke a key at once."""
    from carepipe.ops.api_keys import revoke_key

    s = load_settings()
    with open_db(s).transaction() as session:
        key = revoke_key(session, operator(), key_id, reason=reason)
    if as_json:
        echo_json(key)
        return
    typer.echo(f"revoked {key_id}")


@group.command("rotate")
def keys_rotate(
    key_id: str,
    grace_days: Annotated[float, typer.Option(help="Days the old key keeps working.")] = 7,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Issue a successor key; the old one stays valid for the grace period."""
    from datetime import timedelta

    from carepipe.ops.api_keys import rotate_key

    s = load_settings()
    with open_db(s).transaction() as session:
        issued = rotate_key(
            session, operator(), key_id, grace=timedelta(days=grace_days), reason=reason
        )
    if as_json:
        echo_json(issued)
        return
    typer.echo(f"new key id: {issued.id} (old key {key_id} in grace for {grace_days} days)")
    typer.echo(issued.plaintext)


@group.command("request")
def keys_request(
    tenant: Annotated[str, typer.Option(help="Tenant the key acts for.")],
    name: Annotated[str, typer.Option(help="The partner's key name (its current key's name).")],
    ticket: Annotated[str, typer.Option(help="Ticket reference (required, audited).")],
    link: Annotated[
        bool, typer.Option(help="Print a one-time link for the partner instead of the key.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Request a new staged key for a partner (it replaces the current one when activated)."""
    from carepipe.ops.key_handover import create_link
    from carepipe.ops.key_rotation import request_key

    s = load_settings()
    with open_db(s).transaction() as session:
        issued = request_key(
            session, operator(), tenant=tenant, name=name, env=s.env, ticket=ticket
        )
        handover = create_link(session, operator(), issued) if link else None
    if handover is not None:
        url = s.public_url.rstrip("/") + handover.path
        if as_json:
            echo_json(handover.model_copy(update={"path": url}))
            return
        typer.echo(f"staged key id: {issued.id}  tenant: {issued.tenant}")
        typer.echo(f"one-time link for the partner (one view, until {handover.expires_at}):")
        typer.echo(url)
        return
    if as_json:
        echo_json(issued)
        return
    typer.echo(f"staged key id: {issued.id}  tenant: {issued.tenant}")
    typer.echo("API key (shown once; the partner activates it at POST /api/keys/activate):")
    typer.echo(issued.plaintext)


@group.command("activate")
def keys_activate(
    key_id: str,
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    as_json: AsJson = False,
) -> None:
    """Activate a staged key for the partner; its predecessor goes to grace."""
    from carepipe.ops.key_rotation import activate_key

    s = load_settings()
    with open_db(s).transaction() as session:
        done = activate_key(session, operator(), key_id, reason=reason, settings=s)
    if as_json:
        echo_json(done)
        return
    typer.echo(f"activated {done.id}")
    for old in done.previous:
        typer.echo(f"{old.id} in grace until {old.grace_until}")


@group.command("extend-grace")
def keys_extend_grace(
    key_id: str,
    hours: Annotated[float, typer.Option(help="Hours to add to the grace period.")],
    reason: Annotated[str, typer.Option(help="Ticket or justification (required).")],
    as_json: AsJson = False,
) -> None:
    """Keep a key in grace longer (the partner needs more time to switch)."""
    from carepipe.ops.key_rotation import extend_grace

    s = load_settings()
    with open_db(s).transaction() as session:
        key = extend_grace(session, operator(), key_id, hours=hours, reason=reason)
    if as_json:
        echo_json(key)
        return
    typer.echo(f"{key_id} in grace until {key.grace_until}")
