"""One planning batch: decide what to do with each selected message, and queue it.

A handful of set-based statements per batch (not per message). The job and
task writes are ``carepipe.core.queue`` operations; this module decides which
messages get which, and records the decision as the backfill's items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import Job, Message
from carepipe.core.queue import (
    JobStatus,
    create_missing_jobs,
    enqueue_returning_ids,
    job_row,
    rerun_jobs,
)
from carepipe.ops.backfill.metrics import BACKFILL_ITEMS_QUEUED
from carepipe.ops.backfill.rules import BACKFILL_PRIORITY
from carepipe.ops.backfill_models import Backfill
from carepipe.pipelines.registry import Pipeline


@dataclass
class Plan:
    """What one planning batch did (written to the items table in one go)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    enqueued: int = 0
    skipped: int = 0


def plan_batch(
    session: Session,
    bf: Backfill,
    pipe: Pipeline,
    rows: list[Any],
    seen_jobs: set[str],
    *,
    max_attempts: int,
) -> Plan:
    """Queue the batch's messages on ``pipe`` (``rows``: (message, job or None) pairs).

    ``seen_jobs`` (the jobs this backfill already queued) is updated: a job is
    queued at most once per backfill.
    """
    plan = Plan()
    now = utcnow()
    first = pipe.first()
    keys, job_of = _existing_jobs(session, rows)

    # Messages that never got a job get one, on their archived row and blob.
    jobless = [msg for msg, _ in rows if job_of[msg.id] is None]
    new_rows = {
        msg.id: job_row(
            tenant=msg.tenant,
            pipeline=pipe.name,
            first_stage=first.name,
            message_id=msg.id,
            idempotency_key=keys[msg.id],
            priority=BACKFILL_PRIORITY,
            replay=True,
            now=now,
        )
        for msg in jobless
        if pipe.accepts_media(msg.kind)
    }
    new_jobs = create_missing_jobs(session, list(new_rows.values()))
    for msg in jobless:
        row = new_rows.get(msg.id)
        if row is not None:
            # Lost a race for the key: the job another backfill made is this message's.
            job_of[msg.id] = row["id"] if row["id"] in new_jobs else _job_by_key(session, row)

    # Existing jobs that have ended are taken for a re-run (one conditional UPDATE).
    rerun = rerun_jobs(
        session,
        {j for j in job_of.values() if j is not None and j not in seen_jobs and j not in new_jobs},
        pipeline=pipe.name,
        first_stage=first.name,
    )

    # The items, in selection order.
    to_queue: list[str] = []
    for msg, _ in rows:
        item: dict[str, Any] = {
            "backfill_id": bf.id,
            "message_id": msg.id,
            "job_id": job_of[msg.id],
            "task_id": None,
            "action": "skipped",
            "reason": None,
            "prev_job": None,
            "outcome": None,
            "error_code": None,
            "error_message": None,
            "created_at": now,
        }
        jid = job_of[msg.id]
        if jid is None:
            item["reason"] = "media_not_accepted"
        elif jid in seen_jobs:
            item["reason"] = "same_job"
        elif jid in new_jobs:
            item["action"] = "created"
        elif jid in rerun.taken:
            item["action"] = "rerun"
            item["prev_job"] = rerun.taken[jid].to_dict()
        else:
            held = rerun.left.get(jid) == JobStatus.WAITING_REVIEW
            item["reason"] = "waiting_review" if held else "in_flight"
        if jid is not None:
            seen_jobs.add(jid)
        if item["action"] == "skipped":
            plan.skipped += 1
        else:
            plan.enqueued += 1
            to_queue.append(jid)  # type: ignore[arg-type]
            BACKFILL_ITEMS_QUEUED.labels(item["action"]).inc()
        plan.items.append(item)

    # Their first-stage tasks, on the backfill's throttled queue (one multi-row INSERT).
    if to_queue:
        task_ids = enqueue_returning_ids(
            session,
            [
                {
                    "job_id": jid,
                    "queue": bf.queue,
                    "stage": first.name,
                    "priority": BACKFILL_PRIORITY,
                    "run_after": now,
                    "max_attempts": first.max_attempts or max_attempts,
                    "replay": True,
                }
                for jid in to_queue
            ],
        )
        task_of = dict(zip(to_queue, task_ids, strict=True))
        for item in plan.items:
            if item["action"] != "skipped":
                item["task_id"] = task_of.get(item["job_id"])
    return plan


def _existing_jobs(
    session: Session, rows: list[Any]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Each message's idempotency key, and the job it already has (or None).

    Found by message id (the selection's outer join), by ``duplicate_of_job``, or
    by the idempotency key a job made for the message carries.
    """
    keys: dict[str, str] = {}
    job_of: dict[str, str | None] = {}
    dup_wanted: dict[str, str] = {}
    for msg, job in rows:
        keys[msg.id] = (msg.meta or {}).get("idempotency_key") or f"message:{msg.id}"
        job_of[msg.id] = job.id if job is not None else None
        if job is None and msg.status == "duplicate" and (msg.meta or {}).get("duplicate_of_job"):
            dup_wanted[msg.id] = msg.meta["duplicate_of_job"]
    if dup_wanted:
        found = set(
            session.execute(select(Job.id).where(Job.id.in_(set(dup_wanted.values())))).scalars()
        )
        for mid, jid in dup_wanted.items():
            if jid in found:
                job_of[mid] = jid
    jobless: list[Message] = [msg for msg, _ in rows if job_of[msg.id] is None]
    if jobless:
        by_key = {
            (t, k): jid
            for jid, t, k in session.execute(
                select(Job.id, Job.tenant, Job.idempotency_key).where(
                    Job.idempotency_key.in_({keys[m.id] for m in jobless})
                )
            ).all()
        }
        for msg in jobless:
            job_of[msg.id] = by_key.get((msg.tenant, keys[msg.id]))
    return keys, job_of


def _job_by_key(session: Session, row: dict[str, Any]) -> str | None:
    return session.execute(
        select(Job.id).where(
            Job.tenant == row["tenant"], Job.idempotency_key == row["idempotency_key"]
        )
    ).scalar_one_or_none()
