"""api key rotation (issue 16)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carepipe.core.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("last4", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("last_used_ip", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("request_count", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "api_key_tombstones",
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("secret_sha256"),
    )
    op.create_table(
        "api_key_handovers",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("expires_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("viewed_at", carepipe.core.models.UTCDateTime(), nullable=True),
        sa.Column("viewed_from", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    with op.batch_alter_table("api_key_handovers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_handovers_key_id"), ["key_id"], unique=False)
    # Keys revoked before this migration get their tombstones too.
    op.execute(
        "INSERT INTO api_key_tombstones (secret_sha256, key_id, tenant, revoked_at) "
        "SELECT secret_sha256, id, tenant, COALESCE(revoked_at, created_at) FROM api_keys "
        "WHERE status = 'revoked'"
    )


def downgrade() -> None:
    with op.batch_alter_table("api_key_handovers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_handovers_key_id"))
    op.drop_table("api_key_handovers")
    op.drop_table("api_key_tombstones")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("request_count")
        batch_op.drop_column("last_used_ip")
        batch_op.drop_column("last4")
        batch_op.drop_column("ticket")
