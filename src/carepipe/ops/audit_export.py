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
from typing import Any, Literal

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.db import Database
from carepipe.core.errors import InvalidRequest
from carepipe.core.models import AuditEvent
from carepipe.ops.audit_checkpoints import verify
from carepipe.ops.filters import FilterFields, parse_time
from carepipe.ops.views import View

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditFilter:
        """From text input (ISO times; empty means "any")."""
        kw: dict[str, Any] = {}
        for key in ("actor", "action", "target_type", "target_id", "tenant"):
            if data.get(key):
                kw[key] = str(data[key])
        for key in ("since", "until"):
            if data.get(key):
                kw[key] = parse_time(data[key], key)
        return cls(**kw)


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


class AuditEventView(View):
    """One audit event, with the hashes that chain it to the one before."""

    id: int
    at: datetime
    actor: str
    actor_role: str | None
    tenant: str | None
    action: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None
    prev_hash: str
    hash: str


def event_view(ev: AuditEvent) -> AuditEventView:
    """An event as the API and console show it."""
    return AuditEventView.model_validate(event_dict(ev))


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    """An event as a JSON-ready dict (the export's rows: ISO time)."""
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


class AuditPage(View):
    """Newest first; pass ``next_before_id`` as ``before_id`` for older events."""

    items: list[AuditEventView]
    next_before_id: int | None
    filter: AuditFilter


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
    return AuditPage(
        items=[event_view(r) for r in rows],
        next_before_id=rows[-1].id if more and rows else None,
        filter=f or AuditFilter(),
    )


class ChainCheck(View):
    """The hash chain walked: ``ok`` false names the first edited or missing row."""

    ok: bool
    checked: int
    first_bad_id: int | None
    problem: str | None


def check_chain(session: Session, principal: Principal) -> ChainCheck:
    """``audit.read``: the chain against its keys and checkpoints, as one line."""
    report = verify(session, principal)
    return ChainCheck(
        ok=report.ok,
        checked=report.checked,
        first_bad_id=report.first_bad_id,
        problem=report.problem,
    )


class AuditExportDocument(View):
    """The JSON export: the filter and every matching event in id order."""

    filter: AuditFilter
    events: list[AuditEventView]


ExportFormat = Literal["csv", "json"]


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
    # Every filter field, null when not set (the shape ``AuditExportDocument`` documents).
    yield '{"filter": ' + TypeAdapter(AuditFilter).dump_json(f).decode() + ', "events": ['
    first = True
    for ev in _events(db, f):
        yield ("" if first else ",") + "\n" + json.dumps(ev, sort_keys=True)
        first = False
    yield "\n]}\n"
