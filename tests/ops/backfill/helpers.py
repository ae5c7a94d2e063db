"""Helpers shared by the backfill tests (services, API, browser)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import FrozenClock
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import UnknownPipeline
from carepipe.core.models import Job, Message, Task
from carepipe.core.queue import claim
from carepipe.pipelines.ingest import Submission, archive_rejected, submit
from carepipe.pipelines.worker import Worker

OPS = Principal(kind="user", id="ops1", roles=("ops",))
CLINICIAN = Principal(kind="user", id="doc1", roles=("clinician",))
COMPLIANCE = Principal(kind="user", id="comp1", roles=("compliance",))


def accepted(
    db: Database,
    blobs: BlobStore,
    doc: dict[str, Any] | None = None,
    *,
    tenant: str = "acme",
    pipeline: str = "two_step",
    key: str | None = None,
    source: str = "api",
) -> Submission:
    """Archive a JSON message and start its job (``received_at`` is the clock's now)."""
    return submit(
        db,
        blobs,
        tenant=tenant,
        pipeline=pipeline,
        payload=json.dumps(doc or {"n": 1}).encode(),
        content_type="application/json",
        idempotency_key=key,
        source=source,
        priority=0,
    )


def rejected(
    db: Database,
    blobs: BlobStore,
    doc: dict[str, Any] | None = None,
    *,
    tenant: str = "acme",
    pipeline: str = "two_step",
    content_type: str = "application/json",
) -> str:
    """Archive a message that was refused before any job existed; returns its id."""
    return archive_rejected(
        db,
        blobs,
        tenant=tenant,
        payload=json.dumps(doc or {"rejected": True}).encode(),
        content_type=content_type,
        source="mllp",
        error=UnknownPipeline("pipeline was not deployed yet"),
        pipeline=pipeline,
    )


def open_tasks(db: Database) -> int:
    with db.session() as s:
        return int(
            s.execute(
                select(func.count()).select_from(Task).where(Task.status.in_(("ready", "leased")))
            ).scalar_one()
        )


def drain(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    clock: FrozenClock,
    *,
    queues: list[str] | None = None,
    max_rounds: int = 2000,
    step: float = 1.0,
) -> int:
    """Run every task to the end with real handlers, moving the frozen clock when idle.

    Rate-limited queues hand out tasks only as their token buckets refill, so the
    clock is what paces them; nothing sleeps. Returns how many tasks ran.
    """
    worker = Worker(db, blobs, settings, concurrency=1, worker_id="test-drain")
    ran = 0
    for _ in range(max_rounds):
        got = claim(db, queues=queues, worker_id="test-drain", limit=20, lease_seconds=30)
        for task in got:
            worker._execute(task)
            ran += 1
        if not got:
            if not open_tasks(db):
                return ran
            clock.advance(step)
    raise AssertionError("tasks did not drain")


def count_rows(db: Database, model: Any, *where: Any) -> int:
    with db.session() as s:
        stmt = select(func.count()).select_from(model)
        if where:
            stmt = stmt.where(*where)
        return int(s.execute(stmt).scalar_one())


def job_of(db: Database, job_id: str) -> Job:
    with db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def message_count(db: Database) -> int:
    return count_rows(db, Message)


class LiveServer:
    """The real app under uvicorn on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        import socket

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread: Any = None

    def __enter__(self) -> LiveServer:
        import threading
        import time

        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def personal_token(db: Database, username: str, *roles: str) -> str:
    """A console user with ``roles`` and a personal API token (``cpu_...``) for the staff API."""
    from argon2 import PasswordHasher

    from carepipe.core.auth import SYSTEM
    from carepipe.ops import users

    previous = users.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024))
    try:
        with db.transaction() as s:
            users.create_user(
                s, SYSTEM, username=username, roles=list(roles), password="correct-horse-battery-9"
            )
            return users.issue_token(s, SYSTEM, username).plaintext
    finally:
        users.use_password_hasher(previous)
