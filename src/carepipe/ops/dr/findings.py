"""Drill findings as action items: list them (``dr.read``), give them an owner, a due date
and a tracker ticket, close them (``dr.manage``, audited), and export them in the shape
Jira's importers take (CSV for "Import issues from CSV", JSON for the JSON importer).

Tracker mapping (docs/disaster-recovery.md, "Findings"): severity -> Priority
(critical Highest, high High, medium Medium, low Low), Issue Type Task, the drill id in
Labels and in the description, the owner as Assignee, the due date as ``yyyy-MM-dd``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any, Literal

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import ValidationFailed
from carepipe.ops.dr import store
from carepipe.ops.dr.views import FindingView

READ = "dr.read"
MANAGE = "dr.manage"
STATUSES = ("open", "done")
SEVERITIES = ("critical", "high", "medium", "low")
PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low"}
ExportFormat = Literal["csv", "json"]
# Jira's CSV importer maps columns by header; a repeated "Labels" header gives several labels.
CSV_COLUMNS = (
    "Summary",
    "Issue Type",
    "Priority",
    "Assignee",
    "Due Date",
    "Labels",
    "Labels",
    "Labels",
    "Status",
    "External ID",
    "Description",
)


def list_findings(
    db: Database, principal: Principal, drill_id: str | None = None, status: str | None = None
) -> list[FindingView]:
    """``dr.read``: findings of one drill or all, oldest first, optionally ``open``/``done``."""
    require(principal, READ)
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}")
    with db.session() as s:
        return store.list_findings(s, drill_id=drill_id, status=status)


def update_finding(
    db: Database,
    principal: Principal,
    finding_id: int,
    *,
    owner: str | None = None,
    due_date: date | None = None,
    ticket: str | None = None,
    status: str | None = None,
) -> FindingView:
    """``dr.manage``: set what is given; audited ``dr.finding.update``, or
    ``dr.finding.close`` when it moves to ``done`` (which stamps ``closed_at``/``closed_by``).
    Reopening clears the stamps. An empty ``ticket`` removes it."""
    require(principal, MANAGE)
    changes: dict[str, Any] = {}
    if owner is not None:
        owner = owner.strip()
        if not owner or len(owner) > 128:
            raise ValidationFailed("owner must be 1 to 128 characters")
        changes["owner"] = owner
    if due_date is not None:
        changes["due_date"] = due_date
    if ticket is not None:
        ticket = ticket.strip()
        if len(ticket) > 64:
            raise ValidationFailed("ticket must be at most 64 characters")
        changes["ticket"] = ticket or None
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}")
    with db.transaction() as s:
        before = _current(s, finding_id)
        closing = status == "done" and before.status != "done"
        if status is not None and status != before.status:
            changes["status"] = status
            changes["closed_at"] = utcnow() if closing else None
            changes["closed_by"] = principal.actor if closing else None
        after = store.update_finding(s, finding_id, **changes)
        if changes:
            audit.record(
                s,
                actor=principal.actor,
                actor_role=principal.role,
                action="dr.finding.close" if closing else "dr.finding.update",
                target_type="dr_finding",
                target_id=str(finding_id),
                before=_summary(before, changes),
                after=_summary(after, changes),
            )
        return after


def _current(session: Any, finding_id: int) -> FindingView:
    # The store has no single-finding read; updating nothing returns the row as it is.
    return store.update_finding(session, finding_id)


def _summary(f: FindingView, changes: dict[str, Any]) -> dict[str, Any]:
    """The changed fields, for the audit log (ids, names and dates: no PHI in findings)."""
    data = f.model_dump(mode="json")
    return {"drill_id": f.drill_id, **{k: data[k] for k in changes}}


def _labels(f: FindingView) -> list[str]:
    # Jira labels cannot contain spaces; the drill id makes one drill's items findable.
    return ["carepipe-dr", f"dr-drill-{f.drill_id}", f"severity-{f.severity}"]


def _description(f: FindingView) -> str:
    lines = [f.detail.strip()] if f.detail.strip() else []
    lines += [
        "",
        f"CarePipe disaster-recovery drill {f.drill_id}, finding {f.id} ({f.severity}).",
        f"Owner: {f.owner}. Due: {f.due_date.isoformat()}.",
    ]
    if f.ticket:
        lines.append(f"Ticket: {f.ticket}.")
    return "\n".join(lines).strip()


def _cell(text: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv(findings: list[FindingView]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow(
            [
                _cell(f.title),
                "Task",
                PRIORITY.get(f.severity, "Medium"),
                _cell(f.owner),
                f.due_date.isoformat(),
                *_labels(f),
                "Done" if f.status == "done" else "To Do",
                f"carepipe-dr-finding-{f.id}",
                _cell(_description(f)),
            ]
        )
    return buf.getvalue()


def _issue(f: FindingView) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "externalId": f"carepipe-dr-finding-{f.id}",
        "summary": f.title,
        "description": _description(f),
        "issueType": "Task",
        "priority": PRIORITY.get(f.severity, "Medium"),
        "status": "Done" if f.status == "done" else "To Do",
        "assignee": f.owner,
        "labels": _labels(f),
        "duedate": f.due_date.isoformat(),
        "created": f.created_at.isoformat(),
    }
    if f.status == "done" and f.closed_at is not None:
        issue["resolution"] = "Done"
        issue["resolutiondate"] = f.closed_at.isoformat()
    return issue


def export_findings(findings: list[FindingView], fmt: str) -> str:
    """``findings`` for an issue tracker: ``csv`` (Jira's CSV importer: a header row with
    Summary, Issue Type, Priority, Assignee, Due Date, Labels x3, Status, External ID,
    Description) or ``json`` (Jira's JSON importer: ``{"projects": [{"issues": [...]}]}``,
    the project key left for the importer to choose)."""
    if fmt == "csv":
        return _csv(findings)
    if fmt == "json":
        doc = {"projects": [{"name": "CarePipe DR", "issues": [_issue(f) for f in findings]}]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    raise ValidationFailed("format must be csv or json")
