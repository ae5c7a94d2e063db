"""Dead-letter queue services: list, inspect, reveal the raw payload, fix and replay.

Every function checks the roles table (``require``); the API, console and CLI
only translate refusals. Reading the raw payload is masked (structure only)
unless the caller holds ``payload.read_phi`` *and* asks to reveal it with a
reason; every reveal writes an audit event.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobNotFound, BlobStore
from carepipe.core.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from carepipe.core.models import Job, Message, Task, TaskAttempt
from carepipe.core.queue import TaskStatus, replay_task
from carepipe.ops.dlq_views import (
    ArchivedMessageRef,
    AttemptView,
    DeadLetterDetail,
    DeadLetterFacets,
    DeadLetterJob,
    DeadLetterMapped,
    DeadLetterPage,
    DeadLetterRow,
    MappingHint,
    MrnHint,
    ReplayedTask,
    StageView,
)
from carepipe.ops.filters import FilterFields, parse_time
from carepipe.ops.payloads import PayloadView, classify, pid3, render_payload
from carepipe.ops.tenancy import tenant_conditions

MAX_PAGE = 500


# -- listing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterFilter(FilterFields):
    pipeline: str | None = None
    queue: str | None = None
    error_code: str | None = None
    tenant: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetterFilter:
        kw: dict[str, Any] = {}
        for k in ("pipeline", "queue", "error_code", "tenant"):
            if data.get(k):
                kw[k] = str(data[k])
        for k in ("since", "until"):
            if data.get(k):
                value = data[k]
                kw[k] = value if isinstance(value, datetime) else parse_time(str(value), k)
        return cls(**kw)


def _filtered(principal: Principal, f: DeadLetterFilter, *cols: Any) -> Any:
    stmt = (
        select(*(cols or (Task, Job)))
        .select_from(Task)
        .join(Job, Job.id == Task.job_id)
        .where(Task.status == TaskStatus.DEAD)
    )
    stmt = stmt.where(*tenant_conditions(principal, f.tenant, Job.tenant))
    if f.pipeline:
        stmt = stmt.where(Job.pipeline == f.pipeline)
    if f.queue:
        stmt = stmt.where(Task.queue == f.queue)
    if f.error_code:
        stmt = stmt.where(Task.last_error_code == f.error_code)
    if f.since:
        stmt = stmt.where(Task.updated_at >= f.since)
    if f.until:
        stmt = stmt.where(Task.updated_at < f.until)
    return stmt


def encode_cursor(died_at: datetime, task_id: int) -> str:
    return base64.urlsafe_b64encode(f"{died_at.isoformat()}|{task_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        ts, tid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(ts), int(tid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor") from None


def _row(t: Task, j: Job) -> DeadLetterRow:
    return DeadLetterRow(
        task_id=t.id,
        job_id=j.id,
        tenant=j.tenant,
        pipeline=j.pipeline,
        queue=t.queue,
        stage=t.stage,
        attempts=t.attempts,
        replayed=t.replay,
        error_code=t.last_error_code,
        error_message=t.last_error_message,
        died_at=t.updated_at,
        message_id=j.message_id,
        url=f"/v1/dlq/{t.id}",
    )


def list_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[DeadLetterRow]:
    """Dead tasks, newest first; page with ``after`` = (died_at, id) of the last row (keyset).

    The order matches the ``ix_tasks_dead (status, updated_at, id)`` index, so a
    page costs the same at the 100,000th row as at the first.
    """
    require(principal, "dlq.read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = _filtered(principal, f or DeadLetterFilter())
    if after:
        stmt = stmt.where(tuple_(Task.updated_at, Task.id) < tuple_(after[0], after[1]))
    stmt = stmt.order_by(Task.updated_at.desc(), Task.id.desc()).limit(limit)
    return [_row(t, j) for t, j in session.execute(stmt).all()]


def page_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> DeadLetterPage:
    """One page of ``list_dead`` with an opaque cursor for the next one."""
    after = decode_cursor(cursor) if cursor else None
    rows = list_dead(session, principal, f, after=after, limit=min(limit + 1, MAX_PAGE + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].died_at, rows[-1].task_id) if more and rows else None
    return DeadLetterPage(items=rows, next_cursor=nxt)


class DeadLetterList(DeadLetterPage):
    """A page of dead letters with the filter it answers and, if asked, counts per error."""

    filter: DeadLetterFilter
    counts_by_error: dict[str, int] | None = Field(
        description="Dead letters matching the filter, per error code (null if not asked for)."
    )
    total: int | None = Field(description="Sum of counts_by_error (null if not asked for).")


def list_dead_letters(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
    counts: bool = True,
) -> DeadLetterList:
    """A page of dead letters, the filter echoed, and (``counts``) how many per error code."""
    f = f or DeadLetterFilter()
    page = page_dead(session, principal, f, cursor=cursor, limit=limit)
    by_error = count_by_error(session, principal, f) if counts else None
    return DeadLetterList(
        items=page.items,
        next_cursor=page.next_cursor,
        filter=f,
        counts_by_error=by_error,
        total=sum(by_error.values()) if by_error is not None else None,
    )


def count_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    died_before: datetime | None = None,
) -> int:
    """How many dead tasks match (what "replay all matching" would touch)."""
    require(principal, "dlq.read")
    stmt = _filtered(principal, f or DeadLetterFilter(), func.count())
    if died_before is not None:
        stmt = stmt.where(Task.updated_at <= died_before)
    return int(session.execute(stmt).scalar_one())


def count_by_error(
    session: Session, principal: Principal, f: DeadLetterFilter | None = None
) -> dict[str, int]:
    """Dead tasks per error code (the chips above the list)."""
    require(principal, "dlq.read")
    stmt = _filtered(
        principal, f or DeadLetterFilter(), Task.last_error_code, func.count()
    ).group_by(Task.last_error_code)
    rows = session.execute(stmt).all()
    return dict(sorted(((code or "unknown", n) for code, n in rows), key=lambda kv: -kv[1]))


def facets(session: Session, principal: Principal) -> DeadLetterFacets:
    """Distinct pipelines, queues and tenants among dead tasks (filter drop-downs)."""
    require(principal, "dlq.read")
    out: dict[str, list[str]] = {}
    for name, col in (("pipeline", Job.pipeline), ("queue", Task.queue), ("tenant", Job.tenant)):
        stmt = _filtered(principal, DeadLetterFilter(), col).distinct().order_by(col).limit(200)
        out[name] = [v for (v,) in session.execute(stmt).all() if v]
    return DeadLetterFacets.model_validate(out)


# -- one dead letter -----------------------------------------------------------------------


def _visible(session: Session, principal: Principal, task_id: int) -> tuple[Task, Job]:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no such task")
    job = session.get(Job, task.job_id)
    if job is None or not principal.sees_tenant(job.tenant):
        raise NotFound("no such task")
    return task, job


def dead_letter_detail(session: Session, principal: Principal, task_id: int) -> DeadLetterDetail:
    """The error, the attempts history (replays included) and the job's other stages."""
    require(principal, "dlq.read")
    task, job = _visible(session, principal, task_id)
    msg = session.get(Message, job.message_id)
    attempts = session.execute(
        select(TaskAttempt).where(TaskAttempt.task_id == task.id).order_by(TaskAttempt.id)
    ).scalars()
    history = [
        AttemptView(
            attempt=a.attempt,
            worker_id=a.worker_id,
            started_at=a.started_at,
            finished_at=a.finished_at,
            outcome=a.outcome,
            error_code=a.error_code,
            error_message=a.error_message,
            replay=a.replay,
        )
        for a in attempts
    ]
    stages = session.execute(select(Task).where(Task.job_id == job.id).order_by(Task.id)).scalars()
    dead = task.status == TaskStatus.DEAD
    return DeadLetterDetail(
        task_id=task.id,
        status=task.status,
        queue=task.queue,
        stage=task.stage,
        attempts=task.attempts,
        max_attempts=task.max_attempts,
        attempts_in_all=len(history),
        replayed=task.replay,
        replay_requested_at=task.replay_requested_at,
        error_code=task.last_error_code,
        error_message=task.last_error_message,
        died_at=task.updated_at if dead else None,
        created_at=task.created_at,
        job=DeadLetterJob(
            id=job.id,
            tenant=job.tenant,
            pipeline=job.pipeline,
            status=job.status,
            replay=job.replay,
            idempotency_key_set=job.idempotency_key is not None,
            created_at=job.created_at,
        ),
        message=ArchivedMessageRef(
            id=msg.id,
            source=msg.source,
            content_type=msg.kind,
            size_bytes=msg.size_bytes,
            sha256=msg.content_sha256,
            received_at=msg.received_at,
        )
        if msg is not None
        else None,
        history=history,
        stages=[
            StageView(task_id=t.id, stage=t.stage, status=t.status, attempts=t.attempts)
            for t in stages
        ],
        can_replay=dead and principal.can("dlq.replay"),
        can_reveal=principal.can("payload.read_phi"),
        can_map_patient=task.last_error_code == "patient_not_found"
        and dead
        and principal.can("patients.map")
        and principal.can("dlq.replay"),
    )


# -- the raw payload -----------------------------------------------------------------------


def _load_payload(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> tuple[Task, Job, Message, bytes]:
    require(principal, "dlq.read")
    task, job = _visible(session, principal, task_id)
    msg = session.get(Message, job.message_id)
    if msg is None:
        raise NotFound("the job has no archived message")
    try:
        raw = blobs.get(msg.blob_key)
    except BlobNotFound:
        raise NotFound("the archived payload is missing from the blob store") from None
    return task, job, msg, raw


def payload_view(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    task_id: int,
    *,
    reveal: bool = False,
    reason: str | None = None,
) -> PayloadView:
    """The raw payload of a dead letter, rendered for people.

    Masked (structure without values) by default. ``reveal=True`` needs
    ``payload.read_phi`` and a reason, and writes a ``payload.reveal`` audit event.
    """
    task, job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if reveal:
        require(principal, "payload.read_phi")
        if not (reason or "").strip():
            raise ValidationFailed("a reason (ticket or justification) is required to reveal")
        audit.record(
            session,
            actor=principal.actor,
            actor_role=principal.role,
            tenant=job.tenant,
            action="payload.reveal",
            target_type="task",
            target_id=str(task.id),
            after={"message_id": msg.id, "content_type": msg.kind},
            reason=reason.strip() if reason else None,
        )
    return render_payload(
        raw,
        content_type=msg.kind,
        sha256=msg.content_sha256,
        filename=msg.filename,
        reveal=reveal,
        can_reveal=principal.can("payload.read_phi"),
    )


def payload_media(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> tuple[bytes, str]:
    """Raw bytes and media type (audio player, image): for holders of ``payload.read_phi``.

    Callers serve it only after an audited reveal (the console hands out a
    short-lived grant when the reveal is recorded).
    """
    require(principal, "payload.read_phi")
    _task, _job, msg, raw = _load_payload(session, blobs, principal, task_id)
    return raw, msg.kind.split(";", 1)[0].strip() or "application/octet-stream"


def mrn_hint(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> MrnHint | None:
    """The MRN and assigning authority of an HL7 dead letter (PID-3), to prefill the
    mapping form. The MRN is PHI: only for ``payload.read_phi`` holders."""
    require(principal, "payload.read_phi")
    _task, _job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if classify(msg.kind, raw) != "hl7":
        return None
    found = pid3(raw)
    return MrnHint(mrn=found[0], assigning_authority=found[1]) if found else None


def mapping_hint(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> MappingHint | None:
    """What the MRN -> ABHA mapping form needs from a ``patient_not_found`` dead letter:
    the MRN and assigning authority from PID-3, and whether the index maps it by now.

    For whoever may map patients (``patients.map``): the MRN alone is shown, not the
    payload (no ``payload.read_phi`` reveal needed), and each view is audited as
    ``payload.view_mrn``. ``None`` when there is nothing to prefill (the payload is
    not HL7 or has no PID-3); no audit event then, since nothing was shown.
    """
    require(principal, "patients.map")
    task, job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if task.last_error_code != "patient_not_found":
        raise Conflict("this dead letter did not fail with patient_not_found")
    if classify(msg.kind, raw) != "hl7":
        return None
    found = pid3(raw)
    if found is None:
        return None
    mrn, authority = found
    from carepipe.interop.identity.service import lookup

    link = lookup(session, job.tenant, mrn, authority or None)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="payload.view_mrn",
        target_type="task",
        target_id=str(task.id),
        after={"message_id": msg.id, "fields": ["PID-3.1", "PID-3.4"]},
        reason="prefill the MRN -> ABHA mapping of a patient_not_found dead letter",
    )
    return MappingHint(mrn=mrn, assigning_authority=authority, mapped=link is not None)


# -- fix and replay ------------------------------------------------------------------------


def replay_dead_task(
    session: Session, principal: Principal, task_id: int, *, reason: str | None = None
) -> ReplayedTask:
    """Re-queue one dead task (``replay=true``); the audit log records who and why.

    ``Conflict`` when it is no longer dead (someone replayed it already).
    """
    require(principal, "dlq.replay")
    task, job = _visible(session, principal, task_id)
    before = {"status": task.status, "error_code": task.last_error_code, "attempts": task.attempts}
    task = replay_task(session, task_id)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="dlq.replay",
        target_type="task",
        target_id=str(task_id),
        before=before,
        after={"status": task.status, "replay": True},
        reason=reason,
    )
    return ReplayedTask(task_id=task.id, status=task.status, queue=task.queue, replay=task.replay)


def map_patient(
    session: Session,
    principal: Principal,
    task_id: int,
    *,
    mrn: str,
    abha_number: str,
    assigning_authority: str | None = None,
    reason: str | None = None,
    replay: bool = True,
) -> DeadLetterMapped:
    """Fix a ``patient_not_found`` dead letter: link the MRN to an ABHA number in the
    patient index, then (by default) replay the task, in one transaction."""
    require(principal, "patients.map")
    if replay:
        require(principal, "dlq.replay")
    task, job = _visible(session, principal, task_id)
    if task.last_error_code != "patient_not_found":
        raise Conflict("this dead letter did not fail with patient_not_found")
    if replay and task.status != TaskStatus.DEAD:
        raise Conflict(f"task is {task.status}, only dead tasks can be replayed")
    from carepipe.interop.identity.abha import mask_abha
    from carepipe.interop.identity.service import upsert

    link, before = upsert(
        session,
        tenant=job.tenant,
        mrn=mrn,
        assigning_authority=assigning_authority,
        abha_number=abha_number,
        source="console",
        actor=principal.actor,
    )
    # Identifiers are PHI: the audit keeps the link id and a masked ABHA number only.
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="patient.map",
        target_type="patient_link",
        target_id=link.id,
        before={"abha": mask_abha(before["abha_number"])} if before else None,
        after={"abha": mask_abha(link.abha_number), "from_task": task.id},
        reason=reason,
    )
    replayed = None
    if replay:
        replayed = replay_dead_task(session, principal, task.id, reason=reason)
    return DeadLetterMapped(
        link_id=link.id,
        created=before is None,
        abha_masked=mask_abha(link.abha_number),
        replayed=replayed is not None,
        task_status=replayed.status if replayed is not None else task.status,
    )
