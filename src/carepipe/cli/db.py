"""``carepipe db ...``: the database schema."""

from __future__ import annotations

import typer

from carepipe.cli.common import load_settings

group = typer.Typer(help="Database schema.", no_args_is_help=True)


@group.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from carepipe.core.migrate import upgrade

    s = load_settings()
    upgrade(s.resolved_database_url, revision)
    typer.echo(f"database at {revision}")
