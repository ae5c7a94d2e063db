"""Periodic operations for ``carepipe up``: finalise backfills, resume stalled bulk replays,
sign audit checkpoints.

Each job is idempotent and safe to run from several processes at once (they
take leases or conditional updates), so one scheduler per API host is fine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.scheduler")


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: float
    run: Callable[[], object]


def default_jobs(db: Database, blobs: BlobStore) -> list[Periodic]:
    from carepipe.core.audit import current_setup
    from carepipe.ops import audit_checkpoints, backfill, bulk_replay

    return [
        Periodic("backfill.finalize", 10.0, lambda: backfill.finalize_due(db, blobs)),
        Periodic("bulk_replay.resume", 30.0, lambda: bulk_replay.resume_stale(db)),
        # First run at start-up, then every interval: rows deleted from the end of the
        # audit log go unnoticed only if they were never covered by a checkpoint.
        Periodic(
            "audit.checkpoint",
            current_setup().checkpoint_interval_seconds,
            lambda: audit_checkpoints.scheduled_checkpoint(db),
        ),
    ]


class Scheduler:
    """Runs each job every ``every_seconds`` on a daemon thread; a failing job is only logged."""

    def __init__(self, jobs: list[Periodic]) -> None:
        self.jobs = jobs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carepipe-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import time

        due = {j.name: 0.0 for j in self.jobs}
        while not self._stop.wait(1.0):
            now = time.monotonic()
            for job in self.jobs:
                if now < due[job.name]:
                    continue
                due[job.name] = now + job.every_seconds
                try:
                    job.run()
                except Exception as exc:  # the next tick tries again
                    log.warning("scheduler.job_failed", job=job.name, error=type(exc).__name__)
