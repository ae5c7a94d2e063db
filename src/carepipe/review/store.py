"""Opening a review when the scribe's review stage holds a job, and the content blobs.

The review stage calls :func:`prepare_review` before its transaction (blob writes are
content-addressed, so a retried stage writes nothing twice) and returns
:func:`open_review_effect` as a stage effect: the review row, its first version and its
items commit with the handoff that leaves the job ``waiting_review``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.engines.asr import Transcript
from carepipe.review.content import UNREAD, Content, draft_items, initial_content
from carepipe.review.models import Review, ReviewItem, ReviewVersion

#: Artifact kinds this package reads (written by the scribe's asr and note stages) and
#: writes (the approved note, read by the scribe's fhir stage in preference to the draft).
TRANSCRIPT_KIND = "transcript"
NOTE_KIND = "soap_note"
APPROVED_NOTE_KIND = "approved_note"


def put_content(blobs: BlobStore, content: Content) -> tuple[str, str]:
    """Store ``content`` encrypted; returns ``(blob key, sha256)``."""
    raw = json.dumps(content.to_dict(), separators=(",", ":"), sort_keys=True).encode()
    return blobs.put(raw), sha256_hex(raw)


def load_content(blobs: BlobStore, key: str) -> Content:
    """The content stored under ``key``."""
    return Content.from_dict(json.loads(blobs.get(key)))


@dataclass(frozen=True)
class PreparedReview:
    """What the review stage computed before its transaction."""

    content_key: str
    content_sha256: str
    items_total: int
    flagged: list[tuple[str, str, float | None]]  # (item id, kind, confidence)
    unflagged: list[tuple[str, str, float | None]]
    min_confidence: float | None


def prepare_review(
    blobs: BlobStore, transcript: dict[str, Any], note: dict[str, Any]
) -> PreparedReview:
    """Version 1's content (the draft, encrypted) and the item summary."""
    t = Transcript.from_dict(transcript)
    content = initial_content(t, note)
    key, digest = put_content(blobs, content)
    items = draft_items(note)
    flagged = [(i.id, i.kind, i.confidence) for i in items if i.flagged]
    others = [(i.id, i.kind, i.confidence) for i in items if not i.flagged]
    confs = [
        i.confidence
        for i in items
        if i.confidence is not None and i.kind not in ("sentence", UNREAD)
    ]
    return PreparedReview(
        content_key=key,
        content_sha256=digest,
        items_total=len(items),
        flagged=flagged,
        unflagged=others,
        min_confidence=round(min(confs), 4) if confs else None,
    )


def open_review_effect(
    prepared: PreparedReview,
    *,
    job_id: str,
    tenant: str,
    priority: int,
    deadline_minutes: int,
    resume_stage: str,
    resume_queue: str,
    resume_max_attempts: int | None,
    transcript_artifact_id: str,
    note_artifact_id: str,
    signals: dict[str, Any],
    model_versions: dict[str, str],
) -> Callable[[Session], None]:
    """The stage effect that opens (or, for a re-run job, re-opens) the job's review."""

    def effect(session: Session) -> None:
        now = utcnow()
        review = session.execute(
            select(Review).where(Review.job_id == job_id).with_for_update()
        ).scalar_one_or_none()
        if review is None:
            review = Review(job_id=job_id, tenant=tenant, version=1, created_at=now)
            session.add(review)
            version = 1
        else:
            # The job ran again (a re-run or a replay) and is held again: a fresh review
            # of the new draft, the history kept.
            version = review.version + 1
            session.execute(delete(ReviewItem).where(ReviewItem.review_id == review.id))
        review.status = "waiting"
        review.version = version
        review.priority = priority
        review.updated_at = now
        review.due_at = now + timedelta(minutes=deadline_minutes)
        review.resume_stage = resume_stage
        review.resume_queue = resume_queue
        review.resume_max_attempts = resume_max_attempts
        review.transcript_artifact_id = transcript_artifact_id
        review.note_artifact_id = note_artifact_id
        review.content_key = prepared.content_key
        review.items_total = prepared.items_total
        review.flagged_total = len(prepared.flagged)
        review.flagged_open = len(prepared.flagged)
        review.min_confidence = prepared.min_confidence
        review.signals = signals
        review.model_versions = model_versions
        review.returned_reason = None
        review.returned_by = None
        review.returned_at = None
        review.approved_by = None
        review.approved_at = None
        review.approved_note_artifact_id = None
        session.flush()
        for flagged, rows in ((True, prepared.flagged), (False, prepared.unflagged)):
            for item_id, kind, conf in rows:
                session.add(
                    ReviewItem(
                        review_id=review.id,
                        item_id=item_id,
                        kind=kind,
                        flagged=flagged,
                        confidence=conf,
                        decision="pending",
                    )
                )
        session.add(
            ReviewVersion(
                review_id=review.id,
                version=version,
                action="opened" if version == 1 else "reopened",
                actor="system:carepipe",
                actor_role="system",
                created_at=now,
                changes={"items": prepared.items_total, "flagged": len(prepared.flagged)},
                content_key=prepared.content_key,
                content_sha256=prepared.content_sha256,
            )
        )

    return effect
