"""``carepipe models drift check|events`` and ``carepipe models monitor VERSION``: drift
of deployed versions and a version's monitoring series (the views of
:mod:`carepipe.mlops.drift` and :mod:`carepipe.mlops.monitoring`, as text or ``--json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from carepipe.cli.common import AsJson, echo_json, load_settings, operator, read, write

drift_group = typer.Typer(help="Drift of deployed model versions.", no_args_is_help=True)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


@drift_group.command("check")
def drift_check(
    version: Annotated[
        str | None, typer.Argument(help="A version: id, name@3 or name@alias.")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Every version deployed for this engine kind.")
    ] = None,
    baseline_since: Annotated[datetime | None, typer.Option()] = None,
    baseline_until: Annotated[datetime | None, typer.Option()] = None,
    current_since: Annotated[datetime | None, typer.Option()] = None,
    current_until: Annotated[datetime | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Run a drift check now (default windows: the version's first jobs vs the newest)."""
    from carepipe.mlops.drift import Window, check_now

    def window(since: datetime | None, until: datetime | None) -> Window | None:
        return Window(since=since, until=until) if since or until else None

    settings = load_settings()
    run = write(
        lambda s: check_now(
            s,
            operator(),
            settings=settings,
            version=version,
            engine_kind=kind,
            baseline=window(baseline_since, baseline_until),
            current=window(current_since, current_until),
            wait_notify=True,  # the process exits next: send in this thread
        )
    )
    if as_json:
        echo_json(run)
        return
    for c in run.checks:
        typer.echo(
            f"{c.version} ({c.engine_kind}) {c.status.upper()}  check {c.id}  "
            f"baseline {c.baseline.jobs} jobs, current {c.current.jobs} jobs  "
            f"next check {c.next_check_at.isoformat()}"
        )
        for f in c.features:
            typer.echo(
                f"  {f.feature:<17} {f.status:<12} {f.statistic:<11} {_fmt(f.value):>7} "
                f"(marginal {f.marginal_at:g}, severe {f.severe_at:g})  "
                f"p={_fmt(f.p_value, '.2g')}  n={f.n_baseline}/{f.n_current}"
            )


@drift_group.command("events")
def drift_events(
    version: Annotated[str | None, typer.Option(help="id, name@3 or name@alias.")] = None,
    kind: Annotated[str | None, typer.Option(help="Engine kind.")] = None,
    severity: Annotated[str | None, typer.Option(help="marginal or severe.")] = None,
    feature: Annotated[str | None, typer.Option()] = None,
    before: Annotated[int | None, typer.Option(help="The previous page's next_before.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: AsJson = False,
) -> None:
    """Stored drift events, newest first."""
    from carepipe.mlops.drift import list_events

    page = read(
        lambda s: list_events(
            s,
            operator(),
            version=version,
            engine_kind=kind,
            severity=severity,
            feature=feature,
            before=before,
            limit=limit,
        )
    )
    if as_json:
        echo_json(page)
        return
    for e in page.items:
        typer.echo(
            f"{e.id:>6}  {e.at.isoformat()}  {e.version:<24} {e.severity:<8} "
            f"{e.feature:<17} {e.statistic} {e.value:.3f}  p={_fmt(e.p_value, '.2g')}"
        )
    if page.next_before:
        typer.echo(f"next page: --before {page.next_before}")


def monitor(
    version: Annotated[str, typer.Argument(help="A version: id, name@3 or name@alias.")],
    hours: Annotated[int, typer.Option(help="The window, in hours.")] = 24,
    bucket: Annotated[str, typer.Option(help="hour or day.")] = "hour",
    as_json: AsJson = False,
) -> None:
    """A version's jobs, failure rate, latency, RTF, confidence and correction WER over time."""
    from carepipe.mlops.monitoring import monitor_version

    series = read(lambda s: monitor_version(s, operator(), version, hours=hours, bucket=bucket))
    if as_json:
        echo_json(series)
        return
    typer.echo(f"{series.version} ({series.engine_kind}) per {series.bucket}, UTC")
    typer.echo("start              jobs  fail%   p50 ms   p99 ms    RTF   conf  corr    WER")
    for b in [*series.buckets, series.totals]:
        start = "total" if b is series.totals else f"{b.start:%Y-%m-%d %H:%M}"
        rate = _fmt(None if b.failure_rate is None else b.failure_rate * 100, ".1f")
        typer.echo(
            f"{start:<17} {b.jobs:>5} {rate:>6} {_fmt(b.latency_p50_ms, '.0f'):>8} "
            f"{_fmt(b.latency_p99_ms, '.0f'):>8} {_fmt(b.rtf_mean, '.2f'):>6} "
            f"{_fmt(b.confidence_mean, '.2f'):>6} {b.corrections:>5} {_fmt(b.wer_mean):>6}"
        )


def add_commands(group: typer.Typer) -> None:
    """Add ``drift check|events`` and ``monitor`` to the ``models`` group."""
    group.add_typer(drift_group, name="drift")
    group.command("monitor")(monitor)
