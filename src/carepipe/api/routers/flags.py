"""``/v1/flags`` and ``/v1/flag-segments``: feature flags (create, change, kill, roll back,
approve, preview) for staff.

Staff authentication (personal token or console session, as ``/v1/models``). The service
(:mod:`carepipe.flags.service`) checks permissions, four eyes and the optimistic lock and
audits every change; these routes parse, call it in one transaction, and render its views.
A definition that fails its cross-field rules (unknown variant, weights not adding up to
100, unknown segment) is answered ``422`` with the messages in ``details``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE, PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.flags import service
from carepipe.flags.checks import MAX_JUSTIFICATION
from carepipe.flags.definition import KEY_PATTERN, FlagDefinition, Segment
from carepipe.flags.preview import MAX_PREVIEW_SAMPLE, MAX_PREVIEW_TENANTS
from carepipe.flags.views import (
    FlagChange,
    FlagDetail,
    FlagSummary,
    FlagVersionView,
    PreviewRow,
    SegmentView,
)

router = APIRouter(tags=["flags"])

MAX_NUMBER = 2**31 - 1  # versions are 32-bit integer columns
Key = Annotated[str, Path(pattern=KEY_PATTERN, description="A flag key.")]
SegmentKey = Annotated[str, Path(pattern=KEY_PATTERN, description="A segment key.")]
Version = Annotated[int, Field(ge=1, le=MAX_NUMBER)]
# Prose (params.PROSE: no NUL or other control character but tabs and line breaks) with
# at least one character that is not white space: a blank justification is no reason.
_NOT_BLANK = r"[^\s\x00-\x1f\x7f]"
_PROSE_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
Justification = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_JUSTIFICATION,
        pattern=f"^{_PROSE_CHAR}*{_NOT_BLANK}{_PROSE_CHAR}*$",
        description="Why (required on every change; kept in the change log and audit).",
    ),
]
BreakGlass = Annotated[
    bool,
    Field(description="Admin only (flags.break_glass): live at once, without approval."),
]


Tenant = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateFlagIn(_Body):
    key: str = Field(pattern=KEY_PATTERN)
    definition: FlagDefinition
    justification: Justification
    requires_approval: bool = Field(
        False, description="Every later change needs a second person's approval."
    )


class UpdateFlagIn(_Body):
    definition: FlagDefinition
    justification: Justification
    based_on: Version = Field(description="The live version you edited (409 if it moved).")
    break_glass: BreakGlass = False


class KillIn(_Body):
    justification: Justification


class EnableIn(_Body):
    justification: Justification
    break_glass: BreakGlass = False


class RollbackIn(_Body):
    to_version: Version
    justification: Justification
    break_glass: BreakGlass = False


class ApproveIn(_Body):
    version: Version


class RejectIn(_Body):
    version: Version
    justification: Justification


class PreviewIn(_Body):
    definition: FlagDefinition | None = Field(None, description="Null: the live definition.")
    tenants: list[Tenant] | None = Field(
        None, max_length=MAX_PREVIEW_TENANTS, description="Null: every tenant."
    )
    sample: int = Field(1000, ge=1, le=MAX_PREVIEW_SAMPLE)


class SegmentIn(_Body):
    segment: Segment
    description: str = Field("", max_length=MAX_JUSTIFICATION, pattern=PROSE)
    justification: Justification


Principal_ = Annotated[Principal, Depends(staff_principal)]
State = Annotated[AppState, Depends(get_state)]


@router.get(
    "/v1/flags",
    operation_id="listFlags",
    response_model=list[FlagSummary],
    responses=error_responses(403),
)
def list_flags(principal: Principal_, state: State) -> list[FlagSummary]:
    """Every flag by key: live version, on or killed, and whether a change is pending."""
    with state.db.session() as s:
        return service.list_flags(s, principal)


# OpenAPI links: what a client (and a stateful API fuzzer) can do with a new flag's key.
_KEY = {"key": "$response.body#/key"}
_FLAG_LINKS = {
    name: {"operationId": op, "parameters": _KEY}
    for name, op in (
        ("GetFlag", "getFlag"),
        ("ListFlagVersions", "listFlagVersions"),
        ("UpdateFlag", "updateFlag"),
        ("KillFlag", "killFlag"),
        ("EnableFlag", "enableFlag"),
        ("RollbackFlag", "rollbackFlag"),
        ("PreviewFlag", "previewFlag"),
    )
}


@router.post(
    "/v1/flags",
    operation_id="createFlag",
    response_model=FlagChange,
    status_code=201,
    responses={
        201: {"description": "Created: version 1, live", "links": _FLAG_LINKS},
        **error_responses(403, 409, 422),
    },
)
def create_flag(req: CreateFlagIn, principal: Principal_, state: State) -> FlagChange:
    """Create a flag (live at once as version 1)."""
    with state.db.transaction() as s:
        return service.create_flag(
            s, principal, req.key, req.definition, justification=req.justification,
            requires_approval=req.requires_approval,
        )  # fmt: skip


@router.get(
    "/v1/flags/{key}",
    operation_id="getFlag",
    response_model=FlagDetail,
    responses=error_responses(403, 404),
)
def get_flag(key: Key, principal: Principal_, state: State) -> FlagDetail:
    """A flag's live definition and the change waiting for approval, if any."""
    with state.db.session() as s:
        return service.get_flag(s, principal, key)


@router.put(
    "/v1/flags/{key}",
    operation_id="updateFlag",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409, 422),
)
def update_flag(key: Key, req: UpdateFlagIn, principal: Principal_, state: State) -> FlagChange:
    """Change a flag's definition: live, or pending if the flag requires approval."""
    with state.db.transaction() as s:
        return service.update_flag(
            s, principal, key, req.definition, justification=req.justification,
            based_on=req.based_on, break_glass=req.break_glass,
        )  # fmt: skip


@router.get(
    "/v1/flags/{key}/versions",
    operation_id="listFlagVersions",
    response_model=list[FlagVersionView],
    responses=error_responses(403, 404),
)
def change_log(key: Key, principal: Principal_, state: State) -> list[FlagVersionView]:
    """The change log, newest first: requester, approver, justification, diff."""
    with state.db.session() as s:
        return service.change_log(s, principal, key)


@router.post(
    "/v1/flags/{key}/kill",
    operation_id="killFlag",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409, 422),
)
def kill_flag(key: Key, req: KillIn, principal: Principal_, state: State) -> FlagChange:
    """The kill switch: every evaluation gets the default variant (never needs approval)."""
    with state.db.transaction() as s:
        return service.set_enabled(s, principal, key, False, justification=req.justification)


@router.post(
    "/v1/flags/{key}/enable",
    operation_id="enableFlag",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409, 422),
)
def enable_flag(key: Key, req: EnableIn, principal: Principal_, state: State) -> FlagChange:
    """Turn a killed flag back on (pending if the flag requires approval)."""
    with state.db.transaction() as s:
        return service.set_enabled(
            s, principal, key, True, justification=req.justification,
            break_glass=req.break_glass,
        )  # fmt: skip


@router.post(
    "/v1/flags/{key}/rollback",
    operation_id="rollbackFlag",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409, 422),
)
def rollback_flag(key: Key, req: RollbackIn, principal: Principal_, state: State) -> FlagChange:
    """A new version with exactly the definition of ``to_version``."""
    with state.db.transaction() as s:
        return service.rollback_flag(
            s, principal, key, req.to_version, justification=req.justification,
            break_glass=req.break_glass,
        )  # fmt: skip


@router.post(
    "/v1/flags/{key}/approve",
    operation_id="approveFlagChange",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409),
)
def approve(key: Key, req: ApproveIn, principal: Principal_, state: State) -> FlagChange:
    """Approve a pending change (``403 four_eyes_required`` for its own requester)."""
    with state.db.transaction() as s:
        return service.approve_change(s, principal, key, req.version)


@router.post(
    "/v1/flags/{key}/reject",
    operation_id="rejectFlagChange",
    response_model=FlagChange,
    responses=error_responses(403, 404, 409, 422),
)
def reject(key: Key, req: RejectIn, principal: Principal_, state: State) -> FlagChange:
    """Refuse a pending change (or withdraw your own)."""
    with state.db.transaction() as s:
        return service.reject_change(
            s, principal, key, req.version, justification=req.justification
        )


@router.post(
    "/v1/flags/{key}/preview",
    operation_id="previewFlag",
    response_model=list[PreviewRow],
    responses=error_responses(403, 404, 422),
)
def preview(key: Key, req: PreviewIn, principal: Principal_, state: State) -> list[PreviewRow]:
    """Who gets what under a proposed (or the live) definition, per tenant."""
    with state.db.session() as s:
        return service.preview(
            s, principal, key, req.definition, tenants=req.tenants, sample=req.sample
        )


@router.get(
    "/v1/flag-segments",
    operation_id="listFlagSegments",
    response_model=list[SegmentView],
    responses=error_responses(403),
)
def list_segments(principal: Principal_, state: State) -> list[SegmentView]:
    """Every segment, with the flags whose live definition uses it."""
    with state.db.session() as s:
        return service.list_segments(s, principal)


@router.put(
    "/v1/flag-segments/{key}",
    operation_id="putFlagSegment",
    response_model=SegmentView,
    responses=error_responses(403, 422),
)
def put_segment(
    key: SegmentKey, req: SegmentIn, principal: Principal_, state: State
) -> SegmentView:
    """Create or replace a segment (live at once for every flag that names it)."""
    with state.db.transaction() as s:
        return service.put_segment(
            s, principal, key, req.segment, description=req.description,
            justification=req.justification,
        )  # fmt: skip
