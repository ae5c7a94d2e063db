"""claim index in claim order (priority DESC)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

A worker's claim filters on one queue and orders by ``priority DESC, run_after,
id``. With ``priority`` ascending in ix_tasks_claim, SQLite sorted every ready task
of the queue for each claim (2.6 ms per claim with 12,000 waiting); in claim order
it reads only the rows it takes (0.1 ms).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index(
        "ix_tasks_claim",
        "tasks",
        ["queue", "status", sa.text("priority DESC"), "run_after", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index("ix_tasks_claim", "tasks", ["queue", "status", "priority", "run_after", "id"])
