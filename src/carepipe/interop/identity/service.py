"""Patient index service: look up and maintain MRN -> ABHA links.

Functions take the caller's session and never commit: the caller's
transaction also holds the audit event (``carepipe.core.audit``), which the
caller writes from the ``before`` state ``upsert`` returns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.errors import ValidationFailed
from carepipe.interop.identity.abha import normalize_abha
from carepipe.interop.identity.models import NO_AUTHORITY, PatientLink

LINK_SOURCES = ("adt", "api", "console")
_MAX_LIST = 1000


def _text(value: str | None, name: str, max_len: int, *, required: bool = True) -> str:
    # ASCII whitespace only: the API's identifier pattern (core.json_schema) treats any
    # other character, U+00A0 included, as part of the value, and both must agree.
    text = (value or "").strip(" \t\n\r\f\v")
    if required and not text:
        raise ValidationFailed(f"{name} is required")
    if len(text) > max_len:
        raise ValidationFailed(f"{name} longer than {max_len} characters")
    return text


def _authority(value: str | None) -> str:
    return _text(value, "assigning_authority", 128, required=False) or NO_AUTHORITY


def link_snapshot(link: PatientLink) -> dict[str, Any]:
    """The link as a JSON-ready dict (audit ``before``/``after``, API responses)."""
    return {
        "id": link.id,
        "tenant": link.tenant,
        "assigning_authority": link.assigning_authority or None,
        "mrn": link.mrn,
        "abha_number": link.abha_number,
        "fhir_patient_id": link.fhir_patient_id,
        "source": link.source,
        "updated_by": link.updated_by,
        "created_at": link.created_at.isoformat() if link.created_at else None,
        "updated_at": link.updated_at.isoformat() if link.updated_at else None,
    }


def _get(
    session: Session, tenant: str, authority: str, mrn: str, *, for_update: bool = False
) -> PatientLink | None:
    stmt = select(PatientLink).where(
        PatientLink.tenant == tenant,
        PatientLink.assigning_authority == authority,
        PatientLink.mrn == mrn,
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def lookup(
    session: Session,
    tenant: str,
    mrn: str,
    assigning_authority: str | None = None,
    *,
    fallback_to_unscoped: bool = True,
) -> PatientLink | None:
    """The link for an MRN, or ``None``.

    With an assigning authority: the exact (tenant, authority, MRN) link; if
    there is none and ``fallback_to_unscoped``, a link for that MRN stored
    without an authority (e.g. entered in the console). Without an authority:
    the only link with that MRN in the tenant, or ``None`` if there is none or
    several (ambiguous: the caller must not guess a patient).
    """
    tenant = _text(tenant, "tenant", 64)
    mrn = _text(mrn, "mrn", 64)
    authority = (assigning_authority or "").strip()
    if authority:
        link = _get(session, tenant, authority, mrn)
        if link is None and fallback_to_unscoped:
            link = _get(session, tenant, NO_AUTHORITY, mrn)
        return link
    rows = session.scalars(
        select(PatientLink).where(PatientLink.tenant == tenant, PatientLink.mrn == mrn).limit(2)
    ).all()
    return rows[0] if len(rows) == 1 else None


def upsert(
    session: Session,
    *,
    tenant: str,
    mrn: str,
    assigning_authority: str | None,
    abha_number: str,
    fhir_patient_id: str | None = None,
    source: str,
    actor: str,
) -> tuple[PatientLink, dict[str, Any] | None]:
    """Create or update the link for (tenant, assigning authority, MRN).

    Validates and normalizes the ABHA number (``InvalidAbha``) and the other
    fields (``ValidationFailed``). ``fhir_patient_id=None`` keeps the stored
    one. Returns the link (flushed, not committed) and its state before the
    change, or ``None`` if it was created. Safe against a concurrent upsert of
    the same key (the loser updates the winner's row).
    """
    tenant = _text(tenant, "tenant", 64)
    mrn = _text(mrn, "mrn", 64)
    authority = _authority(assigning_authority)
    abha = normalize_abha(abha_number)
    fhir_id = _text(fhir_patient_id, "fhir_patient_id", 64, required=False) or None
    if source not in LINK_SOURCES:
        raise ValidationFailed(f"source must be one of {', '.join(LINK_SOURCES)}")
    actor = _text(actor, "actor", 128)

    link = _get(session, tenant, authority, mrn, for_update=True)
    if link is None:
        now = utcnow()
        candidate = PatientLink(
            tenant=tenant,
            assigning_authority=authority,
            mrn=mrn,
            abha_number=abha,
            fhir_patient_id=fhir_id,
            source=source,
            updated_by=actor,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            # Someone inserted the same key between our SELECT and INSERT.
            link = _get(session, tenant, authority, mrn, for_update=True)
            if link is None:
                raise
        else:
            return candidate, None

    before = link_snapshot(link)
    link.abha_number = abha
    if fhir_id is not None:
        link.fhir_patient_id = fhir_id
    link.source = source
    link.updated_by = actor
    link.updated_at = utcnow()
    session.flush()
    return link, before


def list_links(
    session: Session,
    tenant: str,
    *,
    mrn: str | None = None,
    assigning_authority: str | None = None,
    abha_number: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PatientLink]:
    """Links of a tenant, most recently updated first, optionally filtered.

    ``abha_number`` may be written in any accepted form (it is normalized;
    ``InvalidAbha`` if malformed). ``assigning_authority=""`` selects links
    stored without an authority.
    """
    tenant = _text(tenant, "tenant", 64)
    if not 1 <= limit <= _MAX_LIST:
        raise ValidationFailed(f"limit must be between 1 and {_MAX_LIST}")
    if offset < 0:
        raise ValidationFailed("offset must not be negative")
    stmt = select(PatientLink).where(PatientLink.tenant == tenant)
    if mrn is not None:
        stmt = stmt.where(PatientLink.mrn == mrn.strip())
    if assigning_authority is not None:
        stmt = stmt.where(PatientLink.assigning_authority == assigning_authority.strip())
    if abha_number is not None:
        stmt = stmt.where(PatientLink.abha_number == normalize_abha(abha_number))
    stmt = stmt.order_by(PatientLink.updated_at.desc(), PatientLink.id).limit(limit).offset(offset)
    return list(session.scalars(stmt).all())


def masked_snapshot(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``link_snapshot`` fit for the audit log: MRN dropped, ABHA number masked."""
    if snapshot is None:
        return None
    out = {k: v for k, v in snapshot.items() if k != "mrn"}
    if out.get("abha_number"):
        from carepipe.interop.identity.abha import mask_abha

        out["abha_number"] = mask_abha(str(out["abha_number"]))
    return out
