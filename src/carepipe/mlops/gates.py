"""Stage gates as data: what a version must show before it enters a stage.

The policy is a pydantic model (:data:`DEFAULT_POLICY`; :func:`load_policy` reads one from a
JSON file). Each check is a small named function returning a :class:`CheckView` with its
figure and limit, so a blocked promotion lists every check, passed or not, and new checks
can be added to the policy without touching the promotion code.

Default policy:

- to ``staging``: the version's latest finished evaluation has ``wer <= 0.30`` (ASR) or
  ``recall >= 0.80`` (notes); and no significant regression against production
  (``metrics["comparison_vs_production"]`` written by the evaluation, verdict not
  "worse" nor "insufficient data"; passes when nothing of the kind is in production).
- to ``production``: an approved risk assessment, one ``compliance`` approval and one
  ``ml_engineer`` approval, each by someone other than the person promoting.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.mlops.models import MlApproval, MlEvaluation, MlModel, MlModelVersion
from carepipe.mlops.views import CheckView

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}
#: Comparison verdicts that do not show "no significant regression".
BLOCKING_VERDICTS = ("worse", "insufficient data")


class MetricLimit(BaseModel):
    """``metric`` of the latest finished evaluation must be ``op`` ``limit``."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    op: Literal["<=", ">="]
    limit: float


class StagePolicy(BaseModel):
    """The checks to enter one stage."""

    model_config = ConfigDict(extra="forbid")
    metric_limits: dict[str, list[MetricLimit]] = Field(
        default_factory=dict, description="Per engine kind."
    )
    no_regression: bool = False
    risk_assessment: bool = False
    approvals: dict[str, int] = Field(default_factory=dict, description="role -> how many")
    approver_not_requester: bool = True


class GatePolicy(BaseModel):
    """Target stage -> its checks; a stage not named has none."""

    model_config = ConfigDict(extra="forbid")
    stages: dict[str, StagePolicy]


DEFAULT_POLICY = GatePolicy(
    stages={
        "staging": StagePolicy(
            metric_limits={
                "asr": [MetricLimit(metric="wer", op="<=", limit=0.30)],
                "note": [MetricLimit(metric="recall", op=">=", limit=0.80)],
            },
            no_regression=True,
        ),
        "production": StagePolicy(
            risk_assessment=True, approvals={"compliance": 1, "ml_engineer": 1}
        ),
    }
)


def load_policy(path: Path | None) -> GatePolicy:
    """The policy in the JSON file ``path`` (the default policy when None)."""
    if path is None:
        return DEFAULT_POLICY
    return GatePolicy.model_validate(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class GateContext:
    """What the checks read: the version, its model, who asks, for which stage."""

    session: Session
    model: MlModel
    version: MlModelVersion
    to_stage: str
    requester: str


def latest_evaluation(session: Session, version_id: str) -> MlEvaluation | None:
    """The newest finished evaluation of a version."""
    return session.execute(
        select(MlEvaluation)
        .where(MlEvaluation.version_id == version_id, MlEvaluation.status == "done")
        .order_by(MlEvaluation.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_metric(ctx: GateContext, rule: MetricLimit) -> CheckView:
    """``rule.metric`` of the latest finished evaluation against its limit."""
    name = f"{rule.metric}_{'max' if rule.op == '<=' else 'min'}"
    limit = f"{rule.op} {rule.limit:g}"
    ev = latest_evaluation(ctx.session, ctx.version.id)
    figure = (ev.metrics or {}).get(rule.metric) if ev else None
    if not isinstance(figure, int | float):
        why = "no finished evaluation" if ev is None else f"evaluation has no {rule.metric}"
        return CheckView(name=name, passed=False, figure=None, limit=limit, message=why)
    passed = _OPS[rule.op](float(figure), rule.limit)
    return CheckView(
        name=name,
        passed=passed,
        figure=figure,
        limit=limit,
        message=f"{rule.metric} {figure:g} on {ev.eval_set if ev else '?'} "
        + ("meets" if passed else "fails")
        + f" {limit}",
    )


def _production_of_kind(ctx: GateContext) -> MlModelVersion | None:
    return ctx.session.execute(
        select(MlModelVersion)
        .join(MlModel, MlModel.id == MlModelVersion.model_id)
        .where(
            MlModel.kind == ctx.model.kind,
            MlModelVersion.stage == "production",
            MlModelVersion.id != ctx.version.id,
        )
        .limit(1)
    ).scalar_one_or_none()


def check_no_regression(ctx: GateContext) -> CheckView:
    """No significant regression against production (the evaluation's comparison)."""
    name, limit = "no_regression_vs_production", "verdict not worse"
    comparison = (ctx.version.metrics or {}).get("comparison_vs_production")
    ev = latest_evaluation(ctx.session, ctx.version.id)
    if ev is not None and "comparison_vs_production" in (ev.metrics or {}):
        comparison = ev.metrics["comparison_vs_production"]
    if not isinstance(comparison, dict):
        if _production_of_kind(ctx) is None:
            return CheckView(
                name=name, passed=True, figure=None, limit=limit,
                message=f"nothing of kind {ctx.model.kind} in production to regress against",
            )  # fmt: skip
        return CheckView(
            name=name, passed=False, figure=None, limit=limit,
            message="no comparison against production: evaluate on the production version's set",
        )  # fmt: skip
    verdict = str(comparison.get("verdict"))
    delta = comparison.get("wer_delta", comparison.get("recall_delta"))
    passed = verdict not in BLOCKING_VERDICTS
    return CheckView(
        name=name,
        passed=passed,
        figure=verdict,
        limit=limit,
        message=f"vs {comparison.get('production_version', 'production')}: {verdict}"
        + (f" (delta {delta:+.4f}, p {comparison.get('p_value')})" if delta is not None else ""),
    )


def _approvals(ctx: GateContext, kind: str) -> list[MlApproval]:
    return list(
        ctx.session.execute(
            select(MlApproval).where(
                MlApproval.version_id == ctx.version.id,
                MlApproval.target_stage == ctx.to_stage,
                MlApproval.kind == kind,
            )
        ).scalars()
    )


def check_risk_assessment(ctx: GateContext) -> CheckView:
    """An approved risk assessment of the version for this stage."""
    rows = _approvals(ctx, "risk_assessment")
    return CheckView(
        name="risk_assessment",
        passed=bool(rows),
        figure=len(rows),
        limit=">= 1",
        message=f"risk assessment by {rows[0].actor}" if rows else "no approved risk assessment",
    )


def check_approvals(ctx: GateContext, role: str, needed: int, not_requester: bool) -> CheckView:
    """``needed`` approvals by people acting as ``role`` (other than the requester)."""
    actors = {
        a.actor
        for a in _approvals(ctx, "approval")
        if a.role == role and not (not_requester and a.actor == ctx.requester)
    }
    passed = len(actors) >= needed
    who = f" ({', '.join(sorted(actors))})" if actors else ""
    other = " other than the requester" if not_requester else ""
    return CheckView(
        name=f"approval_{role}",
        passed=passed,
        figure=len(actors),
        limit=f">= {needed}",
        message=f"{len(actors)} of {needed} {role} approval(s){other}{who}",
    )


def evaluate(policy: GatePolicy, ctx: GateContext) -> list[CheckView]:
    """Every check of the target stage, in policy order (none: the stage has no gate)."""
    stage = policy.stages.get(ctx.to_stage)
    if stage is None:
        return []
    checks = [check_metric(ctx, rule) for rule in stage.metric_limits.get(ctx.model.kind, [])]
    if stage.no_regression:
        checks.append(check_no_regression(ctx))
    if stage.risk_assessment:
        checks.append(check_risk_assessment(ctx))
    checks.extend(
        check_approvals(ctx, role, n, stage.approver_not_requester)
        for role, n in stage.approvals.items()
    )
    return checks
