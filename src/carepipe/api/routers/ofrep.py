"""``/ofrep/v1``: the OpenFeature Remote Evaluation Protocol, so any OpenFeature SDK
(JavaScript, Go, Java, Python's ``openfeature-provider-ofrep``) can use CarePipe's flags.

Authentication: a partner API key (evaluates for its own tenant only) or a staff token
with ``flags.read``. Bodies and errors are OFREP's shapes (``carepipe.flags.remote``); a
malformed JSON body is refused before the route runs, in CarePipe's 422 shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from carepipe.api.openapi import ErrorBody
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.flags import remote
from carepipe.flags.definition import KEY_PATTERN
from carepipe.flags.provider import carepipe_provider

router = APIRouter(prefix="/ofrep/v1", tags=["ofrep"])
FLAG_KEY = Path(min_length=1, max_length=64, pattern=KEY_PATTERN)
_SCALAR: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": remote.MAX_STRING},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}


class EvaluationRequest(BaseModel):
    """What the OpenFeature SDK sends: the evaluation context (``targetingKey`` and any
    attributes: ``tenant``, ``role``, ``user``, ``pipeline``, ``environment`` ...)."""

    model_config = ConfigDict(extra="ignore")

    # The limits carepipe.flags.remote checks (answered 400 INVALID_CONTEXT), stated here.
    context: dict[str, Any] = Field(
        default_factory=dict,
        json_schema_extra={
            "maxProperties": remote.MAX_ATTRIBUTES,
            "propertyNames": {"maxLength": remote.MAX_NAME},
            "properties": {"targetingKey": {"type": "string", "maxLength": remote.MAX_STRING}},
            "additionalProperties": {
                "anyOf": [
                    _SCALAR,
                    {"type": "array", "items": _SCALAR, "maxItems": remote.MAX_ATTRIBUTES},
                ]
            },
        },
    )


class EvaluationSuccess(BaseModel):
    """One flag's value for the context, with the variant and OpenFeature's reason."""

    key: str
    value: Any
    reason: str
    variant: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class EvaluationFailure(BaseModel):
    """Why a flag could not be evaluated (``FLAG_NOT_FOUND``, ``INVALID_CONTEXT``,
    ``TARGETING_KEY_MISSING``...)."""

    key: str | None = None
    errorCode: str
    errorDetails: str


# A body that is not JSON at all is refused before the route, in CarePipe's error shape.
Invalid = EvaluationFailure | ErrorBody


class BulkEvaluation(BaseModel):
    """Every flag evaluated for the context."""

    flags: list[EvaluationSuccess | EvaluationFailure]


def _headers(state: AppState, etag: str) -> dict[str, str]:
    # private: the answer depends on who asked (a partner's tenant is pinned).
    return {"ETag": etag, "Cache-Control": f"private, max-age={state.settings.flags_ofrep_max_age}"}


def _failure(error: remote.OfrepError, key: str | None) -> JSONResponse:
    body: dict[str, Any] = {"errorCode": error.code, "errorDetails": error.details}
    if key is not None:
        body["key"] = key
    return JSONResponse(body, status_code=error.status, headers={"Cache-Control": "no-store"})


def _answer(state: AppState, answer: remote.Answer, if_none_match: str | None) -> Response:
    headers = _headers(state, answer.etag)
    if remote.etag_matches(if_none_match, answer.etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(answer.body, headers=headers)


@router.post(
    "/evaluate/flags/{key}",
    response_model=EvaluationSuccess,
    responses={
        304: {"description": "Not modified (If-None-Match named the current ETag)"},
        400: {"model": Invalid, "description": "Invalid context or missing targeting key"},
        404: {"model": EvaluationFailure, "description": "No flag of that key"},
    },
)
async def evaluate_flag(
    body: EvaluationRequest,
    key: str = FLAG_KEY,
    if_none_match: str | None = Header(None, max_length=1024),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """Evaluate one flag for the context."""
    provider = await run_in_threadpool(carepipe_provider, state.db)
    try:
        answer = await run_in_threadpool(
            remote.evaluate_one, provider, principal, key, body.context
        )
    except remote.OfrepError as error:
        return _failure(error, key)
    return _answer(state, answer, if_none_match)


@router.post(
    "/evaluate/flags",
    response_model=BulkEvaluation,
    responses={
        304: {"description": "Not modified (If-None-Match named the current ETag)"},
        400: {"model": Invalid, "description": "Invalid context"},
    },
)
async def evaluate_flags(
    body: EvaluationRequest,
    if_none_match: str | None = Header(None, max_length=1024),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """Evaluate every flag for the context (bulk); 304 while the answer is unchanged."""
    provider = await run_in_threadpool(carepipe_provider, state.db)
    try:
        answer = await run_in_threadpool(remote.evaluate_all, provider, principal, body.context)
    except remote.OfrepError as error:
        return _failure(error, None)
    return _answer(state, answer, if_none_match)
