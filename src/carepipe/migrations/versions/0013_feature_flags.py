"""feature flags (issue 16)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import carepipe.core.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_flag_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("flag_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feature_flag_versions", schema=None) as batch_op:
        batch_op.create_index("ux_flag_versions_key_version", ["flag_key", "version"], unique=True)
    op.create_table(
        "feature_flags",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "flag_evaluation_counts",
        sa.Column("flag_key", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("minute", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("flag_key", "variant", "minute"),
    )
    op.create_table(
        "flag_segments",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "flag_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "job_flag_variants",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("flag_key", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("pipeline", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "flag_key"),
    )
    with op.batch_alter_table("job_flag_variants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_flag_variants_flag_time", ["flag_key", "recorded_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_flag_variants", schema=None) as batch_op:
        batch_op.drop_index("ix_job_flag_variants_flag_time")
    op.drop_table("job_flag_variants")
    op.drop_table("flag_state")
    op.drop_table("flag_segments")
    op.drop_table("flag_evaluation_counts")
    op.drop_table("feature_flags")
    with op.batch_alter_table("feature_flag_versions", schema=None) as batch_op:
        batch_op.drop_index("ux_flag_versions_key_version")
    op.drop_table("feature_flag_versions")
