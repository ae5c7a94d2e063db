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


class PatientRegistration(Base):
    """An MRN the hospital told us about (ADT), with or without an ABHA number.

    The ABHA link, when known, is a ``PatientLink``; a registration lets a later
    ORU/ORM/SIU/MDM/VXU for the MRN find its patient before the ABHA is known.
    Demographics (name, birth date, sex) are PHI: they live encrypted in the blob
    store (``demographics_blob``), never in this row. An ADT^A40 marks the
    merged-away MRN ``merged`` and points it at the survivor.
    """

    __tablename__ = "patient_registrations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant: Mapped[str] = mapped_column(String(64))
    assigning_authority: Mapped[str] = mapped_column(String(128), default=NO_AUTHORITY)
    mrn: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, merged
    merged_into_id: Mapped[str | None] = mapped_column(String(32))
    demographics_blob: Mapped[str | None] = mapped_column(String(256))
    last_event: Mapped[str | None] = mapped_column(String(16))  # e.g. ADT^A04
    source: Mapped[str] = mapped_column(String(16))  # adt, api, console
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint(
            "tenant",
            "assigning_authority",
            "mrn",
            name="uq_patient_registrations_tenant_authority_mrn",
        ),
        Index("ix_patient_registrations_tenant_mrn", "tenant", "mrn"),
    )

    def __repr__(self) -> str:  # the MRN is PHI
        return f"PatientRegistration(id={self.id!r}, tenant={self.tenant!r})"
