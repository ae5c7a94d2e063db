"""Promotion: moving a version between stages through its gates, and approvals.

Stages: ``development -> staging -> production``; ``production -> staging`` is a demotion
(no gate); any stage -> ``archived``; ``archived -> staging`` re-qualifies (gated again).

Optimistic locking: the caller names the version's ``revision`` it read
(``expected_revision``) and the change is ``UPDATE ... WHERE id = :id AND revision =
:expected``; the model's revision is bumped the same way from the value read in this
transaction. Of two concurrent promotions of a model exactly one wins; the other gets
``409 registry_conflict`` and nothing of it is written. That is also what keeps one
production version per model: the winner moved the previous one out in its transaction.

A blocked promotion raises ``PromotionBlocked`` with every check in ``details.checks``;
an admin may ``force`` one with a reason (audited as ``model.promote.forced``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import (
    Conflict,
    InvalidRequest,
    PermissionDenied,
    PromotionBlocked,
    RegistryConflict,
)
from carepipe.mlops import gates
from carepipe.mlops.models import STAGES, MlApproval, MlModel, MlModelVersion, MlStageChange
from carepipe.mlops.notify import notify_after_commit
from carepipe.mlops.registry import bump_model, find_version, view_of
from carepipe.mlops.views import ApprovalView, PromotionView, approval_view

#: from stage -> the stages it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "development": ("staging", "archived"),
    "staging": ("production", "archived"),
    "production": ("staging", "archived"),
    "archived": ("staging",),
}
#: Moves that pass through gates (demotions and archiving do not).
GATED = {("development", "staging"), ("archived", "staging"), ("staging", "production")}
#: Where the previous production version goes when another one is promoted.
DISPLACED_TO = "archived"
#: Which role an approval is recorded under, and the permission it needs.
APPROVER_ROLES = {"compliance": "models.approve", "ml_engineer": "models.promote"}
APPROVAL_KINDS = ("approval", "risk_assessment")


def _change_stage(
    session: Session,
    row: MlModelVersion,
    to_stage: str,
    actor: str,
    reason: str,
    checks: list[dict[str, object]],
    expected: int | None,
) -> None:
    """Move ``row`` to ``to_stage`` (only if still at revision ``expected``) + history row."""
    now = utcnow()
    stmt = update(MlModelVersion).where(MlModelVersion.id == row.id)
    if expected is not None:
        stmt = stmt.where(MlModelVersion.revision == expected)
    done = session.execute(
        stmt.values(
            stage=to_stage, stage_changed_at=now, revision=MlModelVersion.revision + 1
        ).execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.refresh(row)
        raise RegistryConflict(
            f"version {row.version} changed since revision {expected} (now {row.revision}, "
            f"stage {row.stage}); read it again",
            details={"expected_revision": expected, "current_revision": row.revision},
        )
    session.add(
        MlStageChange(
            version_id=row.id,
            from_stage=row.stage,
            to_stage=to_stage,
            at=now,
            actor=actor,
            reason=reason,
            checks=checks,
        )
    )
    session.flush()
    session.refresh(row)


def promote(
    session: Session,
    principal: Principal,
    name: str,
    which: str,
    *,
    to_stage: str,
    expected_revision: int,
    reason: str = "",
    force: bool = False,
    policy: gates.GatePolicy = gates.DEFAULT_POLICY,
    webhook_url: str | None = None,
) -> PromotionView:
    """Move version ``which`` (number or alias) of model ``name`` to ``to_stage``
    (``models.promote``), through the policy's gates unless an admin forces it."""
    require(principal, "models.promote")
    if to_stage not in STAGES:
        raise InvalidRequest(f"unknown stage {to_stage!r}", details={"stages": list(STAGES)})
    if force and ("admin" not in principal.roles or not reason.strip()):
        raise PermissionDenied(
            "only an admin may force a promotion, and only with a reason",
            details={"permission": "admin"},
        )
    row = find_version(session, name, which)
    model = session.get(MlModel, row.model_id)
    assert model is not None
    model_revision = model.revision
    if row.revision != expected_revision:
        raise RegistryConflict(
            f"{name}@{row.version} is at revision {row.revision}, not {expected_revision}",
            details={"expected_revision": expected_revision, "current_revision": row.revision},
        )
    from_stage = row.stage
    if to_stage not in TRANSITIONS[from_stage]:
        # The version's current stage forbids this move: a state conflict, not bad input.
        raise Conflict(
            f"{from_stage} -> {to_stage} is not a stage change the registry allows",
            details={"from": from_stage, "allowed": list(TRANSITIONS[from_stage])},
        )
    checks = []
    if (from_stage, to_stage) in GATED:
        ctx = gates.GateContext(session, model, row, to_stage, principal.actor)
        checks = gates.evaluate(policy, ctx)
    failed = [c for c in checks if not c.passed]
    if failed and not force:
        raise PromotionBlocked(
            f"{len(failed)} of {len(checks)} checks failed for {name}@{row.version} -> "
            f"{to_stage}: {', '.join(c.name for c in failed)}",
            details={"checks": [c.model_dump(mode="json") for c in checks]},
        )
    check_rows = [c.model_dump(mode="json") for c in checks]
    bump_model(session, model, model_revision)
    _change_stage(session, row, to_stage, principal.actor, reason, check_rows, expected_revision)
    moved = []
    if to_stage == "production":
        others = session.execute(
            select(MlModelVersion).where(
                MlModelVersion.model_id == model.id,
                MlModelVersion.stage == "production",
                MlModelVersion.id != row.id,
            )
        ).scalars()
        for other in list(others):
            why = f"replaced in production by {name}@{row.version}"
            _change_stage(session, other, DISPLACED_TO, principal.actor, why, [], None)
            moved.append(f"{name}@{other.version}")
    forced = bool(failed) and force
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.promote.forced" if forced else "model.promote",
        target_type="ml_model_version",
        target_id=row.id,
        before={"stage": from_stage},
        after={"stage": to_stage, "moved": moved, "failed_checks": [c.name for c in failed]},
        reason=reason or None,
    )
    notify_after_commit(
        session,
        webhook_url,
        "model.promoted",
        {
            "model": name,
            "version": row.version,
            "version_id": row.id,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "actor": principal.actor,
            "forced": forced,
            "moved": moved,
        },
    )
    return PromotionView(
        version=view_of(session, row),
        from_stage=from_stage,
        to_stage=to_stage,
        checks=checks,
        forced=forced,
        moved=moved,
    )


def _approver_role(principal: Principal, kind: str, role: str | None) -> str:
    """The role an approval is recorded under: asked for, or the caller's first eligible."""
    eligible = [
        r
        for r, perm in APPROVER_ROLES.items()
        if principal.can(perm) and (r in principal.roles or "admin" in principal.roles)
    ]
    if kind == "risk_assessment":
        eligible = [r for r in eligible if r == "compliance"]
    if role is not None:
        if role not in eligible:
            raise PermissionDenied(
                f"you cannot record a {kind} as {role}",
                details={"permission": APPROVER_ROLES.get(role, "models.approve")},
            )
        return role
    if not eligible:
        raise PermissionDenied(
            f"missing permission to record a {kind}", details={"permission": "models.approve"}
        )
    return eligible[0]


def approve(
    session: Session,
    principal: Principal,
    name: str,
    which: str,
    *,
    target_stage: str = "production",
    kind: str = "approval",
    role: str | None = None,
    comment: str = "",
) -> ApprovalView:
    """Record an approval or a risk assessment of a version for ``target_stage``.

    Compliance approvals and risk assessments need ``models.approve``; an ``ml_engineer``
    approval needs ``models.promote``. One per person, role and kind (a repeat returns the
    existing record).
    """
    if kind not in APPROVAL_KINDS:
        raise InvalidRequest(f"unknown approval kind {kind!r}", details={"kinds": APPROVAL_KINDS})
    if target_stage not in STAGES:
        raise InvalidRequest(f"unknown stage {target_stage!r}")
    as_role = _approver_role(principal, kind, role)
    row = find_version(session, name, which)
    existing = session.execute(
        select(MlApproval).where(
            MlApproval.version_id == row.id,
            MlApproval.target_stage == target_stage,
            MlApproval.kind == kind,
            MlApproval.role == as_role,
            MlApproval.actor == principal.actor,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return approval_view(existing)
    approval = MlApproval(
        version_id=row.id,
        target_stage=target_stage,
        kind=kind,
        role=as_role,
        actor=principal.actor,
        at=utcnow(),
        comment=comment,
    )
    session.add(approval)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.approve",
        target_type="ml_model_version",
        target_id=row.id,
        after={"kind": kind, "role": as_role, "target_stage": target_stage},
        reason=comment or None,
    )
    return approval_view(approval)
