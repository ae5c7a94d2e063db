"""maintenance fence and disaster-recovery drills (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 02:34:09.611607
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import carepipe.core.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dr_drills",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("layout", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("rto_target_seconds", sa.Integer(), nullable=False),
        sa.Column("rpo_target_seconds", sa.Integer(), nullable=False),
        sa.Column("rto_seconds", sa.Float(), nullable=True),
        sa.Column("rpo_seconds", sa.Float(), nullable=True),
        sa.Column("fenced_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("standby_ready_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column(
            "timeline",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "smoke",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "missing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dr_drills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_drills_status"), ["status"], unique=False)

    op.create_table(
        "dr_heartbeats",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("drill_id", sa.String(length=36), nullable=False),
        sa.Column("written_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dr_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_heartbeats_drill_id"), ["drill_id"], unique=False)

    op.create_table(
        "maintenance_fence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fenced_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("lifted_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("fenced_by", sa.String(length=128), nullable=False),
        sa.Column("retry_after_seconds", sa.Integer(), nullable=False),
        sa.Column("drill_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dr_findings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("drill_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("closed_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("ticket", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["drill_id"],
            ["dr_drills.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dr_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dr_findings_drill_id"), ["drill_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("dr_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_findings_drill_id"))

    op.drop_table("dr_findings")
    op.drop_table("maintenance_fence")
    with op.batch_alter_table("dr_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_heartbeats_drill_id"))

    op.drop_table("dr_heartbeats")
    with op.batch_alter_table("dr_drills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dr_drills_status"))

    op.drop_table("dr_drills")
