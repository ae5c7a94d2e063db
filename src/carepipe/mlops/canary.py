"""Canary rollouts with automated analysis (in the manner of Flagger and Argo Rollouts).

A canary sends ``canary_percent`` of a deployment's jobs to a second version, step by step
(default 10 -> 50 -> 100 %). The analysis template is data in the plan::

    {"interval_seconds": 60, "min_success_rate": 0.99, "max_p99_ms": null,
     "max_p99_factor": 1.5, "p99_margin_ms": 100, "min_jobs": 5, "failure_limit": 2}

Every ``interval_seconds`` (:func:`analyse_due`, a periodic job of the scheduler) the arms
are compared over the current step's observations (``ml_serving_observations``):

- fewer than ``min_jobs`` canary jobs: "insufficient data": neither advance nor failure;
- canary success rate below ``min_success_rate``, or canary p99 latency above
  ``max_p99_ms`` or above ``max_p99_factor`` x the stable arm's p99 (and more than
  ``p99_margin_ms`` above it): a failed check;
  ``failure_limit`` failed checks abort the canary at once (share 0, incident, notify);
- otherwise the next step; passing the last step (100 %) promotes the canary to stable and
  puts the old stable in ``retired`` until someone confirms its decommissioning.

Pause holds the share and skips the analysis; abort and promote-now are manual overrides.
Every change is a conditional update on the revision, so two schedulers (``carepipe up``
and a separate ``carepipe worker``) never apply one decision twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import Conflict, InvalidRequest, RegistryConflict
from carepipe.mlops.deployments import (
    DeploymentView,
    View,
    apply_change,
    get_row,
    open_incident,
    servable_version,
    view,
)
from carepipe.mlops.deployments import (
    _label_of as label_of,
)
from carepipe.mlops.models import MlDeployment, MlServingObservation
from carepipe.mlops.notify import notify_after_commit
from carepipe.mlops.refs import label
from carepipe.mlops.serving import clear_cache
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.mlops.canary")

DEFAULT_STEPS = [10, 50, 100]
DEFAULT_ANALYSIS: dict[str, Any] = {
    "interval_seconds": 60.0,
    "min_success_rate": 0.99,
    "max_p99_ms": None,
    "max_p99_factor": 1.5,
    # The factor applies only past this margin: 3 ms against 2 ms is noise, not a regression.
    "p99_margin_ms": 100.0,
    "min_jobs": 5,
    "failure_limit": 2,
}
STICKY = ("idempotency_key", "tenant")
SYSTEM_ACTOR = "system:canary-analysis"
MAX_DECISIONS = 30


class ArmStats(View):
    """One arm's figures over the current step."""

    arm: str
    version: str | None
    jobs: int
    ok: int
    success_rate: float | None
    p99_ms: float | None
    mean_rtf: float | None
    mean_confidence: float | None


class CanaryStatusView(View):
    """A deployment with its live canary: both arms, the step, the analysis decisions."""

    deployment: DeploymentView
    steps: list[int]
    step: int
    analysis: dict[str, Any]
    failures: int
    arms: list[ArmStats]
    verdict: str | None  # of the last analysis: pass | fail | insufficient_data
    decisions: list[dict[str, Any]]


def _analysis(template: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**DEFAULT_ANALYSIS, **(template or {})}
    unknown = set(merged) - set(DEFAULT_ANALYSIS)
    if unknown:
        raise InvalidRequest(
            f"unknown analysis settings: {', '.join(sorted(unknown))}",
            details={"allowed": sorted(DEFAULT_ANALYSIS)},
        )
    if not 0 <= float(merged["min_success_rate"]) <= 1:
        raise InvalidRequest("min_success_rate must be between 0 and 1")
    if float(merged["interval_seconds"]) < 0 or int(merged["min_jobs"]) < 1:
        raise InvalidRequest("interval_seconds must be >= 0 and min_jobs >= 1")
    if int(merged["failure_limit"]) < 1:
        raise InvalidRequest("failure_limit must be >= 1")
    return merged


def _steps(steps: list[int] | None) -> list[int]:
    out = list(steps or DEFAULT_STEPS)
    if not out or any(not 0 < p <= 100 for p in out) or out != sorted(set(out)):
        raise InvalidRequest(
            "steps must be increasing percentages in 1..100", details={"steps": out}
        )
    if out[-1] != 100:
        out.append(100)
    return out


def start_canary(
    session: Session,
    principal: Principal,
    settings: Any,
    deployment_id: str,
    version_ref: str,
    *,
    steps: list[int] | None = None,
    analysis: dict[str, Any] | None = None,
    sticky: str = "idempotency_key",
    expected_revision: int | None = None,
    reason: str | None = None,
) -> DeploymentView:
    """Start a canary of ``version_ref`` on the deployment at its first step (``models.deploy``).
    The canary's own jobs are its health check: the analysis aborts a version that fails."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    if row.status != "stable":
        raise Conflict(f"deployment {row.id} already runs a canary ({row.status})")
    version = servable_version(session, version_ref, row.engine_kind)
    if version.id == row.stable_version_id:
        raise InvalidRequest(f"{label(session, version)} is already the stable version")
    if sticky not in STICKY:
        raise InvalidRequest(f"sticky must be one of {', '.join(STICKY)}")
    plan = {
        "steps": _steps(steps),
        "step": 0,
        "analysis": _analysis(analysis),
        "sticky": sticky,
        "failures": 0,
        "decisions": [],
        "last_analysis_at": None,
    }
    apply_change(
        session,
        row,
        actor=principal.actor,
        actor_role=principal.role,
        action="canary_start",
        expected_revision=expected_revision,
        values={
            "canary_version_id": version.id,
            "canary_percent": plan["steps"][0],
            "status": "canary",
            "plan": plan,
            "step_started_at": utcnow(),
        },
        detail={"version": label(session, version), "steps": plan["steps"]},
        reason=reason,
    )
    clear_cache()
    _notify(settings, "canary.started", session, row)
    return view(session, row)


def _notify(settings: Any, event: str, session: Session, row: MlDeployment, **extra: Any) -> None:
    notify_after_commit(
        session,
        getattr(settings, "model_webhook_url", None),
        event,
        {
            "deployment_id": row.id,
            "engine_kind": row.engine_kind,
            "tenant": row.tenant,
            "canary_percent": row.canary_percent,
            "status": row.status,
            **extra,
        },
    )


def _running(row: MlDeployment) -> None:
    if row.canary_version_id is None or row.status not in ("canary", "paused"):
        raise Conflict(f"deployment {row.id} has no canary running")


def pause(
    session: Session,
    principal: Principal,
    settings: Any,
    deployment_id: str,
    *,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> DeploymentView:
    """Hold the canary at its share; the analysis waits (``models.deploy``)."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    _running(row)
    apply_change(
        session,
        row,
        actor=principal.actor,
        actor_role=principal.role,
        action="canary_pause",
        expected_revision=expected_revision,
        values={"status": "paused"},
        reason=reason,
    )
    _notify(settings, "canary.paused", session, row)
    return view(session, row)


def resume(
    session: Session,
    principal: Principal,
    settings: Any,
    deployment_id: str,
    *,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> DeploymentView:
    """Resume a paused canary; the current step's analysis starts afresh (``models.deploy``)."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    _running(row)
    plan = {**row.plan, "last_analysis_at": None}
    apply_change(
        session,
        row,
        actor=principal.actor,
        actor_role=principal.role,
        action="canary_resume",
        expected_revision=expected_revision,
        values={"status": "canary", "plan": plan, "step_started_at": utcnow()},
        reason=reason,
    )
    _notify(settings, "canary.resumed", session, row)
    return view(session, row)


def _abort(
    session: Session,
    row: MlDeployment,
    settings: Any,
    *,
    actor: str,
    role: str | None,
    expected_revision: int | None,
    why: str,
    detail: dict[str, Any],
) -> None:
    canary = label_of(session, row.canary_version_id)
    plan = {**row.plan, "aborted": {"at": utcnow().isoformat(), "why": why}}
    apply_change(
        session,
        row,
        actor=actor,
        actor_role=role,
        action="canary_abort",
        expected_revision=expected_revision,
        values={
            "canary_version_id": None,
            "canary_percent": 0,
            "status": "stable",
            "plan": plan,
            "step_started_at": None,
        },
        detail={"version": canary, "why": why, **detail},
        reason=why,
    )
    open_incident(
        session,
        row.id,
        by=actor,
        kind="canary_aborted",
        summary=f"canary {canary} aborted: {why}",
        detail={"version": canary, **detail},
    )
    clear_cache()
    _notify(settings, "canary.aborted", session, row, version=canary, why=why)


def abort(
    session: Session,
    principal: Principal,
    settings: Any,
    deployment_id: str,
    *,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> DeploymentView:
    """Send every job back to the stable version at once and open an incident."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    _running(row)
    _abort(
        session,
        row,
        settings,
        actor=principal.actor,
        role=principal.role,
        expected_revision=expected_revision,
        why=reason or "aborted by hand",
        detail={},
    )
    return view(session, row)


def _promote(
    session: Session,
    row: MlDeployment,
    settings: Any,
    *,
    actor: str,
    role: str | None,
    expected_revision: int | None,
    why: str,
) -> None:
    assert row.canary_version_id is not None
    old, new = row.stable_version_id, row.canary_version_id
    retired = [v for v in row.retired_version_ids or [] if v != new]
    if old not in retired:
        retired.append(old)
    apply_change(
        session,
        row,
        actor=actor,
        actor_role=role,
        action="canary_promote",
        expected_revision=expected_revision,
        values={
            "stable_version_id": new,
            "canary_version_id": None,
            "canary_percent": 0,
            "status": "stable",
            "step_started_at": None,
            "retired_version_ids": retired,
        },
        detail={"version": label_of(session, new), "retired": label_of(session, old), "why": why},
    )
    clear_cache()
    _notify(settings, "canary.promoted", session, row, version=label_of(session, new))


def promote_now(
    session: Session,
    principal: Principal,
    settings: Any,
    deployment_id: str,
    *,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> DeploymentView:
    """Skip the remaining steps: the canary becomes stable now (``models.deploy``)."""
    require(principal, "models.deploy")
    row = get_row(session, deployment_id)
    _running(row)
    _promote(
        session,
        row,
        settings,
        actor=principal.actor,
        role=principal.role,
        expected_revision=expected_revision,
        why=reason or "promoted by hand",
    )
    return view(session, row)


# -- analysis ----------------------------------------------------------------------------


def arm_stats(session: Session, row: MlDeployment, since: datetime | None) -> dict[str, ArmStats]:
    """Both arms' figures over observations of this deployment since ``since``."""
    versions = {"stable": row.stable_version_id, "canary": row.canary_version_id}
    out: dict[str, ArmStats] = {}
    for arm, version_id in versions.items():
        q = select(
            MlServingObservation.ok,
            MlServingObservation.latency_ms,
            MlServingObservation.rtf,
            MlServingObservation.confidence,
        ).where(
            MlServingObservation.deployment_id == row.id,
            MlServingObservation.arm == arm,
            MlServingObservation.version_id == (version_id or ""),
        )
        if since is not None:
            q = q.where(MlServingObservation.at >= since)
        rows = session.execute(q).all()
        oks = [r.ok for r in rows]
        # p99 over every job, failures included: a timeout is the slowest answer there is.
        lat = np.array([r.latency_ms for r in rows], dtype=float)
        rtf = [r.rtf for r in rows if r.rtf is not None]
        conf = [r.confidence for r in rows if r.confidence is not None]
        out[arm] = ArmStats(
            arm=arm,
            version=label_of(session, version_id),
            jobs=len(rows),
            ok=sum(oks),
            success_rate=round(sum(oks) / len(rows), 4) if rows else None,
            p99_ms=round(float(np.percentile(lat, 99)), 1) if rows else None,
            mean_rtf=round(float(np.mean(rtf)), 4) if rtf else None,
            mean_confidence=round(float(np.mean(conf)), 4) if conf else None,
        )
    return out


def judge(stats: dict[str, ArmStats], analysis: dict[str, Any]) -> tuple[str, list[str]]:
    """``pass`` | ``fail`` | ``insufficient_data`` and the reasons (pure: figures in)."""
    canary, stable = stats["canary"], stats["stable"]
    if canary.jobs < int(analysis["min_jobs"]):
        return "insufficient_data", [f"{canary.jobs} canary jobs < {analysis['min_jobs']}"]
    reasons = []
    rate = canary.success_rate or 0.0
    if rate < float(analysis["min_success_rate"]):
        reasons.append(f"success rate {rate:.3f} < {analysis['min_success_rate']}")
    p99 = canary.p99_ms or 0.0
    limit = analysis.get("max_p99_ms")
    if limit is not None and p99 > float(limit):
        reasons.append(f"p99 {p99:.0f} ms > {float(limit):.0f} ms")
    factor = analysis.get("max_p99_factor")
    if factor is not None and stable.jobs >= int(analysis["min_jobs"]) and stable.p99_ms:
        allowed = max(
            float(factor) * stable.p99_ms, stable.p99_ms + float(analysis["p99_margin_ms"])
        )
        if p99 > allowed:
            reasons.append(f"p99 {p99:.0f} ms > {factor} x stable {stable.p99_ms:.0f} ms")
    return ("fail" if reasons else "pass"), reasons


def analyse(session: Session, row: MlDeployment, settings: Any) -> dict[str, Any]:
    """One analysis of a running canary; applies the decision (advance, promote, abort)."""
    plan = dict(row.plan or {})
    analysis = plan["analysis"]
    stats = arm_stats(session, row, row.step_started_at)
    verdict, reasons = judge(stats, analysis)
    now = utcnow()
    step = int(plan["step"])
    decision = {
        "at": now.isoformat(),
        "step": step,
        "percent": row.canary_percent,
        "verdict": verdict,
        "reasons": reasons,
        "canary_jobs": stats["canary"].jobs,
        "stable_jobs": stats["stable"].jobs,
    }
    failures = int(plan.get("failures", 0)) + (verdict == "fail")
    plan.update(
        failures=failures,
        last_analysis_at=now.isoformat(),
        decisions=[*plan.get("decisions", []), decision][-MAX_DECISIONS:],
    )
    rev = row.revision
    if verdict == "fail" and failures >= int(analysis["failure_limit"]):
        decision["action"] = "abort"
        row.plan = plan  # carried into the abort's update
        _abort(
            session,
            row,
            settings,
            actor=SYSTEM_ACTOR,
            role="system",
            expected_revision=rev,
            why="analysis failed: " + "; ".join(reasons),
            detail={"failures": failures, "arms": {k: v.model_dump() for k, v in stats.items()}},
        )
    elif verdict == "pass" and step + 1 >= len(plan["steps"]):
        decision["action"] = "promote"
        apply_change(
            session,
            row,
            actor=SYSTEM_ACTOR,
            actor_role="system",
            action="canary_analysis",
            expected_revision=rev,
            values={"plan": plan},
            detail=decision,
        )
        _promote(
            session,
            row,
            settings,
            actor=SYSTEM_ACTOR,
            role="system",
            expected_revision=row.revision,
            why="analysis passed every step",
        )
    elif verdict == "pass":
        decision["action"] = "advance"
        plan["step"] = step + 1
        apply_change(
            session,
            row,
            actor=SYSTEM_ACTOR,
            actor_role="system",
            action="canary_step",
            expected_revision=rev,
            values={
                "plan": plan,
                "canary_percent": plan["steps"][step + 1],
                "step_started_at": now,
            },
            detail=decision,
        )
        clear_cache()
        _notify(settings, "canary.step", session, row)
    else:
        # Insufficient data or a failure under the limit: recorded, the share unchanged.
        decision["action"] = "hold"
        apply_change(
            session,
            row,
            actor=SYSTEM_ACTOR,
            actor_role="system",
            action="canary_analysis",
            expected_revision=rev,
            values={"plan": plan},
            detail=decision,
        )
    return decision


def _due(row: MlDeployment, now: datetime) -> bool:
    plan = row.plan or {}
    interval = float(plan.get("analysis", {}).get("interval_seconds", 60.0))
    last = plan.get("last_analysis_at")
    ref = datetime.fromisoformat(last) if last else row.step_started_at
    if ref is None:
        return True
    if ref.tzinfo is None and now.tzinfo is not None:
        ref = ref.replace(tzinfo=now.tzinfo)
    return now - ref >= timedelta(seconds=interval)


def analyse_due(db: Database, settings: Any) -> list[dict[str, Any]]:
    """Analyse every running canary whose interval has passed (the scheduler's job). A
    decision another process applied first is skipped (its conditional update lost)."""
    with db.session() as s:
        ids = s.execute(select(MlDeployment.id).where(MlDeployment.status == "canary")).scalars()
        ids = list(ids)
    decisions = []
    for deployment_id in ids:
        try:
            with db.transaction() as s:
                row = s.get(MlDeployment, deployment_id)
                if row is None or row.status != "canary" or not _due(row, utcnow()):
                    continue
                decisions.append({"deployment_id": deployment_id, **analyse(s, row, settings)})
        except RegistryConflict:
            log.info("canary.analysis_skipped", deployment_id=deployment_id)
    return decisions


def status(session: Session, principal: Principal, deployment_id: str) -> CanaryStatusView:
    """The deployment with its live canary figures and decisions (``models.read``)."""
    require(principal, "models.read")
    row = get_row(session, deployment_id)
    plan = dict(row.plan or {})
    decisions = list(plan.get("decisions") or [])
    running = row.canary_version_id is not None
    stats = arm_stats(session, row, row.step_started_at) if running else {}
    return CanaryStatusView(
        deployment=view(session, row),
        steps=list(plan.get("steps") or []),
        step=int(plan.get("step") or 0),
        analysis=dict(plan.get("analysis") or {}),
        failures=int(plan.get("failures") or 0),
        arms=list(stats.values()),
        verdict=decisions[-1]["verdict"] if decisions else None,
        decisions=list(reversed(decisions)),
    )
