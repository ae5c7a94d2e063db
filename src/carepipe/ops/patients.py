"""Patient index services for people and partners: read and map MRN -> ABHA (audited)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.errors import NotFound
from carepipe.interop.identity.abha import format_abha, mask_abha
from carepipe.interop.identity.models import PatientLink
from carepipe.interop.identity.service import link_snapshot, lookup, masked_snapshot, upsert
from carepipe.ops.tenancy import resolve_tenant
from carepipe.ops.views import View


class PatientLinkView(View):
    """An MRN's link in the patient index."""

    id: str
    mrn: str
    assigning_authority: str | None
    abha_number: str = Field(
        description="XX-XXXX-XXXX-XXXX; masked (all but the last 4 digits) unless the caller "
        "may read PHI or is the partner that owns the link."
    )
    fhir_patient_id: str | None
    source: str = Field(description="Who made the link: adt, api or console.")
    updated_at: datetime


class PatientMapped(PatientLinkView):
    """The link after a mapping (the caller just sent the ABHA number: not masked)."""

    created: bool = Field(description="A new link (false: an existing one was changed).")


def _fields(link: PatientLink, *, reveal: bool) -> dict[str, object]:
    return {
        "id": link.id,
        "mrn": link.mrn,
        "assigning_authority": link.assigning_authority or None,
        "abha_number": format_abha(link.abha_number) if reveal else mask_abha(link.abha_number),
        "fhir_patient_id": link.fhir_patient_id,
        "source": link.source,
        "updated_at": link.updated_at,
    }


def view(link: PatientLink, *, reveal: bool) -> PatientLinkView:
    """The link as a caller sees it (ABHA masked unless ``reveal``)."""
    return PatientLinkView.model_validate(_fields(link, reveal=reveal))


def get_patient(
    session: Session,
    principal: Principal,
    mrn: str,
    *,
    assigning_authority: str | None = None,
    tenant: str | None = None,
) -> PatientLinkView:
    """The link for an MRN (ABHA masked unless the caller may read PHI)."""
    require(principal, "patients.read")
    link = lookup(session, resolve_tenant(principal, tenant), mrn, assigning_authority)
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
) -> PatientMapped:
    """Create or change the MRN -> ABHA link (``InvalidAbha`` for a malformed number)."""
    require(principal, "patients.map")
    owner = resolve_tenant(principal, tenant)
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
    return PatientMapped.model_validate({**_fields(link, reveal=True), "created": before is None})
