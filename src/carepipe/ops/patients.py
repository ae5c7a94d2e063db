"""Patient index services for people and partners: read and map MRN -> ABHA (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.interop.identity.abha import format_abha, mask_abha
from carepipe.interop.identity.service import link_snapshot, lookup, masked_snapshot, upsert


def _tenant(principal: Principal, tenant: str | None) -> str:
    owner = principal.tenant or tenant
    if not owner:
        raise InvalidRequest("tenant is required")
    return owner


def view(link: Any, *, reveal: bool) -> dict[str, Any]:
    return {
        "id": link.id,
        "mrn": link.mrn,
        "assigning_authority": link.assigning_authority or None,
        "abha_number": format_abha(link.abha_number) if reveal else mask_abha(link.abha_number),
        "fhir_patient_id": link.fhir_patient_id,
        "source": link.source,
        "updated_at": link.updated_at.isoformat(),
    }


def get_patient(
    session: Session,
    principal: Principal,
    mrn: str,
    *,
    assigning_authority: str | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """The link for an MRN (ABHA masked unless the caller may read PHI)."""
    require(principal, "patients.read")
    link = lookup(session, _tenant(principal, tenant), mrn, assigning_authority)
    if link is None:
        raise NotFound("no patient index entry for this MRN")
    reveal = principal.kind == "api_key" or principal.can("payload.read_phi")
    return view(link, reveal=reveal)


def map_patient(
    session: Session,
    principal: Principal,
    mrn: str,
    *,
    abha_number: str,
    assigning_authority: str | None = None,
    fhir_patient_id: str | None = None,
    tenant: str | None = None,
    source: str = "api",
    reason: str | None = None,
) -> dict[str, Any]:
    """Create or change the MRN -> ABHA link (``InvalidAbha`` for a malformed number)."""
    require(principal, "patients.map")
    owner = _tenant(principal, tenant)
    link, before = upsert(
        session,
        tenant=owner,
        mrn=mrn,
        assigning_authority=assigning_authority,
        abha_number=abha_number,
        fhir_patient_id=fhir_patient_id,
        source=source,
        actor=principal.actor,
    )
    after = link_snapshot(link)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=owner,
        action="patient.map",
        target_type="patient_link",
        target_id=link.id,
        before=masked_snapshot(before),
        after=masked_snapshot(after),
        reason=reason,
    )
    return {**view(link, reveal=True), "created": before is None}
