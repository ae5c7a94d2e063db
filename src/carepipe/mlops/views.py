"""Typed views of the model registry: models, versions, aliases, stage history, approvals,
gate checks. The API (``response_model``), the console and the CLI (``--json``) render these.

``mlops`` sits below ``ops`` in the layers, so the base is its own (same contract as
``carepipe.ops.views.View``: frozen, no unknown fields, every field always present).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from carepipe.mlops.models import MlAlias, MlApproval, MlModel, MlModelVersion, MlStageChange


class View(BaseModel):
    """A registry answer: read-only, no unknown fields, every field always present."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)


class CheckView(View):
    """One gate check: its figure against its limit, and what it means."""

    name: str
    passed: bool
    figure: Any = None
    limit: Any = None
    message: str


class VersionView(View):
    """One version of a model: artifact, engine settings, metadata, stage."""

    id: str
    model: str
    kind: str
    version: int
    requested_version: int | None = Field(
        None, description="The number the caller asked for, when it was taken (else null)."
    )
    label: str = Field(description="name@version")
    stage: str
    aliases: list[str]
    format: str
    artifact_sha256: str
    artifact_size: int
    artifact_blob_key: str | None
    source: str
    engine_config: dict[str, Any]
    description: str
    tags: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    dataset_version: str
    code_version: str
    created_at: datetime
    created_by: str
    stage_changed_at: datetime
    revision: int = Field(description="Name it as expected_revision to promote this version.")


class StageChangeView(View):
    from_stage: str
    to_stage: str
    at: datetime
    actor: str
    reason: str
    checks: list[dict[str, Any]]


class ApprovalView(View):
    id: str
    target_stage: str
    kind: str = Field(description="approval or risk_assessment")
    role: str
    actor: str
    at: datetime
    comment: str


class EvaluationPoint(View):
    """One finished evaluation of a version (for its metrics chart)."""

    id: str
    eval_set: str
    status: str
    created_at: datetime
    metrics: dict[str, Any]


class VersionDetail(VersionView):
    """A version with its stage history (newest first), approvals and evaluations."""

    history: list[StageChangeView]
    approvals: list[ApprovalView]
    evaluations: list[EvaluationPoint]


class ModelView(View):
    """A model: its kind, tags, aliases (alias -> version number) and latest figures."""

    id: str
    name: str
    kind: str
    description: str
    tags: dict[str, Any]
    created_at: datetime
    created_by: str
    revision: int = Field(description="Name it as expected_revision to move an alias.")
    aliases: dict[str, int]
    version_count: int
    latest_version: int | None
    production_version: int | None


class ModelDetail(ModelView):
    versions: list[VersionView]


class ModelPage(View):
    items: list[ModelView]
    total: int
    limit: int
    offset: int


class AliasView(View):
    """An alias after a change (``version`` null: deleted)."""

    model: str
    alias: str
    version: int | None
    version_id: str | None
    model_revision: int
    updated_at: datetime
    updated_by: str


class PromotionView(View):
    """A stage change: the version after it, every gate check, and what else moved."""

    version: VersionView
    from_stage: str
    to_stage: str
    checks: list[CheckView]
    forced: bool
    moved: list[str] = Field(description="Other versions moved out of production (name@n).")


def version_view(
    model: MlModel,
    row: MlModelVersion,
    aliases: list[MlAlias],
    *,
    requested: int | None = None,
) -> VersionView:
    return VersionView(
        id=row.id,
        model=model.name,
        kind=model.kind,
        version=row.version,
        requested_version=requested,
        label=f"{model.name}@{row.version}",
        stage=row.stage,
        aliases=sorted(a.alias for a in aliases if a.version_id == row.id),
        format=row.format,
        artifact_sha256=row.artifact_sha256,
        artifact_size=row.artifact_size or 0,
        artifact_blob_key=row.artifact_blob_key,
        source=row.source or "",
        engine_config=dict(row.engine_config or {}),
        description=row.description or "",
        tags=dict(row.tags or {}),
        params=dict(row.params or {}),
        metrics=dict(row.metrics or {}),
        dataset_version=row.dataset_version or "",
        code_version=row.code_version or "",
        created_at=row.created_at,
        created_by=row.created_by,
        stage_changed_at=row.stage_changed_at,
        revision=row.revision,
    )


def stage_change_view(row: MlStageChange) -> StageChangeView:
    return StageChangeView(
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        at=row.at,
        actor=row.actor,
        reason=row.reason or "",
        checks=list(row.checks or []),
    )


def approval_view(row: MlApproval) -> ApprovalView:
    return ApprovalView(
        id=row.id,
        target_stage=row.target_stage,
        kind=row.kind,
        role=row.role,
        actor=row.actor,
        at=row.at,
        comment=row.comment or "",
    )
