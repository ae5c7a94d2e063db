"""clinician review of scribe notes (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 17:09:55.585602
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import carepipe.core.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_clinicians",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("due_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("resume_stage", sa.String(length=64), nullable=False),
        sa.Column("resume_queue", sa.String(length=64), nullable=False),
        sa.Column("resume_max_attempts", sa.Integer(), nullable=True),
        sa.Column("transcript_artifact_id", sa.String(length=32), nullable=False),
        sa.Column("note_artifact_id", sa.String(length=32), nullable=False),
        sa.Column("content_key", sa.String(length=256), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("flagged_total", sa.Integer(), nullable=False),
        sa.Column("flagged_open", sa.Integer(), nullable=False),
        sa.Column("min_confidence", sa.Float(), nullable=True),
        sa.Column(
            "signals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "model_versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("returned_reason", sa.Text(), nullable=True),
        sa.Column("returned_by", sa.String(length=128), nullable=True),
        sa.Column("returned_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("approved_note_artifact_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_status", ["status", "priority", "due_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_reviews_worklist", ["tenant", "status", "priority", "due_at", "id"], unique=False
        )

    op.create_table(
        "review_corrections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("wer", sa.Float(), nullable=False),
        sa.Column("reference_words", sa.Integer(), nullable=False),
        sa.Column("substitutions", sa.Integer(), nullable=False),
        sa.Column("insertions", sa.Integer(), nullable=False),
        sa.Column("deletions", sa.Integer(), nullable=False),
        sa.Column(
            "item_edits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "model_versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dialect", sa.String(length=32), nullable=False),
        sa.Column(
            "audio",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_key", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id"),
    )
    with op.batch_alter_table("review_corrections", schema=None) as batch_op:
        batch_op.create_index("ix_review_corrections_created", ["created_at", "id"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.PrimaryKeyConstraint("review_id", "item_id"),
    )
    op.create_table(
        "review_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("actor_role", sa.String(length=64), nullable=True),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_key", sa.String(length=256), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "version", name="uq_review_versions"),
    )


def downgrade() -> None:
    op.drop_table("review_versions")
    op.drop_table("review_items")
    with op.batch_alter_table("review_corrections", schema=None) as batch_op:
        batch_op.drop_index("ix_review_corrections_created")

    op.drop_table("review_corrections")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_worklist")
        batch_op.drop_index("ix_reviews_status")

    op.drop_table("reviews")
    op.drop_table("review_clinicians")
