"""``carepipe flags ...``: feature flags from a host with database access (docs/flags.md).

The same service as ``/v1/flags``: every change needs ``--justification``; a flag that
requires approval keeps a change pending until another person approves it (the CLI acts
as ``cli:<login user>``, so approve from another account or the console). Definitions
and segments are JSON, read from a file or from standard input (``-``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from carepipe.cli.common import AsJson, echo_json, fail, operator, read, write
from carepipe.core.errors import FlagInvalid

group = typer.Typer(help="Feature flags: change, kill, roll back, approve.", no_args_is_help=True)

Key = Annotated[str, typer.Argument(help="The flag's key.")]
Why = Annotated[str, typer.Option("--justification", "-j", help="Why (required, audited).")]
Source = Annotated[str, typer.Option("--definition", "-d", help="JSON file, or - for stdin.")]
BreakGlass = Annotated[
    bool, typer.Option("--break-glass", help="Admin: live at once, without approval (audited).")
]


def _json_from(source: str) -> dict[str, Any]:
    """A JSON object from a file or stdin (``FlagInvalid`` if it is not one)."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(FlagInvalid(f"not JSON: {exc.msg} (line {exc.lineno})")) from None
    if not isinstance(data, dict):
        raise fail(FlagInvalid("a JSON object is expected"))
    return data


def _change(view: Any, as_json: bool) -> None:
    if as_json:
        echo_json(view)
    else:
        typer.echo(f"{view.key} v{view.version} {view.action}: {view.status}")


@group.command("list")
def flags_list(as_json: AsJson = False) -> None:
    """Every flag: kind, live version, on/killed, pending change."""
    from carepipe.flags import service

    views = read(lambda s: service.list_flags(s, operator()))
    if as_json:
        echo_json(views)
        return
    for v in views:
        state = "on" if v.enabled else "KILLED"
        pending = "  (change pending)" if v.pending else ""
        typer.echo(f"{v.key}\t{v.kind}\tv{v.version}\t{state}{pending}\t{v.description}")


@group.command("show")
def flags_show(key: Key, as_json: AsJson = False) -> None:
    """A flag's live definition (and its pending change) as JSON."""
    from carepipe.flags import service

    view = read(lambda s: service.get_flag(s, operator(), key))
    if as_json:
        echo_json(view)
    else:
        typer.echo(f"{view.key} v{view.version} ({'on' if view.enabled else 'KILLED'})")
        typer.echo(view.definition.model_dump_json(indent=2))
        if view.pending_change is not None:
            typer.echo(f"pending: v{view.pending_change.version} by "
                       f"{view.pending_change.requested_by}")  # fmt: skip


@group.command("create")
def flags_create(
    key: Key,
    definition: Source,
    justification: Why,
    requires_approval: Annotated[
        bool, typer.Option("--requires-approval", help="Four eyes for every later change.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Create a flag from a JSON definition (live at once, version 1)."""
    from carepipe.flags import service

    body = _json_from(definition)
    view = write(
        lambda s: service.create_flag(
            s, operator(), key, body, justification=justification,
            requires_approval=requires_approval,
        )
    )  # fmt: skip
    _change(view, as_json)


@group.command("update")
def flags_update(
    key: Key,
    definition: Source,
    justification: Why,
    based_on: Annotated[int, typer.Option(help="The live version you edited.")],
    break_glass: BreakGlass = False,
    as_json: AsJson = False,
) -> None:
    """Replace a flag's definition (pending if the flag requires approval)."""
    from carepipe.flags import service

    body = _json_from(definition)
    view = write(
        lambda s: service.update_flag(
            s, operator(), key, body, justification=justification, based_on=based_on,
            break_glass=break_glass,
        )
    )  # fmt: skip
    _change(view, as_json)


@group.command("kill")
def flags_kill(key: Key, justification: Why, as_json: AsJson = False) -> None:
    """The kill switch: every evaluation gets the default variant, at once."""
    from carepipe.flags import service

    view = write(
        lambda s: service.set_enabled(s, operator(), key, False, justification=justification)
    )
    _change(view, as_json)


@group.command("enable")
def flags_enable(
    key: Key, justification: Why, break_glass: BreakGlass = False, as_json: AsJson = False
) -> None:
    """Turn a killed flag back on (pending if the flag requires approval)."""
    from carepipe.flags import service

    view = write(
        lambda s: service.set_enabled(
            s, operator(), key, True, justification=justification, break_glass=break_glass
        )
    )
    _change(view, as_json)


@group.command("rollback")
def flags_rollback(
    key: Key,
    to_version: Annotated[int, typer.Option("--to", help="The version to restore.")],
    justification: Why,
    break_glass: BreakGlass = False,
    as_json: AsJson = False,
) -> None:
    """Restore an earlier version's definition exactly, as a new version."""
    from carepipe.flags import service

    view = write(
        lambda s: service.rollback_flag(
            s, operator(), key, to_version, justification=justification,
            break_glass=break_glass,
        )
    )  # fmt: skip
    _change(view, as_json)


@group.command("approve")
def flags_approve(
    key: Key,
    version: Annotated[int, typer.Option(help="The pending version.")],
    as_json: AsJson = False,
) -> None:
    """Approve another person's pending change."""
    from carepipe.flags import service

    view = write(lambda s: service.approve_change(s, operator(), key, version))
    _change(view, as_json)


@group.command("reject")
def flags_reject(
    key: Key,
    version: Annotated[int, typer.Option(help="The pending version.")],
    justification: Why,
    as_json: AsJson = False,
) -> None:
    """Refuse a pending change (or withdraw your own)."""
    from carepipe.flags import service

    view = write(
        lambda s: service.reject_change(s, operator(), key, version, justification=justification)
    )
    _change(view, as_json)


@group.command("log")
def flags_log(key: Key, as_json: AsJson = False) -> None:
    """The change log, newest first: requester, approver, justification, diff."""
    from carepipe.flags import service

    views = read(lambda s: service.change_log(s, operator(), key))
    if as_json:
        echo_json(views)
        return
    for v in views:
        glass = " BREAK-GLASS" if v.break_glass else ""
        approver = f", approved by {v.approved_by}" if v.approved_by else ""
        typer.echo(f"v{v.version} {v.action} [{v.status}]{glass} {v.requested_at.isoformat()} "
                   f"by {v.requested_by}{approver}: {v.justification}")  # fmt: skip
        for line in v.diff:
            typer.echo(f"    {line}")


@group.command("segment-put")
def flags_segment_put(
    key: Annotated[str, typer.Argument(help="The segment's key.")],
    segment: Annotated[str, typer.Option("--segment", "-s", help="JSON file, or - for stdin.")],
    justification: Why,
    description: Annotated[str, typer.Option(help="What the segment is.")] = "",
    as_json: AsJson = False,
) -> None:
    """Create or replace a segment (live at once for every flag that names it)."""
    from carepipe.flags import service

    body = _json_from(segment)
    view = write(
        lambda s: service.put_segment(
            s, operator(), key, body, description=description, justification=justification
        )
    )
    if as_json:
        echo_json(view)
    else:
        typer.echo(f"segment {view.key} stored (used by {', '.join(view.used_by) or 'no flag'})")


@group.command("segments")
def flags_segments(as_json: AsJson = False) -> None:
    """Every segment with the flags that use it."""
    from carepipe.flags import service

    views = read(lambda s: service.list_segments(s, operator()))
    if as_json:
        echo_json(views)
        return
    for v in views:
        typer.echo(f"{v.key}\t{len(v.segment.conditions)} condition(s)\t"
                   f"{', '.join(v.used_by) or '-'}\t{v.description}")  # fmt: skip
