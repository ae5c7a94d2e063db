"""model registry, evaluation, serving and drift (issue 15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:00:03.909661
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import carepipe.core.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ml_drift_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("engine_kind", sa.String(length=16), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("statistic", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column(
            "baseline",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "current",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_drift_events", schema=None) as batch_op:
        batch_op.create_index("ix_ml_drift_events_version", ["version_id", "at"], unique=False)

    op.create_table(
        "ml_incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ml_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ml_report_schedules",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("engine_kind", sa.String(length=16), nullable=False),
        sa.Column("environment", sa.String(length=32), nullable=False),
        sa.Column("every_hours", sa.Float(), nullable=False),
        sa.Column("range_hours", sa.Float(), nullable=False),
        sa.Column("next_run_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("last_report_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ml_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("json_blob_key", sa.String(length=256), nullable=True),
        sa.Column("html_blob_key", sa.String(length=256), nullable=True),
        sa.Column("pdf_blob_key", sa.String(length=256), nullable=True),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_reports", schema=None) as batch_op:
        batch_op.create_index("ix_ml_reports_kind", ["kind", "created_at"], unique=False)

    op.create_table(
        "ml_serving_observations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("rtf", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_serving_observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ml_serving_observations_deployment", ["deployment_id", "at"], unique=False
        )
        batch_op.create_index(
            "ix_ml_serving_observations_version", ["version_id", "at"], unique=False
        )

    op.create_table(
        "ml_model_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("artifact_blob_key", sa.String(length=256), nullable=True),
        sa.Column(
            "artifact_size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "engine_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("code_version", sa.String(length=128), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("stage_changed_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ml_models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "version", name="uq_ml_model_versions_model_version"),
    )
    with op.batch_alter_table("ml_model_versions", schema=None) as batch_op:
        batch_op.create_index("ix_ml_model_versions_stage", ["model_id", "stage"], unique=False)

    op.create_table(
        "ml_aliases",
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ml_models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["ml_model_versions.id"],
        ),
        sa.PrimaryKeyConstraint("model_id", "alias"),
    )
    op.create_table(
        "ml_approvals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("target_stage", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["ml_model_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_approvals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ml_approvals_version", ["version_id", "target_stage"], unique=False
        )

    op.create_table(
        "ml_deployments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("engine_kind", sa.String(length=16), nullable=False),
        sa.Column("environment", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("stable_version_id", sa.String(length=32), nullable=False),
        sa.Column("canary_version_id", sa.String(length=32), nullable=True),
        sa.Column("canary_percent", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("step_started_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column(
            "retired_version_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["canary_version_id"],
            ["ml_model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stable_version_id"],
            ["ml_model_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "engine_kind", "environment", "tenant", name="uq_ml_deployments_target"
        ),
    )
    op.create_table(
        "ml_evaluations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("eval_set", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "slices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("items_blob_key", sa.String(length=256), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["ml_model_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ml_evaluations_version", ["version_id", "created_at"], unique=False
        )

    op.create_table(
        "ml_stage_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "checks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["ml_model_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_stage_changes", schema=None) as batch_op:
        batch_op.create_index("ix_ml_stage_changes_version", ["version_id", "at"], unique=False)

    op.create_table(
        "ml_deployment_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("stable_version_id", sa.String(length=32), nullable=False),
        sa.Column("canary_version_id", sa.String(length=32), nullable=True),
        sa.Column("canary_percent", sa.Integer(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["ml_deployments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ml_deployment_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ml_deployment_events_deployment", ["deployment_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ml_deployment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_deployment_events_deployment")

    op.drop_table("ml_deployment_events")
    with op.batch_alter_table("ml_stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_stage_changes_version")

    op.drop_table("ml_stage_changes")
    with op.batch_alter_table("ml_evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_evaluations_version")

    op.drop_table("ml_evaluations")
    op.drop_table("ml_deployments")
    with op.batch_alter_table("ml_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_approvals_version")

    op.drop_table("ml_approvals")
    op.drop_table("ml_aliases")
    with op.batch_alter_table("ml_model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_model_versions_stage")

    op.drop_table("ml_model_versions")
    with op.batch_alter_table("ml_serving_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_serving_observations_version")
        batch_op.drop_index("ix_ml_serving_observations_deployment")

    op.drop_table("ml_serving_observations")
    with op.batch_alter_table("ml_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_reports_kind")

    op.drop_table("ml_reports")
    op.drop_table("ml_report_schedules")
    op.drop_table("ml_models")
    op.drop_table("ml_incidents")
    with op.batch_alter_table("ml_drift_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_drift_events_version")

    op.drop_table("ml_drift_events")
