"""Tables of clinician review: one review per held scribe job, its versions, item decisions,
the correction record of its approval, and which tenant each clinician reviews.

Created by migration 0009. Rows hold references and PHI-free summaries only: the
transcript, note and edits live encrypted in the blob store (``content_key``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType, new_id


class Review(Base):
    """A scribe job held for a clinician (``waiting`` -> ``returned`` | ``approved``).

    ``version`` counts saves (optimistic locking: a save names the version it edited).
    ``resume_stage``/``resume_queue`` say where the job goes on approval (recorded when the
    review stage held it, so this package needs no pipeline registry).
    """

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    version: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    due_at: Mapped[datetime]
    resume_stage: Mapped[str] = mapped_column(String(64))
    resume_queue: Mapped[str] = mapped_column(String(64))
    resume_max_attempts: Mapped[int | None] = mapped_column(Integer)
    transcript_artifact_id: Mapped[str] = mapped_column(String(32))
    note_artifact_id: Mapped[str] = mapped_column(String(32))
    # The current content (transcript, item fields, sections), encrypted in the blob store.
    content_key: Mapped[str] = mapped_column(String(256))
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    flagged_total: Mapped[int] = mapped_column(Integer, default=0)
    flagged_open: Mapped[int] = mapped_column(Integer, default=0)
    min_confidence: Mapped[float | None] = mapped_column(Float)
    # Codes only (ASR quality reasons, note-level flags): nothing from the transcript.
    signals: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    model_versions: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    returned_reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(128))
    returned_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None]
    approved_note_artifact_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_reviews_worklist", "tenant", "status", "priority", "due_at", "id"),
        Index("ix_reviews_status", "status", "priority", "due_at", "id"),
    )


class ReviewVersion(Base):
    """One saved state of a review: who, when, what changed (PHI-free), and the content."""

    __tablename__ = "review_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    content_key: Mapped[str] = mapped_column(String(256))
    content_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("review_id", "version", name="uq_review_versions"),)


class ReviewItem(Base):
    """A note item's review state: flagged or not, and the reviewer's decision."""

    __tablename__ = "review_items"

    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]


class ReviewCorrection(Base):
    """The correction signal of an approval: counts, codes and model versions (no PHI).

    The draft and approved transcripts and the word diff are in the blob store
    (``content_key``), for the dataset export.
    """

    __tablename__ = "review_corrections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id"), unique=True)
    job_id: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    wer: Mapped[float] = mapped_column(Float)
    reference_words: Mapped[int] = mapped_column(Integer)
    substitutions: Mapped[int] = mapped_column(Integer)
    insertions: Mapped[int] = mapped_column(Integer)
    deletions: Mapped[int] = mapped_column(Integer)
    item_edits: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    model_versions: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    dialect: Mapped[str] = mapped_column(String(32))
    audio: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    content_key: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ix_review_corrections_created", "created_at", "id"),)


class ReviewClinician(Base):
    """Which tenant's notes a console user reviews (console users have no tenant)."""

    __tablename__ = "review_clinicians"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
