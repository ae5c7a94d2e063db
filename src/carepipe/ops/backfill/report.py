"""Finishing a backfill: freeze its items' outcomes, store the reconciliation report, audit it.

Safe to call from every reader at once: the backfill row is locked and the
check repeated inside the transaction, so the report is written and audited once.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carepipe.core.auth import SYSTEM, Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.crypto import sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import BackfillNotFinished, Conflict, InvalidRequest
from carepipe.core.models import Job, Task
from carepipe.core.queue import TaskStatus, remove_control
from carepipe.observability.logging import get_logger
from carepipe.ops.backfill.progress import Progress, read_progress
from carepipe.ops.backfill.rules import OUTCOME_OF_JOB
from carepipe.ops.backfill.store import iso, load, record
from carepipe.ops.backfill_models import Backfill, BackfillItem

log = get_logger("carepipe.backfill")

CSV_COLUMNS = ("message_id", "job_id", "action", "reason", "outcome", "error_code", "error_message")


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    media_type: str
    filename: str
    sha256: str


def _is_due(session: Session, bf: Backfill) -> bool:
    if bf.finished_at is not None or bf.status == "planning":
        return False
    if bf.status not in ("running", "paused", "cancelled"):
        return False
    if read_progress(session, bf).remaining:
        return False
    busy = session.execute(
        select(func.count())
        .select_from(Task)
        .where(Task.queue == bf.queue, Task.status.in_((TaskStatus.READY, TaskStatus.LEASED)))
    ).scalar_one()
    return not busy


def finalize_if_due(db: Database, blobs: BlobStore, backfill_id: str) -> bool:
    """Freeze outcomes, store the report and audit its SHA-256 once the backfill is done."""
    with db.session() as s:
        bf = s.get(Backfill, backfill_id)
        if bf is None or not _is_due(s, bf):
            return False
    with db.transaction() as s:
        bf = s.execute(
            select(Backfill).where(Backfill.id == backfill_id).with_for_update()
        ).scalar_one()
        if not _is_due(s, bf):
            return False
        now = utcnow()
        _freeze_outcomes(s, bf)
        prog = read_progress(s, bf, now)
        items = list(
            s.execute(
                select(BackfillItem)
                .where(BackfillItem.backfill_id == bf.id)
                .order_by(BackfillItem.id)
            ).scalars()
        )
        bf.status = "cancelled" if bf.status == "cancelled" else "completed"
        bf.finished_at = now
        bf.updated_at = now
        report_json, report_csv = build_report(bf, prog, items, generated_at=now)
        bf.report_json_key = blobs.put(report_json)
        bf.report_csv_key = blobs.put(report_csv)
        bf.report_sha256 = sha256_hex(report_json)
        bf.report_csv_sha256 = sha256_hex(report_csv)
        bf.summary = prog.summary()
        bf.audit_event_id = record(
            s,
            SYSTEM,
            "backfill.report",
            bf,
            after={
                "status": bf.status,
                **{k: v for k, v in prog.summary().items() if k != "skipped_reasons"},
                "report_sha256": bf.report_sha256,
                "report_csv_sha256": bf.report_csv_sha256,
                "report_blob": bf.report_json_key,
            },
            reason=f"reconciliation report of backfill {bf.id}",
        )
        # The throttle's queue has done its job; claims read every control row.
        remove_control(s, bf.queue)
    log.info("backfill.finished", backfill_id=backfill_id)
    return True


def _freeze_outcomes(session: Session, bf: Backfill) -> None:
    rows = session.execute(
        select(BackfillItem.id, Job.status, Job.error_code, Job.error_message)
        .join(Job, Job.id == BackfillItem.job_id)
        .where(
            BackfillItem.backfill_id == bf.id,
            BackfillItem.action != "skipped",
            BackfillItem.outcome.is_(None),
        )
    ).all()
    updates = []
    for item_id, status, code, message in rows:
        outcome = OUTCOME_OF_JOB.get(status, "failed")
        failed = outcome == "failed"
        updates.append(
            {
                "id": item_id,
                "outcome": outcome,
                "error_code": code if failed else None,
                "error_message": message if failed else None,
            }
        )
    if updates:
        session.execute(update(BackfillItem), updates)


def finalize_due(db: Database, blobs: BlobStore) -> list[str]:
    """Finalise every active backfill whose work is done (for a scheduler or the CLI)."""
    with db.session() as s:
        ids = list(
            s.execute(
                select(Backfill.id).where(
                    Backfill.finished_at.is_(None),
                    Backfill.status.in_(("running", "paused", "cancelled")),
                )
            ).scalars()
        )
    return [i for i in ids if finalize_if_due(db, blobs, i)]


def build_report(
    bf: Backfill, prog: Progress, items: list[BackfillItem], *, generated_at: datetime
) -> tuple[bytes, bytes]:
    """The reconciliation report as (JSON, CSV) bytes. Ids, states and error codes only: no PHI."""
    failures = [
        {
            "message_id": i.message_id,
            "job_id": i.job_id,
            "error_code": i.error_code,
            "error_message": i.error_message,
        }
        for i in items
        if i.outcome == "failed"
    ]
    doc = {
        "report": "carepipe.backfill.reconciliation/1",
        "generated_at": generated_at.isoformat(),
        "backfill": {
            "id": bf.id,
            "status": bf.status,
            "pipeline": bf.pipeline,
            "filter": bf.filter,
            "rate_per_minute": bf.rate_per_minute,
            "created_by": bf.created_by,
            "created_at": iso(bf.created_at),
            "cancelled_at": iso(bf.cancelled_at),
            "finished_at": iso(bf.finished_at),
            "reason": bf.reason,
        },
        "summary": prog.summary(),
        "failures": failures,
        "skipped": [
            {"message_id": i.message_id, "job_id": i.job_id, "reason": i.reason}
            for i in items
            if i.action == "skipped"
        ],
        "cancelled": [
            {"message_id": i.message_id, "job_id": i.job_id}
            for i in items
            if i.outcome == "cancelled"
        ],
        "items": [[i.message_id, i.job_id, i.action, i.outcome or i.reason] for i in items],
        "items_columns": ["message_id", "job_id", "action", "outcome_or_reason"],
    }
    report_json = json.dumps(doc, indent=2, sort_keys=True).encode()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    # Failures first: they are what the reader came for.
    order = {"failed": 0, "cancelled": 1, None: 2}
    for i in sorted(items, key=lambda i: (order.get(i.outcome, 3), i.id)):
        writer.writerow(
            [
                i.message_id,
                i.job_id or "",
                i.action,
                i.reason or "",
                i.outcome or "",
                i.error_code or "",
                i.error_message or "",
            ]
        )
    return report_json, buf.getvalue().encode()


def get_report(
    db: Database, blobs: BlobStore, principal: Principal, backfill_id: str, fmt: str = "json"
) -> ReportFile:
    """The stored report (checked against the SHA-256 the audit log recorded)."""
    require(principal, "backfill.read")
    if fmt not in ("json", "csv"):
        raise InvalidRequest("format must be json or csv")
    finalize_if_due(db, blobs, backfill_id)
    with db.session() as s:
        bf = load(s, principal, backfill_id)
        if bf.finished_at is None:
            raise BackfillNotFinished(
                f"the report is written when the backfill has finished ({bf.status} now)"
            )
        key, digest = (
            (bf.report_json_key, bf.report_sha256)
            if fmt == "json"
            else (bf.report_csv_key, bf.report_csv_sha256)
        )
    assert key is not None and digest is not None
    content = blobs.get(key)
    if sha256_hex(content) != digest:
        raise Conflict("stored report does not match its recorded SHA-256")
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return ReportFile(content, media, f"backfill-{backfill_id}-report.{fmt}", digest)
