"""Reading and exporting the audit log (``audit.read``: compliance and admin).

Exports stream in id order (CSV or JSON), carry each row's hash and previous
hash so an auditor can re-check the chain offline, and are themselves audited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import AuditEvent
from carepipe.ops.filters import FilterFields

MAX_PAGE = 500
EXPORT_BATCH = 2000
COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_role",
    "tenant",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "reason",
    "request_id",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditFilter(FilterFields):
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "dlq.")
    target_type: str | None = None
    target_id: str | None = None
    tenant: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _apply(stmt: Any, f: AuditFilter) -> Any:
    if f.actor:
        stmt = stmt.where(AuditEvent.actor == f.actor)
    if f.action:
        if f.action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == f.action)
    if f.target_type:
        stmt = stmt.where(AuditEvent.target_type == f.target_type)
    if f.target_id:
        stmt = stmt.where(AuditEvent.target_id == f.target_id)
    if f.tenant:
        stmt = stmt.where(AuditEvent.tenant == f.tenant)
    if f.since:
        stmt = stmt.where(AuditEvent.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.at < f.until)
    return stmt


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "actor_role": ev.actor_role,
        "tenant": ev.tenant,
        "action": ev.action,
        "target_type": ev.target_type,
        "target_id": ev.target_id,
        "before": ev.before,
        "after": ev.after,
        "reason": ev.reason,
        "request_id": ev.request_id,
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
    }


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_before_id: int | None  # pass as ``before_id`` for the next (older) page


def list_events(
    session: Session,
    principal: Principal,
    f: AuditFilter | None = None,
    *,
    before_id: int | None = None,
    limit: int = 100,
) -> AuditPage:
    """Newest first, keyset-paged by id."""
    require(principal, "audit.read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = _apply(select(AuditEvent), f or AuditFilter())
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    rows = list(session.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage([event_dict(r) for r in rows], rows[-1].id if more and rows else None)


def record_export(
    session: Session, principal: Principal, f: AuditFilter, fmt: str, *, reason: str | None = None
) -> None:
    """Exporting the log is itself recorded (who took a copy, of what)."""
    require(principal, "audit.read")
    if fmt not in ("csv", "json"):
        raise InvalidRequest("format must be csv or json")
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="audit.export",
        target_type="audit_log",
        after={"format": fmt, "filter": f.to_dict()},
        reason=reason,
    )


def _events(db: Database, f: AuditFilter) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        with db.session() as s:
            stmt = _apply(select(AuditEvent), f).where(AuditEvent.id > last)
            rows = list(s.execute(stmt.order_by(AuditEvent.id).limit(EXPORT_BATCH)).scalars())
            batch = [event_dict(r) for r in rows]
        if not batch:
            return
        yield from batch
        last = batch[-1]["id"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def export_csv(db: Database, principal: Principal, f: AuditFilter) -> Iterator[str]:
    """The filtered log as CSV, streamed in id order (call ``record_export`` first)."""
    require(principal, "audit.read")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    yield buf.getvalue()
    for ev in _events(db, f):
        buf.seek(0)
        buf.truncate()
        writer.writerow([_cell(ev[c]) for c in COLUMNS])
        yield buf.getvalue()


def export_json(db: Database, principal: Principal, f: AuditFilter) -> Iterator[str]:
    """The filtered log as one JSON document ``{"filter", "events": [...]}``, streamed."""
    require(principal, "audit.read")
    yield '{"filter": ' + json.dumps(f.to_dict()) + ', "events": ['
    first = True
    for ev in _events(db, f):
        yield ("" if first else ",") + "\n" + json.dumps(ev, sort_keys=True)
        first = False
    yield "\n]}\n"
