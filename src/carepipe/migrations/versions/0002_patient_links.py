"""patient index: (tenant, assigning authority, MRN) -> ABHA number and FHIR Patient id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carepipe.core.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("assigning_authority", sa.String(length=128), nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("abha_number", sa.String(length=14), nullable=False),
        sa.Column("fhir_patient_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", carepipe.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "tenant", "assigning_authority", "mrn", name="uq_patient_links_tenant_authority_mrn"
        ),
    )
    op.create_index("ix_patient_links_tenant_mrn", "patient_links", ["tenant", "mrn"])
    op.create_index("ix_patient_links_tenant_abha", "patient_links", ["tenant", "abha_number"])


def downgrade() -> None:
    op.drop_index("ix_patient_links_tenant_abha", table_name="patient_links")
    op.drop_index("ix_patient_links_tenant_mrn", table_name="patient_links")
    op.drop_table("patient_links")
