"""``/v1/jobs``: submit, show, list, artifacts, bundle."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepipe.api.auth import api_key_principal
from carepipe.api.intake import archive_refusal, read_intake_body
from carepipe.api.openapi import STORABLE_JSON_MARK, error_responses
from carepipe.api.params import AwareTime
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError, UnsupportedMediaType, ValidationFailed
from carepipe.core.json_schema import omit_null
from carepipe.core.storable_json import loads_storable
from carepipe.ops import jobs as jobs_service
from carepipe.ops.views import View
from carepipe.pipelines.patient_context import PatientContext

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

Priority = Literal["low", "normal", "high", "urgent"]
# Printable text: a NUL or control character is never part of these, and PostgreSQL
# cannot store a NUL in a text column.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The job id (32 hex digits).")


class SubmitFields(BaseModel):
    """What every submission says besides its payload (JSON body or multipart fields)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    pipeline: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$", examples=["orders"]
    )
    priority: Priority = "normal"
    idempotency_key: str | None = Field(None, min_length=1, max_length=256, pattern=PRINTABLE)
    filename: str | None = Field(None, min_length=1, max_length=256, pattern=PRINTABLE)
    context: PatientContext | None = Field(
        None,
        description="The patient the payload is about. Without it the bundle names a "
        "stand-in patient and is not pushed to the EMR unless the tenant allows it.",
    )


class JobRequest(SubmitFields):
    """Inline submission. Exactly one of ``payload`` (any JSON but null) or ``payload_base64``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["payload"],
                    "properties": {"payload": {"not": {"type": "null"}}, "payload_base64": False},
                },
                {
                    "required": ["payload_base64"],
                    "properties": {"payload": False, "payload_base64": {"type": "string"}},
                },
            ]
        },
    )

    payload: Any = Field(None, json_schema_extra={STORABLE_JSON_MARK: True})
    payload_base64: str | None = Field(
        None,
        pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        json_schema_extra={"contentEncoding": "base64"},
    )
    content_type: str | None = Field(
        None, max_length=128, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$"
    )

    @model_validator(mode="after")
    def _one_payload(self) -> JobRequest:
        if (self.payload is None) == (self.payload_base64 is None):
            raise ValueError("give exactly one of payload or payload_base64")
        return self

    def body(self) -> tuple[bytes, str]:
        if self.payload_base64 is not None:
            try:
                data = base64.b64decode(self.payload_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationFailed("payload_base64 is not valid base64") from None
            return data, self.content_type or "application/octet-stream"
        if isinstance(self.payload, str):
            return self.payload.encode(), self.content_type or "text/plain; charset=utf-8"
        return (
            json.dumps(self.payload, separators=(",", ":")).encode(),
            self.content_type or "application/json",
        )


class JobAccepted(View):
    id: str
    status: str
    pipeline: str
    message_id: str
    status_url: str
    duplicate: bool = False


def _invalid(exc: ValidationError, prefix: tuple[str, ...] = ()) -> ValidationFailed:
    return ValidationFailed(
        "request is not valid",
        details=[
            {"loc": [*prefix, *(str(p) for p in e["loc"])], "msg": e["msg"]} for e in exc.errors()
        ],
    )


def _json_submission(raw: bytes) -> tuple[SubmitFields, bytes, str]:
    """The fields and payload of a JSON submission, or the reason it is refused."""
    doc = loads_storable(raw)
    try:
        req = JobRequest.model_validate(doc)
    except ValidationError as verr:
        raise _invalid(verr) from None
    payload, payload_type = req.body()
    return req, payload, payload_type


_FORM_FIELDS = frozenset({"pipeline", "priority", "idempotency_key", "context", "file"})


def _multipart_schema() -> dict[str, Any]:
    """The multipart form: the same fields as JSON (one model states them), plus the file."""
    schema = SubmitFields.model_json_schema()
    props = {k: v for k, v in schema["properties"].items() if k in _FORM_FIELDS}
    for prop in props.values():
        omit_null(prop)  # a form part has no null: a field is sent or left out
    props["file"] = {"type": "string", "format": "binary"}
    return {
        "type": "object",
        "properties": props,
        "required": ["pipeline", "file"],
        "additionalProperties": False,
        "$defs": schema.get("$defs", {}),
    }


async def _multipart_submission(request: Request) -> tuple[SubmitFields, bytes, str]:
    """The fields and file of a multipart submission (its body already read and cached)."""
    try:
        form = await request.form(max_files=1, max_fields=10)
    except StarletteHTTPException as exc:  # python-multipart refused the body itself
        raise ValidationFailed(f"multipart body is not valid: {exc.detail}") from None
    unknown = sorted(set(form.keys()) - _FORM_FIELDS)
    if unknown:
        raise ValidationFailed(
            "unknown multipart fields", details={"unknown": unknown, "known": sorted(_FORM_FIELDS)}
        )
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ValidationFailed("multipart submission needs a 'file' part")
    fields: dict[str, Any] = {
        k: str(form[k])
        for k in ("pipeline", "priority", "idempotency_key")
        if k in form  # present but empty is refused by the model, as the document says
    }
    if upload.filename:
        fields["filename"] = upload.filename
    if "context" in form:
        try:
            context = loads_storable(str(form["context"]))
        except CarePipeError:
            context = None
        if not isinstance(context, dict):  # `null` too: leave the part out instead
            raise ValidationFailed("field 'context' must be a JSON object")
        fields["context"] = context
    try:
        submission = SubmitFields.model_validate(fields)
    except ValidationError as verr:
        raise _invalid(verr) from None
    return submission, await upload.read(), upload.content_type or "application/octet-stream"


# OpenAPI links: what a client (and a stateful API fuzzer) can do with a new job's id.
# (The bundle exists only once the job has run, so it is not linked from here.)
_JOB_LINKS = {
    "GetJob": {"operationId": "getJob", "parameters": {"job_id": "$response.body#/id"}},
}


@router.post(
    "",
    status_code=202,
    operation_id="submitJob",
    response_model=JobAccepted,
    responses={
        202: {"description": "Accepted: archived and queued", "links": _JOB_LINKS},
        200: {
            "model": JobAccepted,
            "description": "existing job for this idempotency key",
            "links": _JOB_LINKS,
        },
        **error_responses(413, 415, 422, 429),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": JobRequest.model_json_schema()},
                "multipart/form-data": {
                    "schema": _multipart_schema(),
                    "encoding": {"context": {"contentType": "application/json"}},
                },
            },
            "required": True,
        }
    },
)
async def create_job(
    request: Request,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """Archive the message and start a job. The same idempotency key returns the same job (200).

    Every refusal (413, 415, 422) is archived first as a ``rejected`` message.
    """
    if principal.tenant:
        await run_in_threadpool(state.tenant_rates.admit, principal.tenant)
    ctype = request.headers.get("content-type", "")
    base = ctype.split(";", 1)[0].strip().lower()
    # Read (and cache) the whole body first: whatever is refused below is archived as sent.
    raw = await read_intake_body(request, state, principal)
    try:
        if base == "application/json":
            fields, payload, payload_type = _json_submission(raw)
        elif base == "multipart/form-data":
            fields, payload, payload_type = await _multipart_submission(request)
        else:
            raise UnsupportedMediaType("use application/json or multipart/form-data")
    except CarePipeError as exc:
        await archive_refusal(state, principal, raw, ctype, exc)
        raise
    sub = await run_in_threadpool(
        jobs_service.submit_job,
        state.db,
        state.blobs,
        principal,
        pipeline=fields.pipeline,
        payload=payload,
        content_type=payload_type,
        priority=fields.priority,
        idempotency_key=fields.idempotency_key or request.headers.get("idempotency-key"),
        filename=fields.filename,
        max_attempts=state.settings.max_attempts,
        context=fields.context,
    )
    body = JobAccepted(
        id=sub.job_id,
        status=sub.status,
        pipeline=sub.pipeline,
        message_id=sub.message_id,
        status_url=f"/v1/jobs/{sub.job_id}",
        duplicate=not sub.created,
    )
    return JSONResponse(
        body.model_dump(),
        status_code=202 if sub.created else 200,
        headers={"Location": body.status_url},
    )


@router.get(
    "/{job_id}",
    operation_id="getJob",
    response_model=jobs_service.JobView,
    responses=error_responses(404),
)
def get_job(
    job_id: str = JOB_ID,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> jobs_service.JobView:
    """Status, current stage, tasks with attempts and errors, and links to artifacts."""
    return jobs_service.job_view(state.db, principal, job_id)


@router.get(
    "", operation_id="listJobs", response_model=jobs_service.JobPage, responses=error_responses(400)
)
def list_jobs(
    status: Literal["queued", "running", "waiting_review", "succeeded", "dead", "cancelled"]
    | None = None,
    pipeline: str | None = Query(None, max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$"),
    created_after: AwareTime | None = None,
    created_before: AwareTime | None = None,
    cursor: str | None = Query(
        None, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="next_cursor of a page"
    ),
    limit: int = Query(50, ge=1, le=jobs_service.MAX_PAGE),
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> jobs_service.JobPage:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    return jobs_service.list_jobs(
        state.db,
        principal,
        status=status,
        pipeline=pipeline,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        limit=limit,
    )


def _artifact_response(state: AppState, art: Any) -> Response:
    if art.blob_key:
        return Response(state.blobs.get(art.blob_key), media_type=art.content_type)
    return JSONResponse(art.data)


@router.get(
    "/{job_id}/artifacts/{artifact_id}",
    operation_id="getArtifact",
    response_class=Response,
    responses={
        200: {
            "description": "The artifact's stored content (its own media type) or JSON data.",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "The stage's JSON output."}
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_responses(404),
    },
)
def get_artifact(
    job_id: str = JOB_ID,
    artifact_id: str = Path(pattern=r"^[0-9a-f]{32}$"),
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """One stage output: its stored content, or its JSON data."""
    return _artifact_response(
        state, jobs_service.get_artifact(state.db, principal, job_id, artifact_id)
    )


# The FHIR resource is specified by HL7 (hl7.org/fhir/R4/bundle.html); the document names
# what every bundle we build has, not the whole FHIR schema.
_BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"const": "transaction"},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}


@router.get(
    "/{job_id}/bundle",
    operation_id="getBundle",
    response_class=Response,
    responses={
        200: {
            "description": "A FHIR R4 transaction Bundle.",
            "content": {"application/fhir+json": {"schema": _BUNDLE_SCHEMA}},
        },
        **error_responses(404, 409),
    },
)
def get_bundle(
    job_id: str = JOB_ID,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """The FHIR bundle the job produced (kept here when no EMR is configured)."""
    art = jobs_service.latest_artifact(state.db, principal, job_id, "fhir_bundle")
    if art.blob_key:
        return Response(state.blobs.get(art.blob_key), media_type="application/fhir+json")
    return Response(json.dumps(art.data), media_type="application/fhir+json")
