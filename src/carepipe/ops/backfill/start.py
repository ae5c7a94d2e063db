"""Starting a backfill: validate, record it, then select and queue in batches."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.models import Message
from carepipe.core.queue import set_rate_limit
from carepipe.observability.logging import get_logger
from carepipe.ops.archive import ArchiveFilter, after_cursor, matching
from carepipe.ops.backfill.metrics import BACKFILLS_STARTED
from carepipe.ops.backfill.plan import plan_batch
from carepipe.ops.backfill.rules import BATCH, check_request, queue_name
from carepipe.ops.backfill.store import load, record
from carepipe.ops.backfill.views import BackfillView, backfill_view
from carepipe.ops.backfill_models import Backfill, BackfillItem

log = get_logger("carepipe.backfill")


def start_backfill(
    db: Database,
    principal: Principal,
    *,
    archive_filter: ArchiveFilter,
    pipeline: str,
    rate_per_minute: float,
    reason: str | None = None,
    max_attempts: int = 5,
    batch: int = BATCH,
) -> BackfillView:
    """Select the archived messages matching ``archive_filter`` and queue them on ``pipeline``.

    Returns the backfill's view (see ``backfill_view``). Audited as
    ``backfill.start``; needs ``backfill.run``. A tenant-scoped principal's
    filter is narrowed to its tenant.
    """
    require(principal, "backfill.run")
    pipe = check_request(archive_filter, pipeline, rate_per_minute)
    if principal.tenant is not None:
        archive_filter = dataclasses.replace(archive_filter, tenant=principal.tenant)
    now = utcnow()
    with db.transaction() as s:
        bf = Backfill(
            status="planning",
            pipeline=pipe.name,
            filter=archive_filter.to_dict(),
            rate_per_minute=float(rate_per_minute),
            queue="",
            reason=reason,
            created_by=principal.actor,
            created_role=principal.role,
            created_at=now,
            updated_at=now,
            rate_since=now,
            matched=0,
            enqueued=0,
            skipped=0,
        )
        s.add(bf)
        s.flush()
        bf.queue = queue_name(bf.id)
        set_rate_limit(s, bf.queue, float(rate_per_minute))
        record(
            s,
            principal,
            "backfill.start",
            bf,
            after={
                "pipeline": pipe.name,
                "filter": bf.filter,
                "rate_per_minute": bf.rate_per_minute,
                "queue": bf.queue,
            },
            reason=reason,
        )
        backfill_id = bf.id
    BACKFILLS_STARTED.labels(pipe.name).inc()
    log.info("backfill.start", backfill_id=backfill_id, pipeline=pipe.name, rate=rate_per_minute)

    # One transaction per batch (its jobs, tasks, items and counters): workers start
    # on the first batch, woken at its commit, while later ones are being planned.
    cursor: tuple[datetime, str] | None = None
    seen_jobs: set[str] = set()
    while True:
        with db.transaction() as s:
            bf = load(s, principal, backfill_id, lock=True)
            if bf.status == "cancelled":
                break  # cancelled while planning: stop selecting
            stmt = matching(principal, archive_filter)
            if cursor is not None:
                stmt = after_cursor(stmt, cursor, newest_first=False)
            rows = s.execute(stmt.order_by(Message.received_at, Message.id).limit(batch)).all()
            if not rows:
                break
            plan = plan_batch(s, bf, pipe, rows, seen_jobs, max_attempts=max_attempts)
            if plan.items:
                s.execute(BackfillItem.__table__.insert(), plan.items)
            bf.matched += len(rows)
            bf.enqueued += plan.enqueued
            bf.skipped += plan.skipped
            bf.updated_at = utcnow()
            last = rows[-1][0]
            cursor = (last.received_at, last.id)
        if len(rows) < batch:
            break
    with db.transaction() as s:
        bf = load(s, principal, backfill_id, lock=True)
        bf.planned_at = utcnow()
        if bf.status == "planning":
            bf.status = "running"
        bf.updated_at = utcnow()
    log.info("backfill.planned", backfill_id=backfill_id)
    with db.session() as s:
        return backfill_view(s, load(s, principal, backfill_id))
