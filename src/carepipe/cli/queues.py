"""``carepipe queues ...``: pause, resume and rate-limit queues; list them with depths."""

from __future__ import annotations

from typing import Annotated

import typer

from carepipe.cli.common import load_settings, open_db, operator, print_or_fail

group = typer.Typer(help="Queue controls.", no_args_is_help=True)


@group.command("pause")
def queues_pause(name: str) -> None:
    """Stop handing out tasks from a queue."""
    from carepipe.ops.queues import pause_queue

    s = load_settings()
    print_or_fail(lambda: pause_queue(open_db(s), operator(), name))


@group.command("resume")
def queues_resume(name: str) -> None:
    from carepipe.ops.queues import resume_queue

    s = load_settings()
    print_or_fail(lambda: resume_queue(open_db(s), operator(), name))


@group.command("limit")
def queues_limit(name: str, per_minute: Annotated[float, typer.Argument(help="0 removes")]) -> None:
    """Rate-limit a queue (tasks per minute)."""
    from carepipe.ops.queues import limit_queue

    s = load_settings()
    print_or_fail(lambda: limit_queue(open_db(s), operator(), name, per_minute or None))


@group.command("list")
def queues_list() -> None:
    """Every queue: paused or not, rate limit, tasks ready/leased/dead (JSON)."""
    from carepipe.ops.queues import list_queues

    s = load_settings()
    print_or_fail(lambda: list_queues(open_db(s), operator()))
