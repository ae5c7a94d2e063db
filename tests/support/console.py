"""Helpers for console tests: users with roles, dead letters made the real way."""

from __future__ import annotations

import json
from typing import Any

from argon2 import PasswordHasher

from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, ValidationFailed
from carepipe.core.queue import claim, fail
from carepipe.ops import users
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.registry import get_pipeline

PASSWORD = "correct-horse-battery-9"
# Cheap argon2 parameters: tests sign in hundreds of times; production keeps the defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_user(db: Database, username: str, *roles: str, password: str = PASSWORD) -> str:
    with db.transaction() as s:
        users.create_user(s, SYSTEM, username=username, roles=list(roles), password=password)
    return username


def make_dead(
    db: Database,
    blobs: BlobStore,
    *,
    pipeline: str = "two_step",
    payload: bytes | dict[str, Any] | None = None,
    content_type: str = "application/json",
    tenant: str = "acme",
    error: CarePipeError | None = None,
) -> int:
    """Submit a message, claim its first task and fail it permanently: a real dead letter
    with one attempt in its history. Returns the task id."""
    if payload is None:
        payload = {"fail": "permanent", "patient": {"name": "Priya Sharma", "mrn": "MRN1"}}
    raw = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    sub = submit(
        db, blobs, tenant=tenant, pipeline=pipeline, payload=raw, content_type=content_type
    )
    queue = get_pipeline(pipeline).first().queue_name
    for _ in range(5):
        for t in claim(db, queues=[queue], worker_id="test", limit=50, lease_seconds=30):
            if t.job_id == sub.job_id:
                fail(
                    db,
                    t,
                    error or ValidationFailed("told to fail permanently"),
                    retry_base=0.1,
                    retry_cap=0.1,
                )
                return t.id
            from carepipe.core.queue import release

            release(db, t)
    raise AssertionError("could not claim the submitted task")


def insert_dead(
    db: Database,
    n: int,
    *,
    tenant: str = "acme",
    pipeline: str = "two_step",
    queue: str = "t_first",
    codes: tuple[str, ...] = ("validation_failed", "patient_not_found", "emr_rejected"),
    start: Any = None,
    chunk: int = 5000,
) -> None:
    """Bulk-insert ``n`` dead tasks (one archived message, one job per task): for scale and
    concurrency tests where going through the worker n times would take minutes."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from carepipe.core.models import Job, Message, Task

    t0 = start or datetime(2026, 1, 1, tzinfo=UTC)
    msg_id = uuid.uuid4().hex
    with db.transaction() as s:
        s.execute(
            insert(Message).values(
                id=msg_id,
                tenant=tenant,
                source="api",
                kind="application/json",
                pipeline=pipeline,
                content_sha256="0" * 64,
                blob_key="sha256/" + "0" * 64,
                size_bytes=2,
                status="accepted",
                received_at=t0,
                meta={},
            )
        )
    for base in range(0, n, chunk):
        jobs, tasks = [], []
        for i in range(base, min(base + chunk, n)):
            jid = uuid.uuid4().hex
            at = t0 + timedelta(seconds=i)
            jobs.append(
                dict(
                    id=jid,
                    tenant=tenant,
                    pipeline=pipeline,
                    status="dead",
                    priority=1,
                    replay=False,
                    current_stage=queue,
                    message_id=msg_id,
                    created_at=at,
                    updated_at=at,
                    error_code=codes[i % len(codes)],
                )
            )
            tasks.append(
                dict(
                    job_id=jid,
                    queue=queue,
                    stage=queue,
                    status="dead",
                    priority=1,
                    run_after=at,
                    attempts=1,
                    max_attempts=3,
                    last_error_code=codes[i % len(codes)],
                    last_error_message="bulk test",
                    replay=False,
                    created_at=at,
                    updated_at=at,
                )
            )
        with db.transaction() as s:
            s.execute(insert(Job), jobs)
            s.execute(insert(Task), tasks)
