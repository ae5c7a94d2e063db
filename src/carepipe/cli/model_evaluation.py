"""``carepipe models ...``: model_evaluation commands."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the ``models`` group."""
