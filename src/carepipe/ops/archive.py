"""Querying the raw-message archive (the ``messages`` table): filter, count, keyset pages.

Only metadata is returned (ids, tenant, source, media type, pipeline, status,
error code, size, times, the job's id and status), never payload bytes or file
names, which may carry PHI. The same filter selects the messages of a backfill
(``carepipe.ops.backfill``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import Job, Message
from carepipe.core.queue.states import JobStatus
from carepipe.ops.filters import FilterFields
from carepipe.ops.tenancy import tenant_conditions
from carepipe.ops.views import View

MAX_PAGE = 500
NO_JOB = "none"  # ``job_status`` filter value: messages that never got a job
JOB_STATUSES = (*(s.value for s in JobStatus), NO_JOB)
MESSAGE_STATUSES = ("accepted", "rejected", "duplicate")


@dataclass(frozen=True)
class ArchiveFilter(FilterFields):
    """Which archived messages: received in [since, until), plus optional equality filters.

    ``error_code`` matches the message's rejection code or its job's error code
    (set from the dead task when the job died).
    """

    since: datetime | None = None
    until: datetime | None = None
    pipeline: str | None = None
    tenant: str | None = None
    source: str | None = None
    error_code: str | None = None
    status: str | None = None
    job_status: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidRequest(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.since and self.until and self.since >= self.until:
            raise InvalidRequest("since must be before until")
        if self.status and self.status not in MESSAGE_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(MESSAGE_STATUSES)}")
        if self.job_status and self.job_status not in JOB_STATUSES:
            raise InvalidRequest(f"job_status must be one of {', '.join(JOB_STATUSES)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchiveFilter:
        """From JSON-ish input (ISO times; empty strings mean "any")."""
        values: dict[str, Any] = {}
        for key in cls.__dataclass_fields__:
            raw = data.get(key)
            if raw in (None, ""):
                continue
            if key in ("since", "until") and isinstance(raw, str):
                try:
                    raw = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                except ValueError:
                    raise InvalidRequest(f"{key} is not an ISO 8601 time") from None
            values[key] = raw
        return cls(**values)


class ArchivedMessage(View):
    """An archived message's metadata (never its payload or file name) and its job."""

    id: str
    tenant: str
    source: str = Field(description="api, mllp, cli, console, ...")
    kind: str = Field(description="The media type it was sent as.")
    pipeline: str | None
    status: str = Field(description="accepted, rejected or duplicate")
    error_code: str | None
    size_bytes: int
    received_at: datetime
    job_id: str | None
    job_status: str | None
    job_error_code: str | None


@dataclass(frozen=True)
class ArchivePage:
    items: list[ArchivedMessage]
    next_cursor: str | None


def matching(principal: Principal, f: ArchiveFilter) -> Select[Any]:
    """``SELECT Message, Job`` (job outer-joined by message id) for the filter and principal."""
    stmt = select(Message, Job).outerjoin(Job, Job.message_id == Message.id)
    # Another tenant's archive matches nothing, and says nothing.
    conds: list[Any] = tenant_conditions(principal, f.tenant, Message.tenant)
    if f.since:
        conds.append(Message.received_at >= f.since)
    if f.until:
        conds.append(Message.received_at < f.until)
    if f.pipeline:
        conds.append(Message.pipeline == f.pipeline)
    if f.source:
        conds.append(Message.source == f.source)
    if f.status:
        conds.append(Message.status == f.status)
    if f.error_code:
        conds.append(or_(Message.error_code == f.error_code, Job.error_code == f.error_code))
    if f.job_status == NO_JOB:
        conds.append(Job.id.is_(None))
    elif f.job_status:
        conds.append(Job.status == f.job_status)
    return stmt.where(*conds) if conds else stmt


def encode_cursor(received_at: datetime, message_id: str) -> str:
    raw = f"{received_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, _, mid = raw.partition("|")
        when = datetime.fromisoformat(ts)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor is not valid") from None
    if when.tzinfo is None or not mid:
        raise InvalidRequest("cursor is not valid")
    return when, mid


def after_cursor(stmt: Select[Any], cursor: tuple[datetime, str], *, newest_first: bool) -> Any:
    """Keyset condition on (received_at, id) in the page order."""
    ts, mid = cursor
    # The plain range condition is redundant with the OR but lets the planner start an
    # index range scan at the cursor instead of filtering the whole date range each page.
    if newest_first:
        return stmt.where(
            Message.received_at <= ts,
            or_(Message.received_at < ts, and_(Message.received_at == ts, Message.id < mid)),
        )
    return stmt.where(
        Message.received_at >= ts,
        or_(Message.received_at > ts, and_(Message.received_at == ts, Message.id > mid)),
    )


def row_view(msg: Message, job: Job | None) -> ArchivedMessage:
    """A message's metadata (no payload, no file name) and its job's id and status."""
    job_id = job.id if job is not None else (msg.meta or {}).get("duplicate_of_job")
    return ArchivedMessage(
        id=msg.id,
        tenant=msg.tenant,
        source=msg.source,
        kind=msg.kind,
        pipeline=msg.pipeline,
        status=msg.status,
        error_code=msg.error_code,
        size_bytes=msg.size_bytes,
        received_at=msg.received_at,
        job_id=job_id,
        job_status=job.status if job is not None else None,
        job_error_code=job.error_code if job is not None else None,
    )


def query_messages(
    session: Session,
    principal: Principal,
    f: ArchiveFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> ArchivePage:
    """Archived messages matching ``f``, newest first; pass ``next_cursor`` back for more."""
    require(principal, "archive.read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = matching(principal, f)
    if cursor:
        stmt = after_cursor(stmt, decode_cursor(cursor), newest_first=True)
    rows = session.execute(
        stmt.order_by(Message.received_at.desc(), Message.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row_view(m, j) for m, j in rows]
    nxt = encode_cursor(rows[-1][0].received_at, rows[-1][0].id) if more and rows else None
    return ArchivePage(items, nxt)


def count_messages(session: Session, principal: Principal, f: ArchiveFilter) -> int:
    """How many archived messages match ``f`` (what a backfill over ``f`` would select)."""
    require(principal, "archive.read")
    sub = matching(principal, f).with_only_columns(Message.id).subquery()
    return int(session.execute(select(func.count()).select_from(sub)).scalar_one())


def count_by(
    session: Session, principal: Principal, f: ArchiveFilter, field: str
) -> dict[str, int]:
    """Matching messages grouped by ``status``, ``pipeline``, ``source`` or ``job_status``."""
    require(principal, "archive.read")
    columns = {
        "status": Message.status,
        "pipeline": Message.pipeline,
        "source": Message.source,
        "job_status": Job.status,
    }
    if field not in columns:
        raise InvalidRequest(f"cannot group by {field}")
    col = columns[field]
    stmt = matching(principal, f).with_only_columns(col, func.count()).group_by(col)
    return {(k if k is not None else NO_JOB): int(n) for k, n in session.execute(stmt).all()}
