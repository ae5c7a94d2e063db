"""Patient registrations: MRNs known from ADT (with or without an ABHA), and merges (A40).

Functions take the caller's session and never commit (the stage handoff commits
them with the job's next task and its audit event).

Lookup order for a message that needs its patient (``find_patient``): the ABHA
link of the MRN (``PatientLink``), else its registration; a merged-away MRN
resolves to the survivor (and the survivor's ABHA link). Nothing found is
``None``: the caller raises ``patient_not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.errors import ValidationFailed
from carepipe.core.tenants import tenant_settings
from carepipe.interop.identity.models import NO_AUTHORITY, PatientLink, PatientRegistration
from carepipe.interop.identity.service import lookup, upsert

_MAX_MERGE_HOPS = 16


def _text(value: str | None, name: str, max_len: int) -> str:
    text = (value or "").strip()
    if len(text) > max_len:
        raise ValidationFailed(f"{name} longer than {max_len} characters")
    return text


def _get(session: Session, tenant: str, authority: str, mrn: str) -> PatientRegistration | None:
    return session.scalars(
        select(PatientRegistration).where(
            PatientRegistration.tenant == tenant,
            PatientRegistration.assigning_authority == authority,
            PatientRegistration.mrn == mrn,
        )
    ).one_or_none()


def _find(
    session: Session, tenant: str, mrn: str, authority: str | None
) -> PatientRegistration | None:
    """Same scoping as ``lookup``: exact authority, else unscoped; no authority: only if unique."""
    authority = (authority or "").strip()
    if authority:
        return _get(session, tenant, authority, mrn) or _get(session, tenant, NO_AUTHORITY, mrn)
    rows = session.scalars(
        select(PatientRegistration)
        .where(PatientRegistration.tenant == tenant, PatientRegistration.mrn == mrn)
        .limit(2)
    ).all()
    return rows[0] if len(rows) == 1 else None


def register(
    session: Session,
    *,
    tenant: str,
    mrn: str,
    assigning_authority: str | None,
    event: str,
    demographics_blob: str | None = None,
    source: str = "adt",
) -> tuple[PatientRegistration, bool]:
    """Create or refresh the registration of an MRN; returns it and whether it was created.

    ``demographics_blob`` (the blob key of the encrypted demographics) replaces
    the stored one when given. A merged registration stays merged.
    """
    tenant = _text(tenant, "tenant", 64)
    mrn = _text(mrn, "mrn", 64)
    if not tenant or not mrn:
        raise ValidationFailed("tenant and mrn are required")
    authority = _text(assigning_authority, "assigning_authority", 128) or NO_AUTHORITY
    now = utcnow()
    row = _get(session, tenant, authority, mrn)
    if row is None:
        candidate = PatientRegistration(
            tenant=tenant,
            assigning_authority=authority,
            mrn=mrn,
            status="active",
            demographics_blob=demographics_blob,
            last_event=event[:16],
            source=source,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            row = _get(session, tenant, authority, mrn)  # a concurrent ADT won the insert
            if row is None:
                raise
        else:
            return candidate, True
    if demographics_blob:
        row.demographics_blob = demographics_blob
    row.last_event = event[:16]
    row.updated_at = now
    session.flush()
    return row, False


@dataclass(frozen=True)
class FoundPatient:
    """Who a message's MRN belongs to (after following merges)."""

    mrn: str  # the surviving MRN
    assigning_authority: str | None
    abha_number: str | None
    fhir_patient_id: str | None
    link_id: str | None
    registration_id: str | None
    merged_from: bool  # the message's MRN was merged into ``mrn``

    def summary(self) -> dict[str, Any]:
        """PHI-free: ids and flags only."""
        return {
            "link_id": self.link_id,
            "registration_id": self.registration_id,
            "has_abha": self.abha_number is not None,
            "merged": self.merged_from,
        }


def find_patient(
    session: Session, tenant: str, mrn: str, assigning_authority: str | None = None
) -> FoundPatient | None:
    """The patient of an MRN: its ABHA link and/or registration, following merges."""
    reg = _find(session, tenant, mrn, assigning_authority)
    merged = False
    hops = 0
    while (
        reg is not None and reg.status == "merged" and reg.merged_into_id and hops < _MAX_MERGE_HOPS
    ):
        nxt = session.get(PatientRegistration, reg.merged_into_id)
        if nxt is None:
            break
        reg, merged, hops = nxt, True, hops + 1
    if reg is not None:
        mrn, authority = reg.mrn, reg.assigning_authority or None
    else:
        authority = assigning_authority
    link = lookup(session, tenant, mrn, authority)
    if link is None and reg is None:
        return None
    return FoundPatient(
        mrn=mrn,
        assigning_authority=(link.assigning_authority if link else authority) or None,
        abha_number=link.abha_number if link else None,
        fhir_patient_id=link.fhir_patient_id if link else None,
        link_id=link.id if link else None,
        registration_id=reg.id if reg else None,
        merged_from=merged,
    )


def merge(
    session: Session,
    *,
    tenant: str,
    survivor_mrn: str,
    survivor_authority: str | None,
    prior_mrn: str,
    prior_authority: str | None,
    actor: str,
    event: str = "ADT^A40",
) -> tuple[PatientRegistration, PatientRegistration, PatientLink | None]:
    """Record that ``prior`` was merged into ``survivor`` (ADT^A40).

    Both are registered if they were not; the prior becomes ``merged`` and points
    at the survivor. If only the prior MRN had an ABHA link, the survivor gets it
    (one person, one ABHA number). Returns (survivor, prior, the survivor's new
    link or None).
    """
    survivor, _ = register(
        session, tenant=tenant, mrn=survivor_mrn, assigning_authority=survivor_authority,
        event=event,
    )  # fmt: skip
    prior, _ = register(
        session, tenant=tenant, mrn=prior_mrn, assigning_authority=prior_authority, event=event
    )
    if prior.id == survivor.id:
        raise ValidationFailed("MRG-1 names the same patient as PID-3")
    prior.status = "merged"
    prior.merged_into_id = survivor.id
    prior.updated_at = utcnow()
    new_link = None
    old = lookup(session, tenant, prior.mrn, prior.assigning_authority or None)
    mine = lookup(session, tenant, survivor.mrn, survivor.assigning_authority or None)
    if old is not None and mine is None:
        new_link, _ = upsert(
            session,
            tenant=tenant,
            mrn=survivor.mrn,
            assigning_authority=survivor.assigning_authority or None,
            abha_number=old.abha_number,
            fhir_patient_id=None,
            source="adt",
            actor=actor,
        )
    session.flush()
    return survivor, prior, new_link


def abha_required(session: Session, tenant: str) -> bool:
    """The tenant's policy: must a patient have an ABHA number before anything reaches the EMR?"""
    return tenant_settings(session, tenant).abha_required
