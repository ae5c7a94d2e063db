"""Clinician review of scribe notes: the service the API, console and CLI call.

Every function checks the roles table (``review.read`` to look, ``review.approve`` to
edit, decide, return or approve) and the caller's tenant scope (a review of another
tenant is ``not_found``, like a missing id), and every change writes an audit event in
the caller's transaction. Edits are versions: each names the version it was made on
(``base_version``); a stale one is ``409 review_conflict`` naming the current version and
who saved it, so two reviewers never overwrite each other silently.

Interface notes (beyond COMMON14.md's list, for the console):
- ``assign_clinician(session, principal, *, username, tenant)``: console users have no
  tenant of their own, so which tenant's notes a clinician reviews is recorded here
  (``users.manage``). A clinician without an assignment sees no reviews; admins see
  every tenant; principals that carry a tenant (API keys) are held to it.
- ``list_reviews(..., status=...)`` takes ``waiting``, ``returned``, ``approved``,
  ``open`` (waiting or returned) or ``all``, and an optional ``tenant`` filter.
- ``review_diff(session, blobs, principal, review_id) -> ReviewDiff``.
- ``decide_item(..., decision=...)``: ``accept`` | ``reject`` | ``edit`` (edit needs fields).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ReviewConflict,
    ValidationFailed,
)
from carepipe.core.models import Job, Message
from carepipe.core.queue import note_waiting_result
from carepipe.engines.notes.models import SECTION_NAMES
from carepipe.review.access import (
    may_see_phi,
    patient_label,
    tenant_scope,
    visible_review,
)
from carepipe.review.approval import approve_review
from carepipe.review.content import (
    draft_items,
)
from carepipe.review.corrections import transcript_wer
from carepipe.review.detail import build_detail, load_draft
from carepipe.review.diff import word_diff
from carepipe.review.edits import decide, edit_items
from carepipe.review.models import Review, ReviewClinician, ReviewItem, ReviewVersion
from carepipe.review.store import load_content
from carepipe.review.versions import decisions_of as _decisions
from carepipe.review.versions import new_version
from carepipe.review.views import (
    ClinicianView,
    ItemEdit,
    ReviewDetail,
    ReviewDiff,
    ReviewPage,
    ReviewRow,
)

MAX_PAGE = 200
MAX_TRANSCRIPT_CHARS = 200_000
MAX_SECTION_CHARS = 20_000
MAX_REASON_CHARS = 500
_STATUSES = {
    "waiting": ("waiting",),
    "returned": ("returned",),
    "approved": ("approved",),
    "open": ("waiting", "returned"),
    "all": ("waiting", "returned", "approved"),
}


# -- clinicians ----------------------------------------------------------------------------


def assign_clinician(
    session: Session, principal: Principal, *, username: str, tenant: str
) -> ClinicianView:
    """Let console user ``username`` review ``tenant``'s notes (``users.manage``; audited)."""
    require(principal, "users.manage")
    username, tenant = username.strip().lower(), tenant.strip()
    if not username or not tenant or len(username) > 64 or len(tenant) > 64:
        raise InvalidRequest("a username and a tenant (each 1-64 characters) are required")
    row = session.get(ReviewClinician, username)
    before = {"tenant": row.tenant} if row is not None else None
    if row is None:
        row = ReviewClinician(
            username=username, tenant=tenant, created_by=principal.actor, created_at=utcnow()
        )
        session.add(row)
    else:
        row.tenant = tenant
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=tenant,
        action="review.assign_clinician",
        target_type="user",
        target_id=username,
        before=before,
        after={"tenant": tenant},
    )
    return ClinicianView(username=username, tenant=tenant)


# -- the worklist --------------------------------------------------------------------------


def _encode_cursor(r: Review) -> str:
    raw = f"{r.priority}|{r.due_at.isoformat()}|{r.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, datetime, str]:
    try:
        p, due, rid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 2)
        return int(p), datetime.fromisoformat(due), rid
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor") from None


def list_reviews(
    session: Session,
    principal: Principal,
    *,
    status: str = "waiting",
    after: str | None = None,
    limit: int = 50,
    overdue: bool | None = None,
    tenant: str | None = None,
    blobs: BlobStore | None = None,
) -> ReviewPage:
    """The worklist (``review.read``): highest priority first, then the earliest deadline.

    Keyset-paged on ``(priority, due_at, id)``: pass ``next_cursor`` back as ``after``.
    ``overdue`` True keeps notes past their deadline (False: not yet due). The patient is
    shown only with ``blobs`` (the context is sealed there) and to callers who may see PHI.
    """
    require(principal, "review.read")
    if status not in _STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(_STATUSES)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    scope = tenant_scope(session, principal)
    stmt = select(Review).where(Review.status.in_(_STATUSES[status]))
    if scope is not None:
        stmt = stmt.where(Review.tenant.in_(sorted(scope)))
    if tenant:
        stmt = stmt.where(Review.tenant == tenant)
    now = utcnow()
    if overdue is True:
        stmt = stmt.where(Review.due_at < now, Review.status != "approved")
    elif overdue is False:
        stmt = stmt.where(or_(Review.due_at >= now, Review.status == "approved"))
    if after:
        p, due, rid = _decode_cursor(after)
        stmt = stmt.where(
            or_(
                Review.priority < p,
                and_(
                    Review.priority == p,
                    or_(Review.due_at > due, and_(Review.due_at == due, Review.id > rid)),
                ),
            )
        )
    stmt = stmt.order_by(Review.priority.desc(), Review.due_at, Review.id).limit(limit + 1)
    rows = list(session.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    reveal = may_see_phi(principal) and blobs is not None
    items = []
    for r in rows:
        if blobs is not None:
            patient, masked = patient_label(session, blobs, r.job_id, reveal=reveal)
        else:
            patient, masked = "•••", True
        items.append(
            ReviewRow(
                id=r.id,
                job_id=r.job_id,
                tenant=r.tenant,
                status=r.status,  # type: ignore[arg-type]
                priority=r.priority,
                created_at=r.created_at,
                due_at=r.due_at,
                overdue=r.status != "approved" and r.due_at < now,
                patient=patient,
                patient_masked=masked,
                flagged_open=r.flagged_open,
                flagged_total=r.flagged_total,
                items_total=r.items_total,
                min_confidence=r.min_confidence,
                asr_suspect=list((r.signals or {}).get("asr_suspect") or []),
                version=r.version,
                url=f"/v1/reviews/{r.id}",
            )
        )
    return ReviewPage(items=items, next_cursor=_encode_cursor(rows[-1]) if more and rows else None)


# -- one review ----------------------------------------------------------------------------


def get_review(
    session: Session, blobs: BlobStore, principal: Principal, review_id: str
) -> ReviewDetail:
    """One review: transcript words (times, probability, low flag), note items with their
    evidence span and decision, SOAP sections, versions, status and version number."""
    require(principal, "review.read")
    review = visible_review(session, principal, review_id)
    return build_detail(session, blobs, principal, review)


def _check_editable(review: Review, base_version: int, session: Session) -> None:
    if review.status == "approved":
        raise Conflict(
            f"review {review.id} was approved by {review.approved_by}; it can no longer change",
            details={"status": review.status, "version": review.version},
        )
    if base_version != review.version:
        last = session.execute(
            select(ReviewVersion.actor, ReviewVersion.created_at)
            .where(ReviewVersion.review_id == review.id, ReviewVersion.version == review.version)
            .limit(1)
        ).first()
        who = last[0] if last else "someone"
        when = last[1].isoformat() if last else None
        raise ReviewConflict(
            f"review {review.id} is at version {review.version} (saved by {who}), not "
            f"{base_version}: nothing was saved; reload it, then make your change again",
            details={
                "current_version": review.version,
                "base_version": base_version,
                "saved_by": who,
                "saved_at": when,
            },
        )


def _audit(
    session: Session,
    principal: Principal,
    review: Review,
    action: str,
    after: dict[str, Any],
    *,
    before: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=review.tenant,
        action=action,
        target_type="review",
        target_id=review.id,
        before=before,
        after={"job_id": review.job_id, **after},
        reason=reason,
    )


def save_review(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    review_id: str,
    *,
    base_version: int,
    transcript: str | None,
    items: list[ItemEdit],
    sections: dict[str, str] | None,
) -> ReviewDetail:
    """Save edits of the transcript, note items and sections as a new version.

    ``409 review_conflict`` when ``base_version`` is not the current version (someone else
    saved in between): nothing is written. A save that changes nothing adds no version.
    """
    require(principal, "review.approve")
    review = visible_review(session, principal, review_id, lock=True)
    _check_editable(review, base_version, session)
    _transcript, note = load_draft(session, blobs, review)
    content = load_content(blobs, review.content_key)
    changes: dict[str, Any] = {}
    if transcript is not None and transcript != content.transcript:
        if len(transcript) > MAX_TRANSCRIPT_CHARS:
            raise ValidationFailed(f"transcript over {MAX_TRANSCRIPT_CHARS} characters")
        diff = word_diff(content.transcript, transcript)
        changes["transcript"] = {
            "words_changed": sum(max(len(d.a), len(d.b)) for d in diff if d.op != "equal")
        }
        content.transcript = transcript
    edited = edit_items(session, principal, review, note, content, items)
    changes.update({k: v for k, v in edited.items() if v})
    for name, text in (sections or {}).items():
        if name not in SECTION_NAMES:
            raise ValidationFailed(f"unknown section {name!r}: {', '.join(SECTION_NAMES)}")
        if len(text) > MAX_SECTION_CHARS:
            raise ValidationFailed(f"section {name} over {MAX_SECTION_CHARS} characters")
        if text != content.sections.get(name):
            content.sections[name] = text
            changes.setdefault("sections", []).append(name)
    if changes:
        new_version(session, blobs, principal, review, content, action="saved", changes=changes)
        _audit(session, principal, review, "review.save", {"version": review.version, **changes})
    return build_detail(session, blobs, principal, review)


_DECISIONS = {"accept": "accepted", "reject": "rejected", "edit": "edited"}


def decide_item(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    review_id: str,
    item_id: str,
    *,
    decision: str,
    base_version: int,
    fields: dict[str, object] | None = None,
) -> ReviewDetail:
    """Accept, reject or edit (with ``fields``) one note item, as a new version."""
    require(principal, "review.approve")
    if decision not in _DECISIONS:
        raise ValidationFailed("decision must be accept, reject or edit")
    if decision == "edit" and not fields:
        raise ValidationFailed("an edit needs the item's new fields")
    review = visible_review(session, principal, review_id, lock=True)
    _check_editable(review, base_version, session)
    _transcript, note = load_draft(session, blobs, review)
    content = load_content(blobs, review.content_key)
    row = session.get(ReviewItem, (review.id, item_id))
    if row is None:
        # A draft item with no row belongs to a review opened before its kind was tracked:
        # it can be decided all the same (approval never waited for it).
        draft = next((d for d in draft_items(note) if d.id == item_id), None)
        if draft is None:
            raise NotFound(f"review {review.id} has no item {item_id}")
        row = ReviewItem(review_id=review.id, item_id=item_id, kind=draft.kind, flagged=False)
        session.add(row)
    before = {"item": item_id, "decision": row.decision}
    changes: dict[str, Any] = {"item": item_id, "decision": _DECISIONS[decision]}
    if decision == "edit":
        edited = edit_items(
            session, principal, review, note, content, [ItemEdit(item_id=item_id, fields=fields)]
        )
        changes["fields"] = sorted((fields or {}).keys()) if edited["changed"] else []
    if item_id in content.removed and decision != "reject":
        content.removed.remove(item_id)
    decide(row, _DECISIONS[decision], principal)
    new_version(session, blobs, principal, review, content, action="decided", changes=changes)
    _audit(
        session,
        principal,
        review,
        "review.decide",
        {"version": review.version, **changes},
        before=before,
    )
    return build_detail(session, blobs, principal, review)


def approve(
    session: Session, blobs: BlobStore, principal: Principal, review_id: str, *, base_version: int
) -> ReviewDetail:
    """Approve the note (``review.approve``) and resume the job.

    ``409 review_flagged`` while flagged items are undecided (one click when none are).
    Stores the approved note (the FHIR stage uses it instead of the draft, with a
    Provenance), the correction record, and queues the job's next stage, all in the
    caller's transaction; the correction metrics are observed once it commits.
    """
    require(principal, "review.approve")
    review = visible_review(session, principal, review_id, lock=True)
    _check_editable(review, base_version, session)
    approve_review(session, blobs, principal, review)
    return build_detail(session, blobs, principal, review)


def return_review(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    review_id: str,
    *,
    reason: str,
    base_version: int,
) -> ReviewDetail:
    """Return the note with a reason instead of approving it: the job keeps waiting, the
    reason is recorded on the review, in its history and in the audit log."""
    require(principal, "review.approve")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("a reason is required to return a note")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed(f"the reason is over {MAX_REASON_CHARS} characters")
    review = visible_review(session, principal, review_id, lock=True)
    _check_editable(review, base_version, session)
    before = {"status": review.status}
    now = utcnow()
    review.status = "returned"
    review.returned_reason = reason
    review.returned_by = principal.actor
    review.returned_at = now
    content = load_content(blobs, review.content_key)
    new_version(
        session, blobs, principal, review, content, action="returned", changes={"reason": True}
    )
    job = session.get(Job, review.job_id)
    held = dict(((job.result or {}) if job is not None else {}).get("review") or {})
    note_waiting_result(
        session,
        review.job_id,
        {"review": {**held, "status": "returned", "returned_at": now.isoformat()}},
    )
    _audit(
        session,
        principal,
        review,
        "review.return",
        {"status": "returned", "version": review.version},
        before=before,
        reason=reason,
    )
    return build_detail(session, blobs, principal, review)


def restore_version(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    review_id: str,
    *,
    version: int,
    base_version: int,
) -> ReviewDetail:
    """Make an earlier version's content (and decisions) current again, as a new version."""
    require(principal, "review.approve")
    review = visible_review(session, principal, review_id, lock=True)
    _check_editable(review, base_version, session)
    old = session.execute(
        select(ReviewVersion).where(
            ReviewVersion.review_id == review.id, ReviewVersion.version == version
        )
    ).scalar_one_or_none()
    if old is None:
        raise NotFound(f"review {review.id} has no version {version}")
    content = load_content(blobs, old.content_key)
    decisions = _decisions(session, review.id)
    for item_id, row in decisions.items():
        if item_id in content.added or item_id in content.decisions:
            past = content.decisions.get(item_id) or {"decision": "edited", "by": None}
            row.decision = past.get("decision") or "pending"
            row.decided_by = past.get("by")
        else:  # an item added after that version: gone again
            session.delete(row)
    for item_id, kind in content.added.items():
        if item_id not in decisions:
            row = ReviewItem(review_id=review.id, item_id=item_id, kind=kind, flagged=False)
            decide(row, "edited", principal)
            session.add(row)
    session.flush()
    new_version(
        session,
        blobs,
        principal,
        review,
        content,
        action="restored",
        changes={"restored_from": version},
    )
    _audit(
        session,
        principal,
        review,
        "review.restore",
        {"version": review.version, "restored_from": version},
    )
    return build_detail(session, blobs, principal, review)


def review_audio(
    session: Session, blobs: BlobStore, principal: Principal, review_id: str
) -> tuple[bytes, str]:
    """The consultation audio and its media type (``review.read``, the caller's tenant)."""
    require(principal, "review.read")
    review = visible_review(session, principal, review_id)
    msg = session.execute(
        select(Message).join(Job, Job.message_id == Message.id).where(Job.id == review.job_id)
    ).scalar_one_or_none()
    if msg is None:
        raise NotFound("the job has no archived recording")
    media = msg.kind.split(";", 1)[0].strip() or "application/octet-stream"
    return blobs.get(msg.blob_key), media


def review_diff(
    session: Session, blobs: BlobStore, principal: Principal, review_id: str
) -> ReviewDiff:
    """Draft vs current: the transcript's word diff and WER, item and section changes."""
    from carepipe.review.content import draft_sections, item_edit_counts

    require(principal, "review.read")
    review = visible_review(session, principal, review_id)
    transcript, note = load_draft(session, blobs, review)
    content = load_content(blobs, review.content_key)
    content.decisions = {
        k: {"decision": d.decision} for k, d in _decisions(session, review.id).items()
    }
    wer = transcript_wer(
        transcript.text, content.transcript, draft_normalised=content.draft_normalised
    )[0]
    totals, _ = item_edit_counts(draft_items(note), content)
    drafts = draft_sections(note)
    return ReviewDiff(
        review_id=review.id,
        version=review.version,
        transcript=word_diff(transcript.text, content.transcript),
        wer=round(wer, 4),
        items=totals,
        sections={
            name: word_diff(drafts.get(name, ""), content.sections.get(name, ""))
            for name in SECTION_NAMES
            if drafts.get(name, "") != content.sections.get(name, drafts.get(name, ""))
        },
    )
