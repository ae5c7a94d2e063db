"""Approving a review: the approved note, the correction record, the resumed job.

All of it is written in the caller's transaction: the ``approved_note`` artifact (PHI,
encrypted; the scribe's FHIR stage reads it in preference to the draft), the correction
record (counts in ``review_corrections``, texts encrypted), the review's new state and
version, the audit event, and the job moved on to its next stage
(:func:`carepipe.core.queue.resume_job`). The correction metrics are observed only once
that transaction commits, so a refused or rolled-back approval counts nothing.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.core.errors import ReviewFlagged, ValidationFailed
from carepipe.core.models import Artifact, Job, Message
from carepipe.core.queue import resume_job
from carepipe.review.content import approved_note, draft_items
from carepipe.review.corrections import CorrectionRecord, correction_record, measured_fully
from carepipe.review.detail import load_draft
from carepipe.review.models import Review, ReviewCorrection, ReviewItem
from carepipe.review.store import APPROVED_NOTE_KIND, load_content
from carepipe.review.versions import new_version

#: Attempts for the resumed stage when the pipeline did not say (the queue's default).
DEFAULT_MAX_ATTEMPTS = 5


def _open_flags(session: Session, review: Review) -> list[str]:
    return list(
        session.execute(
            select(ReviewItem.item_id)
            .where(
                ReviewItem.review_id == review.id,
                ReviewItem.flagged.is_(True),
                ReviewItem.decision == "pending",
            )
            .order_by(ReviewItem.item_id)
        ).scalars()
    )


def _raw_audio(session: Session, blobs: BlobStore, job_id: str) -> bytes | None:
    key = session.execute(
        select(Message.blob_key).join(Job, Job.message_id == Message.id).where(Job.id == job_id)
    ).scalar_one_or_none()
    return blobs.get(key) if key else None


def approve_review(
    session: Session, blobs: BlobStore, principal: Principal, review: Review
) -> CorrectionRecord:
    """Approve ``review`` (already checked: permission, scope, version). Returns the record."""
    open_items = _open_flags(session, review)
    if open_items:
        raise ReviewFlagged(
            f"{len(open_items)} flagged item(s) still need a decision (accept, edit or "
            "reject each) before this note can be approved",
            details={"open_items": open_items, "version": review.version},
        )
    transcript, note = load_draft(session, blobs, review)
    content = load_content(blobs, review.content_key)
    content.decisions = {
        r.item_id: {"decision": r.decision, "by": r.decided_by}
        for r in session.execute(
            select(ReviewItem).where(ReviewItem.review_id == review.id)
        ).scalars()
    }
    items = draft_items(note)
    try:
        approved = approved_note(note, content)
    except ValidationError as exc:
        problems = [
            ".".join(str(p) for p in e["loc"]) + ": " + e["msg"][:120]
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise ValidationFailed(
            "the edited note is not valid; correct the items named in details",
            details={"problems": problems[:20]},
        ) from None
    now = utcnow()
    versions = {k: str(v) for k, v in (review.model_versions or {}).items()}
    note_version = versions.get("note") or approved.model_version
    provenance = {
        "review_id": review.id,
        "review_version": review.version + 1,
        "approved_by": principal.id,
        "approved_by_actor": principal.actor,
        "approved_by_name": principal.name or principal.id,
        "approved_at": now.isoformat(),
        "draft_note_artifact_id": review.note_artifact_id,
        "draft_transcript_artifact_id": review.transcript_artifact_id,
        "model_versions": {
            "asr": versions.get("asr") or transcript.model_version,
            "note": note_version,
        },
    }
    body = json.dumps(
        {
            "note": approved.model_dump(mode="json"),
            "transcript": content.transcript,
            "provenance": provenance,
        },
        separators=(",", ":"),
    ).encode()
    artifact = Artifact(
        job_id=review.job_id,
        task_id=None,
        stage="review",
        kind=APPROVED_NOTE_KIND,
        content_type="application/json",
        data=provenance,
        blob_key=blobs.put(body),
        sha256=sha256_hex(body),
        engine="carepipe.review",
        model_version=note_version,
        confidence=None,
        created_at=now,
    )
    session.add(artifact)
    session.flush()

    raw = None if measured_fully(transcript) else _raw_audio(session, blobs, review.job_id)
    dialect = str((review.signals or {}).get("dialect") or "en-IN")
    record = correction_record(
        transcript, items, content, note_model_version=note_version, dialect=dialect, raw_audio=raw
    )
    texts = json.dumps(record.texts, separators=(",", ":")).encode()
    session.add(
        ReviewCorrection(
            review_id=review.id,
            job_id=review.job_id,
            tenant=review.tenant,
            created_at=now,
            wer=record.wer,
            reference_words=record.reference_words,
            substitutions=record.substitutions,
            insertions=record.insertions,
            deletions=record.deletions,
            item_edits={"totals": record.item_edits, "by_kind": record.item_edits_by_kind},
            model_versions=record.model_versions,
            dialect=record.dialect,
            audio=record.audio,
            content_key=blobs.put(texts),
        )
    )

    before = {"status": review.status, "version": review.version}
    review.status = "approved"
    review.approved_by = principal.actor
    review.approved_at = now
    review.approved_note_artifact_id = artifact.id
    new_version(
        session,
        blobs,
        principal,
        review,
        content,
        action="approved",
        changes={"items": record.item_edits, "wer": record.wer},
    )
    job = session.get(Job, review.job_id)
    held: dict[str, Any] = dict(((job.result or {}) if job is not None else {}).get("review") or {})
    held.pop("returned_at", None)
    resume_job(
        session,
        review.job_id,
        stage=review.resume_stage,
        queue=review.resume_queue,
        max_attempts=review.resume_max_attempts or DEFAULT_MAX_ATTEMPTS,
        result={
            "review": {
                **held,
                "status": "approved",
                "approved_by": principal.actor,
                "approved_at": now.isoformat(),
                "version": review.version,
                "edits": record.item_edits,
                "wer": record.wer,
            }
        },
    )
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=review.tenant,
        action="review.approve",
        target_type="review",
        target_id=review.id,
        before=before,
        after={
            "job_id": review.job_id,
            "status": "approved",
            "version": review.version,
            "approved_note_artifact": artifact.id,
            "item_edits": record.item_edits,
            "wer": record.wer,
        },
    )
    _observe_after_commit(session, record)
    return record


def _observe_after_commit(session: Session, record: CorrectionRecord) -> None:
    """Count the correction into the model quality metrics once the approval commits."""

    def observe(_session: Session) -> None:
        from carepipe.observability.model_quality import record_correction

        record_correction(
            model_version=record.model_versions.get("asr") or "",
            dialect=record.dialect,
            wer=record.wer,
            item_edits=record.edits_for_metrics(),
        )

    event.listen(session, "after_commit", observe, once=True)
