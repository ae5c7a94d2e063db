"""``carepipe dlq ...``: dead letters (list, replay one, bulk replay)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from carepipe.cli.common import (
    AsJson,
    echo_json,
    fail,
    field,
    load_settings,
    open_db,
    operator,
    read,
    write,
)
from carepipe.core.errors import CarePipeError

group = typer.Typer(help="Dead-letter queue.", no_args_is_help=True)


@group.command("list")
def dlq_list(
    pipeline: Annotated[str | None, typer.Option()] = None,
    queue: Annotated[str | None, typer.Option()] = None,
    error_code: Annotated[str | None, typer.Option()] = None,
    tenant: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: AsJson = False,
) -> None:
    """List dead letters, newest first, with counts per error code."""
    from carepipe.ops.dlq import DeadLetterFilter, list_dead_letters

    f = DeadLetterFilter(pipeline=pipeline, queue=queue, error_code=error_code, tenant=tenant)
    page = read(lambda session: list_dead_letters(session, operator(), f, limit=limit))
    if as_json:
        echo_json(page)
        return
    counts = page.counts_by_error or {}
    typer.echo("counts: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    for r in page.items:
        typer.echo(
            f"{r.task_id:>8}  {r.pipeline:<8} {r.queue:<8} {r.error_code or '-':<20} "
            f"{r.died_at.isoformat()}  job {r.job_id}  {r.error_message or ''}"
        )


@group.command("replay")
def dlq_replay(
    task_id: int,
    reason: Annotated[str | None, typer.Option(help="Ticket or justification.")] = None,
    as_json: AsJson = False,
) -> None:
    """Re-queue one dead task with replay=true."""
    from carepipe.ops.dlq import replay_dead_task

    t = write(lambda session: replay_dead_task(session, operator(), task_id, reason=reason))
    if as_json:
        echo_json(t)
        return
    typer.echo(f"task {t.task_id} re-queued on {t.queue} (replay)")


@group.command("bulk-replay")
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

    s = load_settings()
    db, op = open_db(s), operator()
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
        raise fail(exc) from None
    owner = f"cli-{bulk_id[:8]}"
    if bulk_replay.claim(db, owner, bulk_id) is None:
        typer.echo(f"bulk replay {bulk_id} queued (another runner took it)")
        return
    started = time.monotonic()
    result = bulk_replay.run_one(db, bulk_id, owner)
    typer.echo(
        f"bulk replay {bulk_id}: {field(result, 'status')}, "
        f"replayed {field(result, 'replayed')}, skipped {field(result, 'skipped')} "
        f"of {field(result, 'total')} in {time.monotonic() - started:.1f}s"
    )
