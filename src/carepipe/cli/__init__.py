"""The ``carepipe`` command line: a thin adapter over the same services as the API.

One module per command group; this module only assembles them. The groups and
root-level commands are listed here in code, so a missing module fails at import.
What they share (operator, settings, stores, JSON output, errors) is in ``common``.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from carepipe.cli import (
    audit,
    backfill,
    backup,
    db,
    dlq,
    dr,
    flags,
    jobs,
    keys,
    maintenance,
    models,
    queues,
    reviews,
    secrets,
    server,
    tenants,
    users,
)

# Root-level commands, in the order ``carepipe --help`` lists them.
ROOT_COMMANDS: tuple[Callable[..., None], ...] = (
    server.up,
    server.worker,
    server.mllp,
    jobs.submit,
    backup.restore,
)

# Command groups: (name, group), in the order ``carepipe --help`` lists them.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("db", db.group),
    ("keys", keys.group),
    ("jobs", jobs.group),
    ("dlq", dlq.group),
    ("audit", audit.group),
    ("queues", queues.group),
    ("tenants", tenants.group),
    ("users", users.group),
    ("backfill", backfill.group),
    ("reviews", reviews.group),
    ("models", models.group),
    ("secrets", secrets.group),
    ("flags", flags.group),
    ("backup", backup.group),
    ("maintenance", maintenance.group),
    ("dr", dr.group),
)


def _assemble() -> typer.Typer:
    """The root app with every root-level command and group added."""
    root = typer.Typer(
        help="CarePipe: clinical AI pipelines and their operations.", no_args_is_help=True
    )
    for command in ROOT_COMMANDS:
        root.command()(command)
    for name, group in GROUPS:
        root.add_typer(group, name=name)
    return root


app = _assemble()

__all__ = ["GROUPS", "ROOT_COMMANDS", "app"]
