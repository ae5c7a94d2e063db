from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.models import Artifact, Job, Task
from carepipe.ops.api_keys import create_key
from carepipe.pipelines.worker import Worker
from tests.support.waiting import wait_until

SETTLED = ("succeeded", "dead", "waiting_review")


@pytest.fixture
def run_jobs(db, blobs, settings) -> Iterator[Callable[..., list[Job]]]:
    """Run a real in-process worker until the given jobs settle; returns the jobs."""
    workers: list[Worker] = []

    def run(job_ids: list[str], *, timeout: float = 120, settings_override=None) -> list[Job]:
        w = Worker(db, blobs, settings_override or settings, concurrency=2)
        workers.append(w)
        w.start_background()

        def settled() -> list[Job] | None:
            with db.session() as s:
                jobs = [s.get(Job, j) for j in job_ids]
            return jobs if all(j.status in SETTLED for j in jobs) else None

        try:
            return wait_until(settled, timeout=timeout, interval=0.05, what=f"jobs {job_ids}")
        finally:
            w.stop()
            w.stopped.wait(30)

    yield run
    for w in workers:
        w.stop()


def artifacts_of(db, job_id: str) -> dict[str, Artifact]:
    with db.session() as s:
        rows = s.execute(select(Artifact).where(Artifact.job_id == job_id)).scalars().all()
        return {a.kind: a for a in rows}


def dead_task(db, job_id: str) -> Task:
    with db.session() as s:
        return s.execute(
            select(Task).where(Task.job_id == job_id, Task.status == "dead")
        ).scalar_one()


@pytest.fixture
def client(settings, db, blobs) -> Iterator[TestClient]:
    """The HTTP API on the test database (files with other limits define their own)."""
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


@pytest.fixture
def auth(db) -> dict[str, str]:
    """A bearer header for a fresh API key of the tenant ``clinic``."""
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="clinic", name="orders", env="dev").plaintext
    return {"Authorization": f"Bearer {key}"}
