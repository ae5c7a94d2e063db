"""``/v1/reviews``: clinician review of scribe notes (personal token or console session).

The service (:mod:`carepipe.review.service`) checks ``review.read``/``review.approve`` and
the caller's tenant; these routes only parse, call it in one session or transaction, and
render its views. Every change names the version it was made on (``base_version``); a
stale one is ``409 review_conflict``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE, PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.review import service
from carepipe.review.views import ItemEdit, ReviewDetail, ReviewDiff, ReviewPage

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

ReviewId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A review id (32 hex digits).")
]
ItemId = Annotated[
    str, Path(pattern=r"^[a-z0-9_-]{1,64}$", description="A note item id (medication-0...).")
]
Version = Annotated[
    int, Field(ge=1, le=1_000_000, description="The version the change was made on.")
]
Words = Annotated[str, Field(max_length=service.MAX_TRANSCRIPT_CHARS, pattern=PROSE)]
Prose = Annotated[str, Field(max_length=service.MAX_SECTION_CHARS, pattern=PROSE)]
FieldValue = Annotated[str, Field(max_length=500, pattern=PRINTABLE)] | float | None
_FIELD_NAME = r"^[a-z_]{1,32}$"
# Which names an item has depends on its kind (the service refuses others, 422); the
# document says what every name looks like, and that nothing else is a key.
Fields = Annotated[
    dict[Annotated[str, Field(max_length=32, pattern=_FIELD_NAME)], FieldValue],
    Field(
        max_length=16,
        json_schema_extra={
            "propertyNames": {"pattern": _FIELD_NAME, "maxLength": 32},
            "additionalProperties": False,
        },
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemEditIn(_Body):
    """One item edit: new field values, ``remove``, or (no ``item_id``, a ``kind``) a new item."""

    item_id: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9_-]{1,64}$")
    kind: (
        Literal["vital", "lab", "medication", "diagnosis", "allergy", "symptom", "follow_up"] | None
    ) = None
    fields: Fields = Field(default_factory=dict)
    remove: bool = False


class SaveRequest(_Body):
    """A save: the version it was made on and what changed (absent: unchanged)."""

    base_version: Version
    transcript: Words | None = None
    items: list[ItemEditIn] = Field(default_factory=list, max_length=500)
    sections: dict[Literal["subjective", "objective", "assessment", "plan"], Prose] | None = None


class DecideRequest(_Body):
    """Accept, reject or edit (with ``fields``) one note item."""

    decision: Literal["accept", "reject", "edit"]
    base_version: Version
    fields: Fields | None = None


class VersionRequest(_Body):
    base_version: Version


class ReturnRequest(_Body):
    base_version: Version
    reason: str = Field(min_length=1, max_length=service.MAX_REASON_CHARS, pattern=PROSE)


class RestoreRequest(_Body):
    base_version: Version
    version: Version = Field(description="The earlier version whose content becomes current.")


@router.get(
    "",
    operation_id="listReviews",
    response_model=ReviewPage,
    responses=error_responses(400),
)
def list_reviews(
    status: Literal["waiting", "returned", "approved", "open", "all"] = "waiting",
    after: Annotated[str | None, Query(max_length=256, pattern=r"^[A-Za-z0-9_=-]*$")] = None,
    limit: int = Query(50, ge=1, le=service.MAX_PAGE),
    overdue: bool | None = None,
    tenant: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewPage:
    """Notes waiting for review in the caller's tenant, most urgent first (keyset ``after``)."""
    with state.db.session() as s:
        return service.list_reviews(
            s,
            principal,
            status=status,
            after=after,
            limit=limit,
            overdue=overdue,
            tenant=tenant,
            blobs=state.blobs,
        )


@router.get(
    "/{review_id}",
    operation_id="getReview",
    response_model=ReviewDetail,
    responses=error_responses(404),
)
def get_review(
    review_id: ReviewId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Transcript words (times, probability), note items with evidence, sections, versions."""
    with state.db.session() as s:
        return service.get_review(s, state.blobs, principal, review_id)


@router.put(
    "/{review_id}",
    operation_id="saveReview",
    response_model=ReviewDetail,
    responses=error_responses(404, 409, 422),
)
def save_review(
    review_id: ReviewId,
    req: SaveRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Save edits as a new version (``409 review_conflict`` if ``base_version`` is stale)."""
    with state.db.transaction() as s:
        return service.save_review(
            s,
            state.blobs,
            principal,
            review_id,
            base_version=req.base_version,
            transcript=req.transcript,
            items=[ItemEdit.model_validate(i.model_dump()) for i in req.items],
            sections=dict(req.sections) if req.sections is not None else None,
        )


@router.post(
    "/{review_id}/items/{item_id}",
    operation_id="decideReviewItem",
    response_model=ReviewDetail,
    responses=error_responses(404, 409, 422),
)
def decide_item(
    review_id: ReviewId,
    item_id: ItemId,
    req: DecideRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Accept, reject or edit one note item."""
    with state.db.transaction() as s:
        return service.decide_item(
            s,
            state.blobs,
            principal,
            review_id,
            item_id,
            decision=req.decision,
            base_version=req.base_version,
            fields=dict(req.fields) if req.fields else None,
        )


@router.post(
    "/{review_id}/approve",
    operation_id="approveReview",
    response_model=ReviewDetail,
    responses=error_responses(404, 409, 422),
)
def approve(
    review_id: ReviewId,
    req: VersionRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Approve and resume the job (``409 review_flagged`` while flagged items are open)."""
    with state.db.transaction() as s:
        return service.approve(s, state.blobs, principal, review_id, base_version=req.base_version)


@router.post(
    "/{review_id}/return",
    operation_id="returnReview",
    response_model=ReviewDetail,
    responses=error_responses(404, 409, 422),
)
def return_review(
    review_id: ReviewId,
    req: ReturnRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Return the note with a reason; the job keeps waiting."""
    with state.db.transaction() as s:
        return service.return_review(
            s, state.blobs, principal, review_id, reason=req.reason, base_version=req.base_version
        )


@router.post(
    "/{review_id}/restore",
    operation_id="restoreReviewVersion",
    response_model=ReviewDetail,
    responses=error_responses(404, 409),
)
def restore(
    review_id: ReviewId,
    req: RestoreRequest,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDetail:
    """Make an earlier version's content current again (a new version)."""
    with state.db.transaction() as s:
        return service.restore_version(
            s,
            state.blobs,
            principal,
            review_id,
            version=req.version,
            base_version=req.base_version,
        )


@router.get(
    "/{review_id}/diff",
    operation_id="getReviewDiff",
    response_model=ReviewDiff,
    responses=error_responses(404),
)
def diff(
    review_id: ReviewId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ReviewDiff:
    """Draft vs current: the transcript's word diff with WER, item and section changes."""
    with state.db.session() as s:
        return service.review_diff(s, state.blobs, principal, review_id)


_AUDIO: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The consultation recording.",
        "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/{review_id}/audio",
    operation_id="getReviewAudio",
    response_class=Response,
    responses={**_AUDIO, **error_responses(404)},
)
def audio(
    review_id: ReviewId,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """The consultation recording, for the review page's player."""
    with state.db.session() as s:
        data, media = service.review_audio(s, state.blobs, principal, review_id)
    return Response(
        content=data,
        media_type=media,
        headers={"Cache-Control": "private, no-store", "Accept-Ranges": "none"},
    )
