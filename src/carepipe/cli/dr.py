"""``carepipe dr ...``: disaster-recovery drills (drill, list, show, report).

Thin: each command calls ``carepipe.ops.dr.service`` as the CLI operator. ``drill``
exits 0 when the drill passed and 1 when it failed or could not run to the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepipe.cli.common import (
    AsJson,
    echo_json,
    fail,
    load_settings,
    open_db,
    operator,
    result_or_fail,
)
from carepipe.core.errors import InvalidRequest

if TYPE_CHECKING:
    from carepipe.ops.dr.views import DrillView

TRIGGERS = ("cli", "schedule", "console")
group = typer.Typer(
    help="Disaster-recovery drills: fence, restore, smoke tests, RTO/RPO.", no_args_is_help=True
)


def _figure(value: float | None, target: int, met: bool | None) -> str:
    if value is None:
        return f"not measured (target {target} s)"
    return f"{value:.2f} s (target {target} s, {'met' if met else 'MISSED'})"


def _summary(d: DrillView) -> None:
    """One screen: status, targets, smoke tests, missing items, findings."""
    typer.echo(
        f"drill {d.id}: {d.status.upper()}  "
        f"({d.layout}, started {d.started_at:%Y-%m-%d %H:%M:%S} UTC)"
    )
    typer.echo(f"  RTO {_figure(d.rto_seconds, d.rto_target_seconds, d.rto_met)}")
    typer.echo(f"  RPO {_figure(d.rpo_seconds, d.rpo_target_seconds, d.rpo_met)}")
    for s in d.smoke:
        typer.echo(
            f"  {'ok    ' if s.ok else 'FAILED'} {s.name:<15} {s.seconds:6.2f} s  {s.detail[:70]}"
        )
    typer.echo(f"  acknowledged items missing: {len(d.missing)}")
    for f in d.findings:
        typer.echo(f"  finding [{f.severity}] {f.title} (owner {f.owner}, due {f.due_date})")
    if d.error:
        typer.echo(f"  error: {d.error[:200]}")
    last = d.timeline[-1] if d.timeline else None
    if last is not None and last.step == "failover":
        typer.echo(f"  {last.detail}")


def _write_reports(d: DrillView, directory: Path) -> list[Path]:
    from carepipe.ops.dr import report

    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "json": report.render_json(d).encode(),
        "html": report.render_html(d).encode(),
        "pdf": report.render_pdf(d),
    }
    written = []
    for ext, data in files.items():
        path = directory / f"dr-drill-{d.id}.{ext}"
        path.write_bytes(data)
        written.append(path)
    return written


@group.command("drill")
def drill(
    rto: Annotated[int | None, typer.Option("--rto", help="RTO target, seconds.")] = None,
    rpo: Annotated[int | None, typer.Option("--rpo", help="RPO target, seconds.")] = None,
    primary_url: Annotated[
        str | None, typer.Option(help="The primary's base URL (probed for the fence).")
    ] = None,
    primary_mllp_port: Annotated[
        int | None, typer.Option(help="The primary's MLLP port (probed for the fence).")
    ] = None,
    failback: Annotated[
        bool, typer.Option(help="Stop the standby and unfence the primary at the end.")
    ] = True,
    keep_standby: Annotated[bool, typer.Option(help="Keep the standby's files.")] = False,
    report_dir: Annotated[
        Path | None, typer.Option(help="Write the report (JSON, HTML, PDF) here.")
    ] = None,
    trigger: Annotated[
        str, typer.Option(help="Who started it: cli, schedule or console (recorded).")
    ] = "cli",
    requested_by: Annotated[
        str | None,
        typer.Option(
            help="Who asked for this drill (the console passes its user); recorded beside "
            "the identity that runs it."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Fence the primary, restore the latest backup to a standby, smoke-test it, measure
    RTO and RPO, report. Exit 0 when the drill passed, 1 otherwise."""
    from carepipe.ops.dr import service

    s = load_settings()
    if trigger not in TRIGGERS:
        raise fail(InvalidRequest(f"--trigger must be one of {', '.join(TRIGGERS)}"))
    view = result_or_fail(
        lambda: service.run_drill(
            s,
            operator(),
            trigger=trigger,
            rto_target=rto,
            rpo_target=rpo,
            primary_url=primary_url,
            primary_mllp_port=primary_mllp_port,
            failback=failback,
            keep_standby=keep_standby,
            requested_by=requested_by,
        )
    )
    written = _write_reports(view, report_dir) if report_dir is not None else []
    if as_json:
        echo_json(view)
    else:
        _summary(view)
        for path in written:
            typer.echo(f"  report: {path}")
    if view.status != "passed":
        raise typer.Exit(1)


@group.command("list")
def drill_list(as_json: AsJson = False) -> None:
    """Drills, newest first."""
    from carepipe.ops.dr import service

    drills = result_or_fail(lambda: service.list_drills(open_db(load_settings()), operator()))
    if as_json:
        echo_json(drills)
        return
    for d in drills:
        typer.echo(
            f"{d.id}  {d.status:<8} {d.started_at:%Y-%m-%d %H:%M}  RTO {d.rto_seconds}  "
            f"RPO {d.rpo_seconds}  findings {len(d.findings)}"
        )


@group.command("show")
def drill_show(drill_id: str, as_json: AsJson = False) -> None:
    """One drill: targets, RTO/RPO, smoke tests, findings."""
    from carepipe.ops.dr import service

    d = result_or_fail(lambda: service.get_drill(open_db(load_settings()), operator(), drill_id))
    if as_json:
        echo_json(d)
    else:
        _summary(d)


@group.command("report")
def drill_report(
    drill_id: str,
    output: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="html, json or pdf.")] = "html",
) -> None:
    """Write a drill's report (HTML, JSON or PDF) to a file."""
    from carepipe.ops.dr import service

    data = result_or_fail(
        lambda: service.report(open_db(load_settings()), operator(), drill_id, fmt)
    )
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data)} bytes)")
