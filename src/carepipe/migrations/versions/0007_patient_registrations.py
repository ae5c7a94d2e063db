"""patient index: registrations (MRNs known from ADT, with or without an ABHA number), merges

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carepipe.core.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_registrations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("assigning_authority", sa.String(length=128), nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into_id", sa.String(length=32), nullable=True),
        sa.Column("demographics_blob", sa.String(length=256), nullable=True),
        sa.Column("last_event", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "tenant",
            "assigning_authority",
            "mrn",
            name="uq_patient_registrations_tenant_authority_mrn",
        ),
    )
    op.create_index(
        "ix_patient_registrations_tenant_mrn", "patient_registrations", ["tenant", "mrn"]
    )


def downgrade() -> None:
    op.drop_index("ix_patient_registrations_tenant_mrn", table_name="patient_registrations")
    op.drop_table("patient_registrations")
