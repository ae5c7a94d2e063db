"""The patient index table: which ABHA number a hospital's MRN belongs to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, new_id

# An MRN without an assigning authority is stored under this value (not NULL,
# so the unique constraint holds on every database).
NO_AUTHORITY = ""


class PatientLink(Base):
    """One MRN (within a tenant and an assigning authority) linked to an ABHA number."""

    __tablename__ = "patient_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant: Mapped[str] = mapped_column(String(64))
    assigning_authority: Mapped[str] = mapped_column(String(128), default=NO_AUTHORITY)
    mrn: Mapped[str] = mapped_column(String(64))
    abha_number: Mapped[str] = mapped_column(String(14))  # 14 digits, no dashes
    fhir_patient_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # adt, api, console
    updated_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint(
            "tenant", "assigning_authority", "mrn", name="uq_patient_links_tenant_authority_mrn"
        ),
        # Lookups by MRN alone (no authority given) and reverse lookups by ABHA number.
        Index("ix_patient_links_tenant_mrn", "tenant", "mrn"),
        Index("ix_patient_links_tenant_abha", "tenant", "abha_number"),
    )

    def __repr__(self) -> str:  # MRN and ABHA are PHI: keep them out of reprs (and logs)
        return f"PatientLink(id={self.id!r}, tenant={self.tenant!r})"
