"""encrypted secrets store (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carepipe.core.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=16), nullable=False),
        sa.Column("masked", sa.String(length=16), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version", name="uq_secret_versions_name_version"),
    )
    with op.batch_alter_table("secret_versions", schema=None) as batch_op:
        batch_op.create_index("ix_secret_versions_kek", ["kek_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("secret_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_secret_versions_kek")
    op.drop_table("secret_versions")
