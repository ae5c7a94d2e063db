"""Who may see which reviews, and the patient as the caller may see it.

Console users carry no tenant, so a clinician's tenant is recorded in
``review_clinicians`` (:func:`carepipe.review.service.assign_clinician`). The scope of
a caller is: the principal's own tenant when it has one (API keys); every tenant for
administrators and the system; otherwise the assigned tenant, and nothing at all for a
user without one. A review outside the scope is answered exactly like a missing one.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobNotFound, BlobStore
from carepipe.core.errors import NotFound
from carepipe.core.models import Job, Message
from carepipe.review.models import Review, ReviewClinician

ALL_TENANTS = None


def tenant_scope(session: Session, principal: Principal) -> frozenset[str] | None:
    """The tenants whose reviews ``principal`` may see; None for all of them."""
    if principal.tenant is not None:
        return frozenset({principal.tenant})
    if "admin" in principal.roles or principal.kind in ("system", "cli"):
        return ALL_TENANTS
    if principal.kind == "user":
        tenant = session.execute(
            select(ReviewClinician.tenant).where(ReviewClinician.username == principal.id)
        ).scalar_one_or_none()
        return frozenset({tenant}) if tenant else frozenset()
    return frozenset()


def visible_review(
    session: Session, principal: Principal, review_id: str, *, lock: bool = False
) -> Review:
    """The review, if ``principal``'s scope covers it; ``NotFound`` otherwise."""
    stmt = select(Review).where(Review.id == review_id)
    if lock:
        stmt = stmt.with_for_update()
    review = session.execute(stmt).scalar_one_or_none()
    scope = tenant_scope(session, principal)
    if review is None or (scope is not None and review.tenant not in scope):
        raise NotFound("no such review")
    return review


def may_see_phi(principal: Principal) -> bool:
    """Clinicians (who approve notes) and PHI readers see who the patient is."""
    return principal.can("review.approve") or principal.can("payload.read_phi")


def _mask(value: str) -> str:
    return "•" * max(3, len(value) - 2) + value[-2:] if len(value) > 2 else "•••"


def patient_label(
    session: Session, blobs: BlobStore, job_id: str, *, reveal: bool
) -> tuple[str | None, bool]:
    """``(label, masked)``: the patient named in the job's context, masked unless ``reveal``."""
    if not reveal:
        return "•••", True
    context = job_context(session, blobs, job_id)
    if not context:
        return None, False
    for key, label in (("patient_id", "Patient"), ("abha", "ABHA"), ("mrn", "MRN")):
        if context.get(key):
            return f"{label} {context[key]}", False
    return None, False


def job_context(session: Session, blobs: BlobStore, job_id: str) -> dict[str, Any] | None:
    """The job's context (PHI, sealed in the blob store) as a dict, or None."""
    meta = session.execute(
        select(Message.meta).join(Job, Job.message_id == Message.id).where(Job.id == job_id)
    ).scalar_one_or_none()
    key = (meta or {}).get("context_blob")
    if not key:
        return None
    try:
        doc = json.loads(blobs.get(str(key)))
    except (BlobNotFound, ValueError):
        return None
    context = doc.get("context") if isinstance(doc, dict) else None
    return context if isinstance(context, dict) else None
