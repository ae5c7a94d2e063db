"""The review page's data (:class:`ReviewDetail`) from the draft artifacts and the content."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.errors import NotFound
from carepipe.core.models import Artifact
from carepipe.engines.asr import Transcript
from carepipe.review.access import may_see_phi, patient_label
from carepipe.review.content import (
    LOW_WORD_PROBABILITY,
    EvidenceMap,
    display,
    draft_items,
    draft_sections,
    transcript_words,
)
from carepipe.review.models import Review, ReviewItem, ReviewVersion
from carepipe.review.store import load_content
from carepipe.review.views import (
    EvidenceSpan,
    NoteItem,
    ReviewDetail,
    TranscriptWord,
    VersionView,
)


def artifact_json(session: Session, blobs: BlobStore, artifact_id: str) -> Any:
    """The JSON of one artifact (its encrypted content, else its row data)."""
    art = session.get(Artifact, artifact_id)
    if art is None:
        raise NotFound("the review's draft is missing")
    if art.blob_key:
        return json.loads(blobs.get(art.blob_key))
    return art.data


def load_draft(
    session: Session, blobs: BlobStore, review: Review
) -> tuple[Transcript, dict[str, Any]]:
    """The draft transcript and note the review started from."""
    transcript = Transcript.from_dict(artifact_json(session, blobs, review.transcript_artifact_id))
    note = artifact_json(session, blobs, review.note_artifact_id)
    return transcript, note


def build_detail(
    session: Session, blobs: BlobStore, principal: Principal, review: Review
) -> ReviewDetail:
    """Everything the review page shows, for ``principal``."""
    transcript, note = load_draft(session, blobs, review)
    content = load_content(blobs, review.content_key)
    words = transcript_words(transcript)
    evidence = EvidenceMap(note, transcript, words)
    rows = {
        r.item_id: r
        for r in session.execute(
            select(ReviewItem).where(ReviewItem.review_id == review.id)
        ).scalars()
    }
    items: list[NoteItem] = []

    def span_view(span: tuple[int, int] | None) -> EvidenceSpan | None:
        found = evidence.words(span)
        if found is None:
            return None
        first, last = found
        return EvidenceSpan(
            word_start=first,
            word_end=last,
            start_seconds=words[first].start,
            end_seconds=words[last - 1].end,
            text=" ".join(w.text for w in words[first:last]),
        )

    removed = set(content.removed)
    for d in draft_items(note):
        row = rows.get(d.id)
        decision = row.decision if row is not None else "pending"
        fields = content.items.get(d.id, d.fields)
        items.append(
            NoteItem(
                id=d.id,
                kind=d.kind,  # type: ignore[arg-type]
                display=display(d.kind, fields),
                fields=fields,
                draft_fields=d.fields,
                confidence=d.confidence,
                needs_review=d.needs_review,
                # No row: a review opened before this kind of item was tracked (words the
                # scribe could not read, 2026-11-29); approval does not wait for it.
                flagged=row.flagged if row is not None else False,
                reasons=d.reasons,
                evidence=span_view(d.span),
                decision=decision,  # type: ignore[arg-type]
                decided_by=row.decided_by if row is not None else None,
                added=False,
                removed=d.id in removed or decision == "rejected",
            )
        )
    for item_id, kind in content.added.items():
        row = rows.get(item_id)
        fields = content.items.get(item_id, {})
        decision = row.decision if row is not None else "edited"
        items.append(
            NoteItem(
                id=item_id,
                kind=kind,  # type: ignore[arg-type]
                display=display(kind, fields),
                fields=fields,
                draft_fields={},
                confidence=None,
                needs_review=False,
                flagged=False,
                reasons=[],
                evidence=None,
                decision=decision,  # type: ignore[arg-type]
                decided_by=row.decided_by if row is not None else None,
                added=True,
                removed=item_id in removed or decision == "rejected",
            )
        )
    versions = [
        VersionView(
            version=v.version, action=v.action, actor=v.actor, at=v.created_at, changes=v.changes
        )
        for v in session.execute(
            select(ReviewVersion)
            .where(ReviewVersion.review_id == review.id)
            .order_by(ReviewVersion.version.desc())
        ).scalars()
    ]
    patient, masked = patient_label(session, blobs, review.job_id, reveal=may_see_phi(principal))
    now = utcnow()
    signals = review.signals or {}
    editable = review.status != "approved" and principal.can("review.approve")
    flagged_open = sum(1 for r in rows.values() if r.flagged and r.decision == "pending")
    return ReviewDetail(
        id=review.id,
        job_id=review.job_id,
        tenant=review.tenant,
        status=review.status,  # type: ignore[arg-type]
        version=review.version,
        priority=review.priority,
        created_at=review.created_at,
        updated_at=review.updated_at,
        due_at=review.due_at,
        overdue=review.status != "approved" and review.due_at < now,
        patient=patient,
        patient_masked=masked,
        audio_seconds=transcript.audio_seconds,
        language=transcript.language or None,
        model_versions={k: str(v) for k, v in (review.model_versions or {}).items()},
        asr_suspect=list(signals.get("asr_suspect") or []),
        asr_flags=list(signals.get("asr_flags") or []),
        note_flags=list(signals.get("note_flags") or []),
        unread=[str(u.get("text") or "") for u in note.get("unread") or []],
        words=[
            TranscriptWord(
                i=w.i,
                text=w.text,
                start=w.start,
                end=w.end,
                probability=w.probability,
                low=w.probability < LOW_WORD_PROBABILITY,
            )
            for w in words
        ],
        draft_transcript=transcript.text,
        transcript=content.transcript,
        transcript_edited=content.transcript != transcript.text,
        items=items,
        sections=content.sections,
        draft_sections=draft_sections(note),
        flagged_open=flagged_open,
        flagged_total=review.flagged_total,
        versions=versions,
        returned_reason=review.returned_reason,
        returned_by=review.returned_by,
        approved_by=review.approved_by,
        approved_at=review.approved_at,
        can_edit=editable,
        can_approve=editable and flagged_open == 0,
    )
