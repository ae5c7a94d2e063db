"""A review's versions: every change is a new version, its content encrypted in the blob
store, its summary (PHI-free) in ``review_versions``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.review.content import Content
from carepipe.review.models import Review, ReviewItem, ReviewVersion
from carepipe.review.store import put_content


def decisions_of(session: Session, review_id: str) -> dict[str, ReviewItem]:
    rows = session.execute(select(ReviewItem).where(ReviewItem.review_id == review_id)).scalars()
    return {r.item_id: r for r in rows}


def refresh_counts(review: Review, decisions: dict[str, ReviewItem]) -> None:
    review.flagged_open = sum(
        1 for d in decisions.values() if d.flagged and d.decision == "pending"
    )


def new_version(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    review: Review,
    content: Content,
    *,
    action: str,
    changes: dict[str, Any],
) -> None:
    """Record ``content`` as the review's next version (decisions snapshotted with it)."""
    decisions = decisions_of(session, review.id)
    content.decisions = {
        k: {"decision": d.decision, "by": d.decided_by} for k, d in decisions.items()
    }
    key, digest = put_content(blobs, content)
    now = utcnow()
    review.version += 1
    review.content_key = key
    review.updated_at = now
    refresh_counts(review, decisions)
    session.add(
        ReviewVersion(
            review_id=review.id,
            version=review.version,
            action=action,
            actor=principal.actor,
            actor_role=principal.role,
            created_at=now,
            changes=changes,
            content_key=key,
            content_sha256=digest,
        )
    )
    session.flush()
