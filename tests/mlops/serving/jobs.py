"""Scribe jobs through the front door for the serving tests: posted to ``/v1/jobs`` with the
partner key (an idempotency key each: the canary's routing key), run by a worker that keeps
running across deploys, canaries and rollbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from carepipe.core.models import Artifact, Job
from carepipe.mlops.health import SMOKE_CLIP
from carepipe.mlops.serving import bucket
from carepipe.pipelines.worker import Worker
from tests.support.waiting import wait_until

SETTLED = ("succeeded", "dead", "waiting_review")


def keys_in(arm: str, percent: int, n: int, prefix: str) -> list[str]:
    """``n`` idempotency keys whose bucket puts them in ``arm`` at a ``percent`` canary."""
    out, i = [], 0
    while len(out) < n:
        key = f"{prefix}-{i}"
        if (bucket(key) < percent) == (arm == "canary"):
            out.append(key)
        i += 1
    return out


def submit(client, headers, key: str) -> str:
    """Post the 4-second smoke clip as a scribe job; the job id."""
    r = client.post(
        "/v1/jobs",
        headers={**headers, "Idempotency-Key": key},
        data={"pipeline": "scribe"},
        files={"file": ("clip.flac", SMOKE_CLIP.read_bytes(), "audio/flac")},
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def settle(db, job_ids: list[str], timeout: float = 180) -> list[Job]:
    def settled() -> list[Job] | None:
        with db.session() as s:
            jobs = [s.get(Job, j) for j in job_ids]
        return jobs if all(j.status in SETTLED for j in jobs) else None

    return wait_until(settled, timeout=timeout, interval=0.1, what=f"jobs {job_ids}")


def transcript_of(db, job_id: str) -> Artifact | None:
    with db.session() as s:
        return s.execute(
            select(Artifact).where(Artifact.job_id == job_id, Artifact.kind == "transcript")
        ).scalar_one_or_none()


@pytest.fixture
def worker(db, blobs, settings) -> Iterator[Worker]:
    """One worker kept running for the whole test."""
    w = Worker(db, blobs, settings, concurrency=2)
    w.start_background()
    yield w
    w.stop()
    w.stopped.wait(30)
