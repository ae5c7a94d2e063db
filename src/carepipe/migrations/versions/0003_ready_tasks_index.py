"""partial index on ready tasks in claim order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_ready",
        "tasks",
        [sa.text("priority DESC"), "run_after", "id"],
        postgresql_where=sa.text("status = 'ready'"),
        sqlite_where=sa.text("status = 'ready'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_ready", table_name="tasks")
