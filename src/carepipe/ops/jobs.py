"""Job services: submit (permission-checked), show one, list with cursor paging."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import and_, or_, select

from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.errors import ArtifactNotReady, InvalidRequest, NotFound, ValidationFailed
from carepipe.core.models import Artifact, Job, Message, Task
from carepipe.core.queue.states import PRIORITIES, PRIORITY_NAMES
from carepipe.ops.tenancy import resolve_tenant, tenant_conditions
from carepipe.ops.views import View
from carepipe.pipelines.ingest import Submission, submit
from carepipe.pipelines.patient_context import (
    PatientContext,
    has_context,
    parse_context,
    seal_context,
)

MAX_PAGE = 200


def submit_job(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    *,
    pipeline: str,
    payload: bytes,
    content_type: str,
    priority: str = "normal",
    idempotency_key: str | None = None,
    filename: str | None = None,
    source: str = "api",
    tenant: str | None = None,
    max_attempts: int = 5,
    context: PatientContext | dict[str, Any] | None = None,
) -> Submission:
    """Archive and start a job for the principal's tenant (staff name the tenant).

    ``priority`` is a name: low, normal, high or urgent (``ValidationFailed`` otherwise).
    ``context`` names the patient (``PatientContext``); it is stored encrypted with
    the archived message, so every stage, replay and backfill of the job sees it.
    """
    require(principal, "jobs.submit")
    if priority not in PRIORITIES:
        raise ValidationFailed(
            f"priority must be one of {', '.join(PRIORITIES)}",
            details={"priority": priority, "allowed": list(PRIORITIES)},
        )
    owner = resolve_tenant(principal, tenant)
    meta: dict[str, Any] = {"submitted_by": principal.actor}
    patient = parse_context(context)
    if patient is not None:
        meta.update(seal_context(blobs, patient))
    return submit(
        db,
        blobs,
        tenant=owner,
        pipeline=pipeline,
        payload=payload,
        content_type=content_type,
        priority=PRIORITIES[priority],
        idempotency_key=idempotency_key,
        source=source,
        filename=filename,
        meta=meta,
        max_attempts=max_attempts,
    )


def _visible_job(session: Any, principal: Principal, job_id: str) -> Job:
    require(principal, "jobs.read")
    job = session.get(Job, job_id)
    if job is None or not principal.sees_tenant(job.tenant):
        # Another tenant's job is "not found", not "forbidden": ids must not be probed.
        raise NotFound("no such job")
    return job


class ErrorView(View):
    code: str
    message: str | None = None


class TaskView(View):
    id: int
    stage: str
    queue: str
    status: str = Field(description="ready, leased, done, dead or cancelled")
    attempts: int
    max_attempts: int
    replay: bool
    error: ErrorView | None = None


class ArtifactView(View):
    id: str
    stage: str
    kind: str
    content_type: str
    engine: str | None = None
    model_version: str | None = None
    confidence: float | None = None
    url: str


class JobView(View):
    """One job: its status, stage, tasks (attempts, errors) and artifacts."""

    id: str
    tenant: str
    pipeline: str
    status: str = Field(description="queued, running, waiting_review, succeeded, dead or cancelled")
    stage: str | None = None
    priority: str
    replay: bool
    idempotency_key: str | None = None
    message_id: str
    patient_context: bool = Field(description="The submitter named the patient (``context``).")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: ErrorView | None = None
    tasks: list[TaskView]
    artifacts: list[ArtifactView]


def job_view(db: Database, principal: Principal, job_id: str) -> JobView:
    """Status, stage, tasks (attempts, errors) and artifacts of one job."""
    with db.session() as s:
        job = _visible_job(s, principal, job_id)
        message = s.get(Message, job.message_id)
        tasks = s.execute(select(Task).where(Task.job_id == job_id).order_by(Task.id)).scalars()
        arts = s.execute(
            select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.created_at)
        ).scalars()
        return JobView(
            id=job.id,
            tenant=job.tenant,
            pipeline=job.pipeline,
            status=job.status,
            stage=job.current_stage,
            priority=PRIORITY_NAMES.get(job.priority, str(job.priority)),
            replay=job.replay,
            idempotency_key=job.idempotency_key,
            message_id=job.message_id,
            patient_context=has_context(message.meta if message else None),
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            result=job.result,
            error=ErrorView(code=job.error_code, message=job.error_message)
            if job.error_code
            else None,
            tasks=[
                TaskView(
                    id=t.id,
                    stage=t.stage,
                    queue=t.queue,
                    status=t.status,
                    attempts=t.attempts,
                    max_attempts=t.max_attempts,
                    replay=t.replay,
                    error=ErrorView(code=t.last_error_code, message=t.last_error_message)
                    if t.last_error_code
                    else None,
                )
                for t in tasks
            ],
            artifacts=[
                ArtifactView(
                    id=a.id,
                    stage=a.stage,
                    kind=a.kind,
                    content_type=a.content_type,
                    engine=a.engine,
                    model_version=a.model_version,
                    confidence=a.confidence,
                    url=f"/v1/jobs/{job.id}/artifacts/{a.id}",
                )
                for a in arts
            ],
        )


def get_artifact(db: Database, principal: Principal, job_id: str, artifact_id: str) -> Artifact:
    with db.session() as s:
        _visible_job(s, principal, job_id)
        art = s.get(Artifact, artifact_id)
        if art is None or art.job_id != job_id:
            raise NotFound("no such artifact")
        s.expunge(art)
        return art


def latest_artifact(db: Database, principal: Principal, job_id: str, kind: str) -> Artifact:
    with db.session() as s:
        job = _visible_job(s, principal, job_id)
        art = s.execute(
            select(Artifact)
            .where(Artifact.job_id == job_id, Artifact.kind == kind)
            .order_by(Artifact.created_at.desc(), Artifact.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if art is None:
            raise ArtifactNotReady(
                f"job has no {kind} yet (status {job.status})",
                details={"status": job.status, "stage": job.current_stage},
            )
        s.expunge(art)
        return art


class JobSummary(View):
    id: str
    pipeline: str
    status: str
    stage: str | None = None
    priority: str
    replay: bool
    created_at: datetime
    error_code: str | None = None
    url: str


class JobPage(View):
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[JobSummary]
    next_cursor: str | None = None


def _encode_cursor(created_at: datetime, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        ts, job_id = raw.split("|", 1)
        return datetime.fromisoformat(ts), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor") from None


def list_jobs(
    db: Database,
    principal: Principal,
    *,
    status: str | None = None,
    pipeline: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    tenant: str | None = None,
) -> JobPage:
    """Newest first; the cursor is (created_at, id) of the last item, so pages never shift."""
    require(principal, "jobs.read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = select(Job).where(*tenant_conditions(principal, tenant, Job.tenant))
    if status:
        stmt = stmt.where(Job.status == status)
    if pipeline:
        stmt = stmt.where(Job.pipeline == pipeline)
    if created_after:
        stmt = stmt.where(Job.created_at >= created_after)
    if created_before:
        stmt = stmt.where(Job.created_at < created_before)
    if cursor:
        ts, last_id = _decode_cursor(cursor)
        stmt = stmt.where(or_(Job.created_at < ts, and_(Job.created_at == ts, Job.id < last_id)))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    with db.session() as s:
        rows = list(s.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        JobSummary(
            id=j.id,
            pipeline=j.pipeline,
            status=j.status,
            stage=j.current_stage,
            priority=PRIORITY_NAMES.get(j.priority, str(j.priority)),
            replay=j.replay,
            created_at=j.created_at,
            error_code=j.error_code,
            url=f"/v1/jobs/{j.id}",
        )
        for j in rows
    ]
    nxt = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return JobPage(items=items, next_cursor=nxt)
