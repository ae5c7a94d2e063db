"""``carepipe maintenance ...``: fence the platform (pause every write), lift, status.

Thin: each command calls ``carepipe.ops.maintenance`` as the CLI operator and prints its
view (text, or ``--json``); errors go to stderr as JSON with their code.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from carepipe.cli.common import AsJson, echo_json, load_settings, open_db, operator, result_or_fail
from carepipe.ops.maintenance import FenceView

group = typer.Typer(
    help="The maintenance fence: pause every write (API, MLLP, workers) and lift it.",
    no_args_is_help=True,
)

# Beyond one poll interval: the read itself, and a process's poll that began just before
# the fence committed.
WAIT_MARGIN_SECONDS = 1.0


def _print(view: FenceView, as_json: bool) -> None:
    if as_json:
        echo_json(view)
    elif view.fenced:
        typer.echo(
            f"FENCED since {view.fenced_at} by {view.fenced_by}: {view.reason}"
            f"  (writes answered 503, Retry-After {view.retry_after_seconds} s"
            + (f", drill {view.drill_id})" if view.drill_id else ")")
        )
    elif view.lifted_at is not None:
        typer.echo(f"not fenced (last fence {view.fenced_at}, lifted {view.lifted_at})")
    else:
        typer.echo("not fenced")


@group.command("fence")
def fence(
    reason: Annotated[str, typer.Option(help="Why (shown to operators and in 503 answers).")],
    retry_after: Annotated[
        int | None,
        typer.Option(help="Retry-After seconds of refused writes (default from settings)."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(help="Return once every process has had a poll interval to see it."),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Fence the platform: writes answered 503, MLLP port closed, workers stop claiming."""
    from carepipe.ops import maintenance

    s = load_settings()
    view = result_or_fail(
        lambda: maintenance.fence(
            open_db(s), operator(), reason=reason, retry_after_seconds=retry_after
        )
    )
    if wait:
        time.sleep(s.maintenance_poll_seconds + WAIT_MARGIN_SECONDS)
    _print(view, as_json)


@group.command("lift")
def lift(as_json: AsJson = False) -> None:
    """Lift the fence: writes are taken again (within one poll interval)."""
    from carepipe.ops import maintenance

    s = load_settings()
    _print(result_or_fail(lambda: maintenance.lift(open_db(s), operator())), as_json)


@group.command("status")
def status(as_json: AsJson = False) -> None:
    """Whether the platform is fenced, since when, by whom and why."""
    from carepipe.ops import maintenance

    s = load_settings()
    _print(result_or_fail(lambda: maintenance.fence_status(open_db(s), operator())), as_json)
