"""``carepipe models deploy|deployments|canary|rollback``: what serves, canary rollouts and
rollbacks (the services in :mod:`carepipe.mlops` own the rules; this prints their views).
Errors print ``{"error": ...}`` on stderr with exit 2."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from carepipe.cli.common import (
    AsJson,
    echo_json,
    load_settings,
    open_blobs,
    open_db,
    operator,
    read,
    result_or_fail,
    write,
)
from carepipe.core.errors import InvalidRequest
from carepipe.mlops import canary, deployments, rollback

Reason = Annotated[str | None, typer.Option(help="Why (kept in the audit log).")]
Revision = Annotated[
    int | None, typer.Option("--expected-revision", help="The revision you read (stale: 409).")
]
CANARY_ACTIONS = ("start", "pause", "resume", "abort", "promote", "confirm")


def _print_status(st: canary.CanaryStatusView) -> None:
    d = st.deployment
    typer.echo(f"{d.id}  {d.engine_kind}/{d.environment}/{d.tenant}  rev {d.revision}  {d.status}")
    typer.echo(f"  stable  {d.stable}")
    if d.canary:
        typer.echo(
            f"  canary  {d.canary} at {d.canary_percent}%  (steps {st.steps}, step {st.step})"
        )
        for a in st.arms:
            typer.echo(
                f"  {a.arm:<7} {a.version}: {a.jobs} jobs, success {a.success_rate}, "
                f"p99 {a.p99_ms} ms, RTF {a.mean_rtf}, confidence {a.mean_confidence}"
            )
    for dec in st.decisions[:5]:
        typer.echo(
            f"  {dec['at']}  {dec['verdict']} -> {dec.get('action')}  {'; '.join(dec['reasons'])}"
        )
    if d.retired:
        typer.echo(f"  retired (awaiting confirmation): {', '.join(d.retired)}")


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the ``models`` group."""

    @group.command("deploy")
    def models_deploy(
        engine_kind: Annotated[str, typer.Argument(help="asr or note.")],
        version: Annotated[str, typer.Argument(help="Version: id, name@3 or name@alias.")],
        tenant: Annotated[str, typer.Option(help="One tenant, or * for all.")] = "*",
        environment: Annotated[str, typer.Option(help="Environment.")] = "production",
        expected_revision: Revision = None,
        reason: Reason = None,
        as_json: AsJson = False,
    ) -> None:
        """Deploy a version: health check first, then it serves (no restart needed)."""
        settings = load_settings()
        view = result_or_fail(
            lambda: deployments.deploy(
                open_db(settings),
                settings,
                operator(),
                engine_kind=engine_kind,
                version_ref=version,
                environment=environment,
                tenant=tenant,
                expected_revision=expected_revision,
                reason=reason,
                blobs=open_blobs(settings),
            )
        )
        if as_json:
            echo_json(view)
            return
        typer.echo(
            f"deployed {view.stable} for {view.engine_kind}/{view.tenant} (rev {view.revision})"
        )

    @group.command("deployments")
    def models_deployments(
        deployment_id: Annotated[
            str | None, typer.Argument(help="Show one (with its canary).")
        ] = None,
        history: Annotated[bool, typer.Option("--history", help="With its events.")] = False,
        at: Annotated[
            datetime | None, typer.Option(help="What served --kind for --tenant at this time.")
        ] = None,
        kind: Annotated[str, typer.Option("--kind", help="With --at: asr or note.")] = "asr",
        tenant: Annotated[str, typer.Option(help="With --at: the tenant.")] = "*",
        as_json: AsJson = False,
    ) -> None:
        """List deployments, show one (live canary), or answer what served at a time."""
        load_settings()
        p = operator()
        if at is not None:
            when = at if at.tzinfo else at.astimezone()
            ans = read(lambda s: deployments.production_at(s, p, kind, tenant, when))
            if as_json:
                echo_json(ans)
            else:
                canary_part = (
                    f", canary {ans.canary} at {ans.canary_percent}%" if ans.canary else ""
                )
                typer.echo(
                    f"{ans.stable}{canary_part} (deployment {ans.deployment_tenant}, "
                    f"since {ans.since}, {ans.action})"
                )
            return
        if deployment_id is None:
            rows = read(lambda s: deployments.list_deployments(s, p))
            if as_json:
                echo_json(rows)
                return
            for d in rows:
                extra = f"  canary {d.canary} {d.canary_percent}% ({d.status})" if d.canary else ""
                typer.echo(
                    f"{d.id}  {d.engine_kind:<5} {d.environment:<11} {d.tenant:<12} "
                    f"{d.stable}{extra}"
                )
            return
        st = read(lambda s: canary.status(s, p, deployment_id))
        events = read(lambda s: deployments.history(s, p, deployment_id)) if history else []
        if as_json:
            out: dict[str, Any] = json.loads(st.model_dump_json())
            if history:
                out["events"] = [json.loads(e.model_dump_json()) for e in events]
            echo_json(out)
            return
        _print_status(st)
        for e in events:
            typer.echo(
                f"  {e.at}  {e.action:<16} {e.actor:<28} stable {e.stable} "
                f"canary {e.canary} {e.canary_percent}%"
            )

    @group.command("canary")
    def models_canary(
        action: Annotated[str, typer.Argument(help="start|pause|resume|abort|promote|confirm")],
        deployment_id: Annotated[str, typer.Argument(help="The deployment id.")],
        version: Annotated[
            str | None, typer.Argument(help="start: the canary version; confirm: a retired one.")
        ] = None,
        step: Annotated[
            list[int] | None, typer.Option("--step", help="start: a step percent (repeatable).")
        ] = None,
        analysis: Annotated[
            str | None,
            typer.Option(help='start: the analysis template as JSON, e.g. {"min_jobs": 20}.'),
        ] = None,
        sticky: Annotated[
            str, typer.Option(help="start: idempotency_key or tenant.")
        ] = "idempotency_key",
        expected_revision: Revision = None,
        reason: Reason = None,
        as_json: AsJson = False,
    ) -> None:
        """Start, pause, resume, abort or promote a canary; confirm a retired version's end."""
        settings = load_settings()
        p = operator()
        if action not in CANARY_ACTIONS:
            raise typer.BadParameter(f"expected one of {', '.join(CANARY_ACTIONS)}")

        def run(s: Any) -> deployments.DeploymentView:
            if action in ("start", "confirm") and not version:
                raise InvalidRequest(f"canary {action} needs a VERSION")
            if action == "start":
                try:
                    template = json.loads(analysis) if analysis else None
                except json.JSONDecodeError as exc:
                    raise InvalidRequest(f"--analysis is not JSON: {exc}") from None
                return canary.start_canary(
                    s,
                    p,
                    settings,
                    deployment_id,
                    str(version),
                    steps=step or None,
                    analysis=template,
                    sticky=sticky,
                    expected_revision=expected_revision,
                    reason=reason,
                )
            if action == "confirm":
                return deployments.confirm_decommission(
                    s, p, deployment_id, str(version), reason=reason
                )
            change = {
                "pause": canary.pause,
                "resume": canary.resume,
                "abort": canary.abort,
                "promote": canary.promote_now,
            }[action]
            return change(
                s, p, settings, deployment_id, expected_revision=expected_revision, reason=reason
            )

        view = write(run)
        if as_json:
            echo_json(view)
            return
        canary_part = f", canary {view.canary} at {view.canary_percent}%" if view.canary else ""
        typer.echo(
            f"{action}: {view.status}; stable {view.stable}{canary_part} (rev {view.revision})"
        )

    @group.command("rollback")
    def models_rollback(
        deployment_id: Annotated[str, typer.Argument(help="The deployment id.")],
        to: Annotated[
            str | None, typer.Option(help="Target version (default: the previous).")
        ] = None,
        targets: Annotated[bool, typer.Option("--targets", help="Only list the targets.")] = False,
        expected_revision: Revision = None,
        reason: Reason = None,
        as_json: AsJson = False,
    ) -> None:
        """Roll a deployment back (health check, switch, verify, incident), or list targets."""
        settings = load_settings()
        p = operator()
        if targets:
            rows = read(lambda s: rollback.targets(s, p, deployment_id))
            if as_json:
                echo_json(rows)
            else:
                for t in rows:
                    typer.echo(f"{t.version:<28} {t.source:<8} last stable {t.last_stable_at}")
            return
        out = result_or_fail(
            lambda: rollback.rollback(
                open_db(settings),
                settings,
                p,
                deployment_id,
                to=to,
                expected_revision=expected_revision,
                reason=reason,
                blobs=open_blobs(settings),
            )
        )
        if as_json:
            echo_json(out)
            return
        typer.echo(
            f"rolled back {out.rolled_back_from} -> {out.rolled_back_to}; "
            f"incident {out.incident_id}"
        )
