"""What the review services return (``carepipe.review.service``): the typed views the API,
console and CLI render.

The views carry PHI (transcript words, note text) only in :class:`ReviewDetail` and its
parts, which only holders of ``review.read`` for the review's tenant ever get; the list
rows carry the patient masked unless the caller may see PHI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ReviewStatus = Literal["waiting", "returned", "approved"]
Decision = Literal["pending", "accepted", "rejected", "edited"]
DecisionIn = Literal["accept", "reject", "edit"]
ItemKind = Literal[
    "vital",
    "lab",
    "medication",
    "diagnosis",
    "allergy",
    "symptom",
    "follow_up",
    "sentence",
    "unread",
]


class ReviewView(BaseModel):
    """A review service's answer: read-only, no unknown fields, every field always present.

    The same contract as ``carepipe.ops.views.View`` (this package sits below ``ops``:
    the scribe pipeline creates reviews, so it may not import ``ops``).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
    )

    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields and name not in type(self).model_computed_fields:
            raise KeyError(name)
        return getattr(self, name)


# -- the worklist ------------------------------------------------------------------------------


class ReviewRow(ReviewView):
    """One note in the worklist."""

    id: str
    job_id: str
    tenant: str
    status: ReviewStatus
    priority: int
    created_at: datetime
    due_at: datetime
    overdue: bool
    patient: str | None = Field(description="Who the note is about; masked unless PHI may be seen.")
    patient_masked: bool
    flagged_open: int = Field(description="Flagged items still undecided.")
    flagged_total: int
    items_total: int
    min_confidence: float | None
    asr_suspect: list[str] = Field(description="ASR quality reasons (codes), if any.")
    version: int
    url: str


class ReviewPage(ReviewView):
    """Most urgent first (priority, then due time); pass ``next_cursor`` back as ``after``."""

    items: list[ReviewRow]
    next_cursor: str | None


# -- one review --------------------------------------------------------------------------------


class TranscriptWord(ReviewView):
    """A recognised word: index, times (seconds) and the ASR's probability."""

    i: int
    text: str
    start: float
    end: float
    probability: float
    low: bool = Field(description="Probability under the low-confidence threshold.")


class EvidenceSpan(ReviewView):
    """Where in the draft transcript an item came from (words ``[word_start, word_end)``)."""

    word_start: int
    word_end: int
    start_seconds: float
    end_seconds: float
    text: str


class NoteItem(ReviewView):
    """One item of the note (a vital, a medication with its dose, a sentence...)."""

    id: str
    kind: ItemKind
    display: str
    fields: dict[str, Any]
    draft_fields: dict[str, Any]
    confidence: float | None
    needs_review: bool
    flagged: bool = Field(description="Must be accepted, edited or rejected before approval.")
    reasons: list[str]
    evidence: EvidenceSpan | None
    decision: Decision
    decided_by: str | None
    added: bool = Field(description="Added by a reviewer (not in the draft).")
    removed: bool = Field(description="Removed by a reviewer (rejected or deleted).")


class VersionView(ReviewView):
    """One saved version: who, when, what changed (no PHI in ``changes``)."""

    version: int
    action: str
    actor: str
    at: datetime
    changes: dict[str, Any]


class ReviewDetail(ReviewView):
    """Everything the review page shows."""

    id: str
    job_id: str
    tenant: str
    status: ReviewStatus
    version: int
    priority: int
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    overdue: bool
    patient: str | None
    patient_masked: bool
    audio_seconds: float | None
    language: str | None
    model_versions: dict[str, str]
    asr_suspect: list[str] = Field(description="Why the transcript is suspect (codes).")
    asr_flags: list[str] = Field(description="hallucination_suspected, low_snr (codes).")
    note_flags: list[str]
    unread: list[str] = Field(
        default_factory=list,
        description="Said as an order and not read by the scribe (the words): add what was meant.",
    )
    words: list[TranscriptWord]
    draft_transcript: str
    transcript: str
    transcript_edited: bool
    items: list[NoteItem]
    sections: dict[str, str]
    draft_sections: dict[str, str]
    flagged_open: int
    flagged_total: int
    versions: list[VersionView]
    returned_reason: str | None
    returned_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    can_edit: bool
    can_approve: bool = Field(description="The caller may approve and nothing flagged is open.")


class ItemEdit(BaseModel):
    """An edit of one note item in a save: new field values, removal, or a new item.

    ``item_id`` None with ``kind`` adds an item (its ``fields`` say what it is).
    """

    model_config = ConfigDict(extra="forbid")

    item_id: str | None = Field(None, max_length=64)
    kind: ItemKind | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    remove: bool = False


class DiffOp(ReviewView):
    """One step of a word diff: ``equal``, ``insert``, ``delete`` or ``replace``."""

    op: Literal["equal", "insert", "delete", "replace"]
    a: list[str] = Field(description="Words of the first text (empty for insert).")
    b: list[str] = Field(description="Words of the second text (empty for delete).")
    a_start: int
    b_start: int


class ReviewDiff(ReviewView):
    """Draft vs current: the transcript's word diff and the note's item changes."""

    review_id: str
    version: int
    transcript: list[DiffOp]
    wer: float
    items: dict[str, int] = Field(description="added / removed / changed item counts.")
    sections: dict[str, list[DiffOp]]


# -- the correction signal ---------------------------------------------------------------------


class CorrectionView(ReviewView):
    """The correction record stored when a note is approved (no PHI: counts and codes)."""

    review_id: str
    job_id: str
    tenant: str
    created_at: datetime
    wer: float
    reference_words: int
    substitutions: int
    insertions: int
    deletions: int
    item_edits: dict[str, int]
    item_edits_by_kind: dict[str, dict[str, int]]
    model_versions: dict[str, str]
    dialect: str
    audio: dict[str, float | None]


class ClinicianView(ReviewView):
    """Which tenant's notes a console user reviews."""

    username: str
    tenant: str


class ExportSummary(ReviewView):
    """What ``carepipe reviews export`` wrote."""

    out_dir: str
    dataset_version: str
    records: int
    manifest: str
