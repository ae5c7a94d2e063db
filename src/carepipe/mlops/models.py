"""Tables of the model registry, evaluation, serving and drift (issue 15; migration 0010).

Rows hold references, metrics and PHI-free metadata only. Model artifacts (a config, a
CTranslate2 directory packed as a tar) and reports (HTML, PDF) live in the blob store,
content-addressed by sha256; per-item evaluation results are blobs too.

``revision`` columns are optimistic locks: a change names the revision it was based on
and is refused with ``409 registry_conflict`` when another change came first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType, new_id

STAGES = ("development", "staging", "production", "archived")
ENGINE_KINDS = ("asr", "note", "ocr", "orders")


class MlModel(Base):
    """A registered model: a name and the engine kind its versions serve."""

    __tablename__ = "ml_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of ENGINE_KINDS
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    # Bumped by every change to the model, its versions' stages or its aliases.
    revision: Mapped[int] = mapped_column(Integer, default=1)


class MlModelVersion(Base):
    """One version of a model: an artifact (by sha256), the engine settings it runs with,
    its metadata and its stage."""

    __tablename__ = "ml_model_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(ForeignKey("ml_models.id"))
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16), default="development")
    # The engine format (e.g. "ctranslate2-whisper", "packaged-whisper", "rules-note-config",
    # "openai-chat-note-config"); validated at registration (mlops/formats.py).
    format: Mapped[str] = mapped_column(String(64))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    artifact_blob_key: Mapped[str | None] = mapped_column(String(256))
    artifact_size: Mapped[int] = mapped_column(BigId, default=0)
    # Where the artifact came from (a packaged model name, a path, an upload): lineage.
    source: Mapped[str] = mapped_column(Text, default="")
    # Engine settings the version runs with (e.g. {"asr_model": "base", "asr_beam_size": 5}).
    engine_config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # description, tags, hyperparameters, training metrics, dataset and code versions.
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    dataset_version: Mapped[str] = mapped_column(String(128), default="")
    code_version: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    stage_changed_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_ml_model_versions_model_version"),
        Index("ix_ml_model_versions_stage", "model_id", "stage"),
    )


class MlAlias(Base):
    """A named pointer (``champion``, ``challenger``, any name) to one version of a model."""

    __tablename__ = "ml_aliases"

    model_id: Mapped[str] = mapped_column(ForeignKey("ml_models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("ml_model_versions.id"))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class MlStageChange(Base):
    """History of stage changes: who moved which version where, with the gate results."""

    __tablename__ = "ml_stage_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("ml_model_versions.id"))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[Any]] = mapped_column(JsonType, default=list)

    __table_args__ = (Index("ix_ml_stage_changes_version", "version_id", "at"),)


class MlApproval(Base):
    """An approval (or a risk assessment) of a version for a target stage, by one person."""

    __tablename__ = "ml_approvals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(ForeignKey("ml_model_versions.id"))
    target_stage: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))  # "approval" | "risk_assessment"
    role: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_ml_approvals_version", "version_id", "target_stage"),)


class MlEvaluation(Base):
    """An evaluation of a version on a versioned evaluation set, with slice metrics."""

    __tablename__ = "ml_evaluations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(ForeignKey("ml_model_versions.id"))
    eval_set: Mapped[str] = mapped_column(String(128))  # name@version
    status: Mapped[str] = mapped_column(String(16), default="done")
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    slices: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # Per-item results (one row per clip: errors, words, entities) as a JSON blob.
    items_blob_key: Mapped[str | None] = mapped_column(String(256))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_ml_evaluations_version", "version_id", "created_at"),)


class MlReport(Base):
    """A saved report (comparison, performance), shareable by its id; content in blobs."""

    __tablename__ = "ml_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))  # "comparison" | "performance" | "drift"
    title: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    json_blob_key: Mapped[str | None] = mapped_column(String(256))
    html_blob_key: Mapped[str | None] = mapped_column(String(256))
    pdf_blob_key: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_ml_reports_kind", "kind", "created_at"),)


class MlReportSchedule(Base):
    """A recurring performance report of the version deployed for an engine kind."""

    __tablename__ = "ml_report_schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    engine_kind: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str] = mapped_column(String(32), default="production")
    every_hours: Mapped[float] = mapped_column(Float, default=168.0)
    range_hours: Mapped[float] = mapped_column(Float, default=168.0)
    next_run_at: Mapped[datetime]
    last_report_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class MlDeployment(Base):
    """Which version serves an engine kind for a tenant (or all: ``tenant`` "*") in an
    environment; during a canary a second version takes ``canary_percent`` of the jobs."""

    __tablename__ = "ml_deployments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    engine_kind: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str] = mapped_column(String(32), default="production")
    tenant: Mapped[str] = mapped_column(String(64), default="*")
    stable_version_id: Mapped[str] = mapped_column(ForeignKey("ml_model_versions.id"))
    canary_version_id: Mapped[str | None] = mapped_column(ForeignKey("ml_model_versions.id"))
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    # "stable" | "canary" | "paused" (canary held at its share)
    status: Mapped[str] = mapped_column(String(16), default="stable")
    # The canary plan: steps (percents), analysis template (interval, conditions, limit),
    # current step index, failures counted, sticky key ("idempotency_key" | "tenant").
    plan: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    step_started_at: Mapped[datetime | None]
    # Versions replaced and awaiting confirmation before they are decommissioned.
    retired_version_ids: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("engine_kind", "environment", "tenant", name="uq_ml_deployments_target"),
    )


class MlDeploymentEvent(Base):
    """Everything that changed what serves: deploys, canary steps, aborts, rollbacks.

    Answers "what was in production for tenant T at time X" (the newest event at or before X
    of the most specific deployment)."""

    __tablename__ = "ml_deployment_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("ml_deployments.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    stable_version_id: Mapped[str] = mapped_column(String(32))
    canary_version_id: Mapped[str | None] = mapped_column(String(32))
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)

    __table_args__ = (Index("ix_ml_deployment_events_deployment", "deployment_id", "at"),)


class MlServingObservation(Base):
    """One job served by a deployed version (stable or canary arm): the canary analysis,
    the per-version monitoring and the drift checks read these. PHI-free."""

    __tablename__ = "ml_serving_observations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[str] = mapped_column(String(32))
    arm: Mapped[str] = mapped_column(String(8))  # "stable" | "canary"
    job_id: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error_code: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    rtf: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    # Drift features: audio seconds, SNR, speech ratio, dialect, transcript words, entity
    # counts, vocabulary (word-frequency sketch of codes, not text).
    features: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)

    __table_args__ = (
        Index("ix_ml_serving_observations_deployment", "deployment_id", "at"),
        Index("ix_ml_serving_observations_version", "version_id", "at"),
    )


class MlIncident(Base):
    """An incident record opened by a rollback or an aborted canary."""

    __tablename__ = "ml_incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # "rollback" | "canary_aborted" | ...
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")


class MlDriftEvent(Base):
    """A drift check that found marginal or severe drift of one feature."""

    __tablename__ = "ml_drift_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(String(32))
    engine_kind: Mapped[str] = mapped_column(String(16))
    feature: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "input" | "output"
    statistic: Mapped[str] = mapped_column(String(32))  # "ks" | "wasserstein" | "chi2" | "js"
    value: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))  # "marginal" | "severe"
    baseline: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    current: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_ml_drift_events_version", "version_id", "at"),)
