"""What the API, console and CLI show about backfills: one view, built in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import Job
from carepipe.core.queue import JobStatus
from carepipe.ops.backfill.progress import Progress, read_progress
from carepipe.ops.backfill.report import finalize_if_due
from carepipe.ops.backfill.rules import OUTCOME_OF_JOB
from carepipe.ops.backfill.store import iso, load
from carepipe.ops.backfill_models import Backfill, BackfillItem
from carepipe.ops.views import View


class ReportLinks(View):
    """Where a finished backfill's reconciliation report is, and its recorded hashes."""

    sha256: str | None
    csv_sha256: str | None
    audit_event_id: int | None
    json_url: str
    csv_url: str


class BackfillView(View):
    """One backfill: what it replays, how far it got, and its report once finished."""

    id: str
    status: str = Field(description="planning, running, paused, cancelled or completed")
    pipeline: str
    filter: dict[str, Any] = Field(description="The archive filter it selected messages with.")
    rate_per_minute: float
    queue: str
    reason: str | None
    created_by: str
    created_at: str | None
    planned_at: str | None
    cancelled_at: str | None
    finished_at: str | None
    matched: int
    enqueued: int
    skipped: int
    skipped_reasons: dict[str, int]
    processed: int
    succeeded: int
    failed: int
    waiting_review: int
    cancelled: int
    remaining: int
    percent: float
    waiting_tasks: int
    observed_rate_per_minute: float | None
    eta_seconds: float | None
    report: ReportLinks | None


class BackfillItemView(View):
    """One archived message a backfill selected, and what became of it."""

    item_id: int
    message_id: str
    job_id: str | None
    action: str = Field(description="enqueued, rerun or skipped")
    reason: str | None
    outcome: str | None
    error_code: str | None
    error_message: str | None


def backfill_view(session: Session, bf: Backfill, prog: Progress | None = None) -> BackfillView:
    """Everything the API, console and CLI show about one backfill.

    A finished backfill is shown from the totals frozen on it (no counting); an
    active one from its items and their jobs, with the observed rate and an ETA.
    """
    if prog is None:
        frozen = bf.summary is not None
        prog = Progress.from_summary(bf.summary or {}) if frozen else read_progress(session, bf)
    report = None
    if bf.finished_at is not None:
        report = ReportLinks(
            sha256=bf.report_sha256,
            csv_sha256=bf.report_csv_sha256,
            audit_event_id=bf.audit_event_id,
            json_url=f"/v1/backfills/{bf.id}/report?format=json",
            csv_url=f"/v1/backfills/{bf.id}/report?format=csv",
        )
    return BackfillView(
        id=bf.id,
        status=bf.status,
        pipeline=bf.pipeline,
        filter=bf.filter,
        rate_per_minute=bf.rate_per_minute,
        queue=bf.queue,
        reason=bf.reason,
        created_by=bf.created_by,
        created_at=iso(bf.created_at),
        planned_at=iso(bf.planned_at),
        cancelled_at=iso(bf.cancelled_at),
        finished_at=iso(bf.finished_at),
        **prog.summary(),
        percent=prog.percent,
        waiting_tasks=prog.waiting_tasks,
        observed_rate_per_minute=prog.observed_rate_per_minute,
        eta_seconds=prog.eta_seconds,
        report=report,
    )


def get_backfill(
    db: Database, blobs: BlobStore, principal: Principal, backfill_id: str
) -> BackfillView:
    """One backfill's view, finalising it first when its work is done."""
    require(principal, "backfill.read")
    with db.session() as s:
        load(s, principal, backfill_id)
    finalize_if_due(db, blobs, backfill_id)
    with db.session() as s:
        return backfill_view(s, load(s, principal, backfill_id))


def list_backfills(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    limit: int = 50,
    before: tuple[datetime, str] | None = None,
) -> list[BackfillView]:
    """Backfills, newest first (keyset ``before`` = (created_at, id) of the last row)."""
    require(principal, "backfill.read")
    if not 1 <= limit <= 200:
        raise InvalidRequest("limit must be between 1 and 200")
    stmt = select(Backfill)
    if status:
        stmt = stmt.where(Backfill.status == status)
    if before:
        ts, bid = before
        stmt = stmt.where(
            or_(Backfill.created_at < ts, and_(Backfill.created_at == ts, Backfill.id < bid))
        )
    rows = session.execute(
        stmt.order_by(Backfill.created_at.desc(), Backfill.id.desc()).limit(limit)
    ).scalars()
    return [
        backfill_view(session, bf)
        for bf in rows
        if principal.tenant is None or bf.filter.get("tenant") == principal.tenant
    ]


def list_items(
    session: Session,
    principal: Principal,
    backfill_id: str,
    *,
    only: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[BackfillItemView]:
    """The backfill's items (``only``: failed, skipped, cancelled), in selection order."""
    require(principal, "backfill.read")
    bf = load(session, principal, backfill_id)
    stmt = (
        select(BackfillItem, Job.status, Job.error_code, Job.error_message)
        .outerjoin(Job, Job.id == BackfillItem.job_id)
        .where(BackfillItem.backfill_id == bf.id, BackfillItem.id > after_id)
    )
    if only == "skipped":
        stmt = stmt.where(BackfillItem.action == "skipped")
    elif only == "cancelled":
        stmt = stmt.where(BackfillItem.outcome == "cancelled")
    elif only == "failed":
        stmt = stmt.where(
            BackfillItem.action != "skipped",
            or_(
                BackfillItem.outcome == "failed",
                and_(BackfillItem.outcome.is_(None), Job.status == JobStatus.DEAD),
            ),
        )
    elif only:
        raise InvalidRequest("only must be failed, skipped or cancelled")
    out = []
    for item, job_status, code, message in session.execute(
        stmt.order_by(BackfillItem.id).limit(limit)
    ).all():
        outcome = item.outcome
        if outcome is None and item.action != "skipped":
            outcome = OUTCOME_OF_JOB.get(job_status, "remaining")
        failed = outcome == "failed"
        out.append(
            BackfillItemView(
                item_id=item.id,
                message_id=item.message_id,
                job_id=item.job_id,
                action=item.action,
                reason=item.reason,
                outcome=outcome,
                error_code=item.error_code or (code if failed else None),
                error_message=item.error_message or (message if failed else None),
            )
        )
    return out
