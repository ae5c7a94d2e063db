"""``/v1/models``: the model registry (register, search, show, aliases, promote, approve).

Staff authentication (personal token or console session, as ``/v1/reviews``). The services
in :mod:`carepipe.mlops.registry` and :mod:`carepipe.mlops.promotion` check permissions and
rules; these routes parse, call them in one session or transaction, and render their views.

A version's artifact is sent in the JSON body as ``artifact_base64`` (a note config, or a
tar of a CTranslate2 Whisper directory), within the API's request size limit
(``CAREPIPE_MAX_PAYLOAD_BYTES``); register larger ones with ``carepipe models register
--artifact PATH`` on a host. A packaged Whisper model is named by ``packaged``, not sent.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest
from carepipe.mlops import gates, promotion, registry
from carepipe.mlops.refs import ALIAS_PATTERN, NAME_PATTERN
from carepipe.mlops.views import (
    AliasView,
    ApprovalView,
    ModelDetail,
    ModelPage,
    ModelView,
    PromotionView,
    VersionDetail,
    VersionView,
)

router = APIRouter(prefix="/v1/models", tags=["models"])

Name = Annotated[str, Path(pattern=NAME_PATTERN, description="A model name.")]
Which = Annotated[
    str,
    Path(
        pattern=r"^(?:[0-9]{1,9}|[a-z][a-z0-9_-]{0,63})$",
        description="A version number or an alias.",
    ),
]
MAX_NUMBER = 2**31 - 1  # versions and revisions are 32-bit integer columns
Alias = Annotated[str, Path(pattern=ALIAS_PATTERN, description="An alias (champion, ...).")]
Revision = Annotated[
    int, Field(ge=1, le=MAX_NUMBER, description="The revision the change is based on.")
]
Stage = Literal["development", "staging", "production", "archived"]
Text = Annotated[str, Field(max_length=2000)]
Meta = Annotated[dict[str, Any], Field(max_length=64)]
TagName = Annotated[str, Field(max_length=64)]
Tags = Annotated[
    dict[TagName, Any],
    Field(max_length=registry.MAX_TAGS, json_schema_extra={"propertyNames": {"maxLength": 64}}),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterModelIn(_Body):
    name: str = Field(pattern=NAME_PATTERN)
    kind: Literal["asr", "note", "ocr", "orders"]
    description: Text = ""
    tags: Tags = Field(default_factory=dict)


class RegisterVersionIn(_Body):
    # A string, not an enum: which formats are valid depends on the model's kind, and a
    # wrong one is answered 422 model_format_invalid with the kind's supported formats.
    format: str = Field(
        max_length=64,
        pattern=r"^[a-z0-9.-]{1,64}$",
        description="asr: ctranslate2-whisper, packaged-whisper; "
        "note: rules-note-config, openai-chat-note-config",
    )
    artifact_base64: str | None = Field(
        None,
        pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        description="The artifact bytes, base64.",
    )
    packaged: str | None = Field(None, max_length=32, description="tiny.en or base")
    engine_config: Meta = Field(default_factory=dict)
    version: int | None = Field(
        None, ge=1, le=MAX_NUMBER, description="Asked for; taken -> the next free."
    )
    description: Text = ""
    tags: Tags = Field(default_factory=dict)
    params: Meta = Field(default_factory=dict)
    metrics: Meta = Field(default_factory=dict)
    dataset_version: str = Field("", max_length=128)
    code_version: str = Field("", max_length=128)


class AliasIn(_Body):
    version: int = Field(ge=1, le=MAX_NUMBER)
    expected_revision: Revision
    reason: Text = ""


class PromoteIn(_Body):
    to_stage: Stage
    expected_revision: Revision
    reason: Text = ""
    force: bool = Field(False, description="Admin only, with a reason: bypass failed gates.")


class ApprovalIn(_Body):
    kind: Literal["approval", "risk_assessment"] = "approval"
    target_stage: Stage = "production"
    role: Literal["compliance", "ml_engineer"] | None = None
    comment: Text = ""


@router.post(
    "",
    operation_id="registerModel",
    response_model=ModelView,
    status_code=201,
    responses=error_responses(400, 403, 409, 422),
)
def register_model(
    req: RegisterModelIn,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ModelView:
    """Register a model: a name and the engine kind its versions serve."""
    with state.db.transaction() as s:
        return registry.register_model(s, principal, **req.model_dump())


@router.post(
    "/{name}/versions",
    operation_id="registerModelVersion",
    response_model=VersionView,
    status_code=201,
    responses=error_responses(400, 403, 404, 422),
)
def register_version(
    name: Name,
    req: RegisterVersionIn,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> VersionView:
    """Register a version (stage development); a taken ``version`` gets the next free one."""
    fields = req.model_dump()
    encoded = fields.pop("artifact_base64")
    try:
        artifact = base64.b64decode(encoded, validate=True) if encoded else None
    except (binascii.Error, ValueError):
        raise InvalidRequest("artifact_base64 is not base64") from None
    with state.db.transaction() as s:
        return registry.register_version(
            s, state.blobs, principal, name, artifact=artifact, **fields
        )


@router.get(
    "",
    operation_id="searchModels",
    response_model=ModelPage,
    responses=error_responses(400, 403),
)
def search_models(
    q: Annotated[str | None, Query(max_length=128, description="Name substring.")] = None,
    kind: Literal["asr", "note", "ocr", "orders"] | None = None,
    stage: Stage | None = None,
    alias: Annotated[str | None, Query(pattern=ALIAS_PATTERN)] = None,
    tag: Annotated[str | None, Query(max_length=200, description="key or key=value")] = None,
    limit: int = Query(50, ge=1, le=registry.MAX_PAGE),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ModelPage:
    """Models by name, kind, a version's stage, an alias or a tag; by name."""
    with state.db.session() as s:
        return registry.search_models(
            s, principal, q=q, kind=kind, stage=stage, alias=alias, tag=tag,
            limit=limit, offset=offset,
        )  # fmt: skip


@router.get(
    "/{name}",
    operation_id="getModel",
    response_model=ModelDetail,
    responses=error_responses(403, 404),
)
def get_model(
    name: Name,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ModelDetail:
    """A model with its versions, newest first, and its aliases."""
    with state.db.session() as s:
        return registry.get_model(s, principal, name)


@router.get(
    "/{name}/versions/{which}",
    operation_id="getModelVersion",
    response_model=VersionDetail,
    responses=error_responses(403, 404),
)
def get_version(
    name: Name,
    which: Which,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> VersionDetail:
    """A version (number or alias) with its stage history, approvals and evaluations."""
    with state.db.session() as s:
        return registry.get_version(s, principal, name, which)


@router.put(
    "/{name}/aliases/{alias}",
    operation_id="setModelAlias",
    response_model=AliasView,
    responses=error_responses(400, 403, 404, 409),
)
def set_alias(
    name: Name,
    alias: Alias,
    req: AliasIn,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> AliasView:
    """Point an alias at a version (``409 registry_conflict`` on a stale revision)."""
    with state.db.transaction() as s:
        return registry.set_alias(
            s, principal, name, alias, version=req.version,
            expected_revision=req.expected_revision, reason=req.reason or None,
        )  # fmt: skip


@router.delete(
    "/{name}/aliases/{alias}",
    operation_id="deleteModelAlias",
    response_model=AliasView,
    responses=error_responses(403, 404, 409),
)
def delete_alias(
    name: Name,
    alias: Alias,
    expected_revision: int = Query(ge=1, le=MAX_NUMBER, description="The model revision you read."),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> AliasView:
    """Remove an alias (``409 registry_conflict`` on a stale revision)."""
    with state.db.transaction() as s:
        return registry.delete_alias(s, principal, name, alias, expected_revision=expected_revision)


@router.post(
    "/{name}/versions/{which}/promote",
    operation_id="promoteModelVersion",
    response_model=PromotionView,
    responses=error_responses(400, 403, 404, 409),
)
def promote(
    name: Name,
    which: Which,
    req: PromoteIn,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> PromotionView:
    """Move a version to a stage through its gates (``409 promotion_blocked`` lists every
    check; ``409 registry_conflict`` when ``expected_revision`` is stale)."""
    with state.db.transaction() as s:
        return promotion.promote(
            s, principal, name, which, to_stage=req.to_stage,
            expected_revision=req.expected_revision, reason=req.reason, force=req.force,
            policy=gates.DEFAULT_POLICY, webhook_url=state.settings.model_webhook_url,
        )  # fmt: skip


@router.post(
    "/{name}/versions/{which}/approvals",
    operation_id="approveModelVersion",
    response_model=ApprovalView,
    status_code=201,
    responses=error_responses(400, 403, 404),
)
def approve(
    name: Name,
    which: Which,
    req: ApprovalIn,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> ApprovalView:
    """Record an approval (compliance or ml_engineer) or a risk assessment (compliance)."""
    with state.db.transaction() as s:
        return promotion.approve(s, principal, name, which, **req.model_dump())
