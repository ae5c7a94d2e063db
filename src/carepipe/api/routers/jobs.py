"""``/v1/jobs``: submit, show, list, artifacts, bundle."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import api_key_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import (
    CarePipeError,
    InvalidRequest,
    MalformedJson,
    UnsupportedMediaType,
    ValidationFailed,
)
from carepipe.core.queue.states import PRIORITIES
from carepipe.ops import jobs as jobs_service
from carepipe.pipelines.ingest import archive_rejected

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

Priority = Literal["low", "normal", "high", "urgent"]


class JobRequest(BaseModel):
    """Inline submission. Exactly one of ``payload`` (any JSON) or ``payload_base64``."""

    pipeline: str = Field(min_length=1, max_length=64)
    priority: Priority = "normal"
    idempotency_key: str | None = Field(None, min_length=1, max_length=256)
    payload: Any = None
    payload_base64: str | None = None
    content_type: str | None = Field(None, max_length=128)
    filename: str | None = Field(None, max_length=256)
    context: dict[str, Any] | None = Field(
        None, description='Patient/encounter context, e.g. {"mrn": "123"} or {"abha": ...}.'
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


class JobAccepted(BaseModel):
    id: str
    status: str
    pipeline: str
    message_id: str
    status_url: str
    duplicate: bool = False


async def _reject(
    state: AppState, principal: Principal, raw: bytes, ctype: str, exc: CarePipeError
) -> None:
    await run_in_threadpool(
        archive_rejected,
        state.db,
        state.blobs,
        tenant=principal.tenant or "-",
        payload=raw,
        content_type=ctype or "application/octet-stream",
        source="api",
        error=exc,
    )


@router.post(
    "",
    status_code=202,
    response_model=JobAccepted,
    responses={200: {"description": "existing job for this idempotency key"}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": JobRequest.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "pipeline": {"type": "string"},
                            "priority": {"type": "string"},
                            "idempotency_key": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                        },
                        "required": ["pipeline", "file"],
                    }
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
    """Archive the message and start a job. The same idempotency key returns the same job (200)."""
    ctype = request.headers.get("content-type", "")
    base = ctype.split(";", 1)[0].strip().lower()
    header_key = request.headers.get("idempotency-key")
    if base == "application/json":
        raw = await request.body()
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            exc: CarePipeError = MalformedJson("request body is not valid JSON")
            await _reject(state, principal, raw, ctype, exc)
            raise exc from None
        try:
            req = JobRequest.model_validate(doc)
            payload, payload_type = req.body()
        except ValidationError as verr:
            exc = ValidationFailed(
                "request is not valid",
                details=[
                    {"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in verr.errors()
                ],
            )
            await _reject(state, principal, raw, ctype, exc)
            raise exc from None
        except CarePipeError as cerr:
            await _reject(state, principal, raw, ctype, cerr)
            raise
        pipeline, priority, key, filename = (
            req.pipeline,
            req.priority,
            req.idempotency_key,
            req.filename,
        )
        context = req.context
    elif base == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed("multipart submission needs a 'file' part")
        payload = await upload.read()
        payload_type = upload.content_type or "application/octet-stream"
        filename = upload.filename
        pipeline = str(form.get("pipeline") or "")
        priority = str(form.get("priority") or "normal")
        key = str(form.get("idempotency_key")) if form.get("idempotency_key") else None
        problem: CarePipeError | None = None
        context = None
        if form.get("context"):
            try:
                context = json.loads(str(form.get("context")))
                if not isinstance(context, dict):
                    raise ValueError
            except ValueError:
                problem = ValidationFailed("field 'context' must be a JSON object")
        if problem:
            pass
        elif not pipeline:
            problem = ValidationFailed("field 'pipeline' is required")
        elif priority not in PRIORITIES:
            problem = ValidationFailed("priority must be one of low, normal, high, urgent")
        elif key is not None and len(key) > 256:
            problem = ValidationFailed("idempotency_key is longer than 256 characters")
        if problem:
            await _reject(state, principal, payload, payload_type, problem)
            raise problem
    else:
        raw = await request.body()
        exc = UnsupportedMediaType("use application/json or multipart/form-data")
        await _reject(state, principal, raw, ctype, exc)
        raise exc
    key = key or header_key
    sub = await run_in_threadpool(
        jobs_service.submit_job,
        state.db,
        state.blobs,
        principal,
        pipeline=pipeline,
        payload=payload,
        content_type=payload_type,
        priority=PRIORITIES[priority],
        idempotency_key=key,
        filename=filename,
        max_attempts=state.settings.max_attempts,
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


@router.get("/{job_id}")
def get_job(
    job_id: str,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Status, current stage, tasks with attempts and errors, and links to artifacts."""
    return jobs_service.job_view(state.db, principal, job_id)


@router.get("")
def list_jobs(
    status: str | None = None,
    pipeline: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=jobs_service.MAX_PAGE),
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    for name, value in (("created_after", created_after), ("created_before", created_before)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    page = jobs_service.list_jobs(
        state.db,
        principal,
        status=status,
        pipeline=pipeline,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


def _artifact_response(state: AppState, art: Any) -> Response:
    if art.blob_key:
        return Response(state.blobs.get(art.blob_key), media_type=art.content_type)
    return JSONResponse(art.data)


@router.get("/{job_id}/artifacts/{artifact_id}")
def get_artifact(
    job_id: str,
    artifact_id: str,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """One stage output: its stored content, or its JSON data."""
    return _artifact_response(
        state, jobs_service.get_artifact(state.db, principal, job_id, artifact_id)
    )


@router.get("/{job_id}/bundle")
def get_bundle(
    job_id: str,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> Response:
    """The FHIR bundle the job produced (kept here when no EMR is configured)."""
    art = jobs_service.latest_artifact(state.db, principal, job_id, "fhir_bundle")
    if art.blob_key:
        return Response(state.blobs.get(art.blob_key), media_type="application/fhir+json")
    return JSONResponse(art.data, media_type="application/fhir+json")
