"""``carepipe models evaluate|compare|report|report-schedule``: evaluation, comparison with
significance, and saved reports. Evaluations run inline here (the API runs them in the
background); errors print ``{"error": ...}`` on stderr with exit 2."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from carepipe.cli.common import (
    AsJson,
    echo_json,
    load_settings,
    open_stores,
    operator,
    result_or_fail,
)
from carepipe.mlops import comparison, evaluation, reports
from carepipe.mlops.report_charts import fmt


def _save_files(db, blobs, report_id: str, out: Path | None) -> list[str]:  # type: ignore[no-untyped-def]
    """Write the report's PDF, HTML and JSON into ``out`` (a directory)."""
    if out is None:
        return []
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with db.session() as s:
        for kind in ("pdf", "html", "json"):
            data, _ = reports.report_file(s, blobs, operator(), report_id, kind)
            path = out / f"model-report-{report_id}.{kind}"
            path.write_bytes(data)
            written.append(str(path))
    return written


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the ``models`` group."""

    @group.command("evaluate")
    def models_evaluate(
        version: Annotated[str, typer.Argument(help="Version: id, name@3 or name@alias.")],
        eval_set: Annotated[
            str, typer.Option("--set", help="scribe-clips (default) or corrections.")
        ] = "scribe-clips",
        clip: Annotated[
            list[str] | None, typer.Option("--clip", help="Only these clip ids (repeatable).")
        ] = None,
        data_dir: Annotated[
            str | None, typer.Option("--data-dir", help="Directory of the scribe clips.")
        ] = None,
        tenant: Annotated[str | None, typer.Option(help="corrections: one tenant.")] = None,
        as_json: AsJson = False,
    ) -> None:
        """Evaluate a version on a versioned set (runs inline; base takes ~1-2 min)."""
        settings = load_settings()
        db, blobs = open_stores(settings)
        view = result_or_fail(
            lambda: evaluation.evaluate(
                db,
                blobs,
                settings,
                operator(),
                version,
                eval_set,
                clips=clip,
                directory=data_dir,
                tenant=tenant,
            )
        )
        if as_json:
            echo_json(view)
            return
        m = view.metrics
        typer.echo(f"{view.version} on {view.eval_set}: {view.status} in {view.seconds:.1f} s")
        if view.kind == "asr" and view.status == "done":
            typer.echo(
                f"  WER {fmt(m.get('wer'), 'pct')} over {m.get('items')} clips, RTF {m.get('rtf')}"
            )
        elif view.status == "done":
            typer.echo(f"  fact recall {fmt(m.get('recall'), 'pct')}, F1 {m.get('f1')}")
        for dim, values in view.slices.items():
            for value, figures in values.items():
                shown = figures.get("wer", figures.get("recall"))
                typer.echo(f"  {dim}={value}: {fmt(shown, 'pct')} ({figures['items']} items)")
        if "comparison_vs_production" in m:
            c = m["comparison_vs_production"]
            typer.echo(f"  vs production {c.get('production_version')}: {c['verdict']}")

    @group.command("compare")
    def models_compare(
        baseline: Annotated[str, typer.Argument(help="A, the baseline version.")],
        candidate: Annotated[str, typer.Argument(help="B, the candidate version.")],
        eval_set: Annotated[
            str | None, typer.Option("--set", help="Set version (name@hash) or name.")
        ] = None,
        report: Annotated[bool, typer.Option("--report", help="Also save a report.")] = False,
        out: Annotated[
            Path | None, typer.Option("--out", help="With --report: write PDF/HTML/JSON here.")
        ] = None,
        as_json: AsJson = False,
    ) -> None:
        """Compare two evaluated versions: difference, CI, p-values, verdict."""
        settings = load_settings()
        db, blobs = open_stores(settings)

        def run() -> tuple[comparison.ComparisonView, reports.ReportView | None]:
            with db.transaction() as s:
                view = comparison.compare(
                    s, blobs, operator(), baseline, candidate, eval_set=eval_set
                )
                saved = (
                    reports.create_comparison_report(
                        s, blobs, operator(), baseline, candidate, eval_set=view.eval_set
                    )
                    if report
                    else None
                )
            return view, saved

        view, saved = result_or_fail(run)
        files = _save_files(db, blobs, saved.id, out) if saved else []
        if as_json:
            data = view.model_dump(mode="json")
            if saved:
                data["report"] = {**saved.model_dump(mode="json"), "files": files}
            echo_json(data)
            return
        typer.echo(f"{view.candidate} vs {view.baseline} on {view.eval_set}: {view.verdict}")
        a, b = fmt(view.baseline_value, "pct"), fmt(view.candidate_value, "pct")
        low, high = fmt(view.ci_low, "pct"), fmt(view.ci_high, "pct")
        typer.echo(
            f"  {view.metric}: A {a}, B {b}, B-A {fmt(view.difference, 'pct')} "
            f"(95% CI {low} to {high})"
        )
        for t in view.tests:
            typer.echo(f"  {t.name}: p={t.p_value:.3g}")
        if saved:
            typer.echo(f"  report {saved.id}: {saved.links['console']}")
            for f in files:
                typer.echo(f"  wrote {f}")

    @group.command("report")
    def models_report(
        version: Annotated[str, typer.Argument(help="The version to report on.")],
        hours: Annotated[float, typer.Option(help="The last N hours (default 7 days).")] = 168.0,
        start: Annotated[datetime | None, typer.Option(help="Range start (UTC).")] = None,
        end: Annotated[datetime | None, typer.Option(help="Range end (UTC).")] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Write PDF/HTML/JSON into this directory.")
        ] = None,
        as_json: AsJson = False,
    ) -> None:
        """Save a performance report of a version over a time range."""
        settings = load_settings()
        db, blobs = open_stores(settings)

        def run() -> reports.ReportView:
            with db.transaction() as s:
                return reports.create_performance_report(
                    s, blobs, operator(), version, start=start, end=end, hours=hours
                )

        saved = result_or_fail(run)
        files = _save_files(db, blobs, saved.id, out)
        if as_json:
            echo_json({**saved.model_dump(mode="json"), "files": files})
            return
        typer.echo(f"report {saved.id}: {saved.title}")
        for key, value in saved.summary.items():
            typer.echo(f"  {key}: {value}")
        for f in files:
            typer.echo(f"  wrote {f}")

    @group.command("report-schedule")
    def models_report_schedule(
        engine_kind: Annotated[str, typer.Argument(help="asr, note, ocr or orders.")],
        environment: Annotated[str, typer.Option(help="Deployment environment.")] = "production",
        every_hours: Annotated[float, typer.Option(help="How often.")] = 168.0,
        range_hours: Annotated[float, typer.Option(help="Range each report covers.")] = 168.0,
        as_json: AsJson = False,
    ) -> None:
        """Schedule a recurring performance report of the deployed version."""
        settings = load_settings()
        db, _ = open_stores(settings)

        def run() -> reports.ScheduleView:
            with db.transaction() as s:
                return reports.create_schedule(
                    s,
                    operator(),
                    engine_kind,
                    environment=environment,
                    every_hours=every_hours,
                    range_hours=range_hours,
                )

        view = result_or_fail(run)
        if as_json:
            echo_json(view)
        else:
            nxt = f"{view.next_run_at:%Y-%m-%d %H:%M} UTC"
            typer.echo(f"schedule {view.id}: {engine_kind} every {every_hours:g} h, next {nxt}")
