from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from carepipe.core.models import Artifact, Job, Task
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
