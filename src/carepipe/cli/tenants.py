"""``carepipe tenants ...``: per-tenant policies (show, set)."""

from __future__ import annotations

from typing import Annotated

import typer

from carepipe.cli.common import echo_json, operator, read, write

group = typer.Typer(help="Tenant policies.", no_args_is_help=True)


@group.command("show")
def tenants_show(tenant: str) -> None:
    """Print a tenant's settings (defaults filled in) as JSON."""
    from carepipe.ops.tenants import get_tenant

    view = read(lambda session: get_tenant(session, operator(), tenant))
    echo_json(view)


@group.command("set")
def tenants_set(
    tenant: str,
    settings: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
) -> None:
    """Change tenant settings, e.g. ``allow_unidentified_patients=true`` (audited)."""
    from carepipe.core.tenants import TenantSettings
    from carepipe.ops.tenants import set_tenant_settings

    changes: dict[str, str] = {}
    for pair in settings:
        key, sep, value = pair.partition("=")
        if not sep:
            known = ", ".join(TenantSettings.model_fields)
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE (known: {known})")
        changes[key.strip()] = value
    view = write(
        lambda session: set_tenant_settings(session, operator(), tenant, changes, reason=reason)
    )
    echo_json(view)
