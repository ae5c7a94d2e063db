"""Periodic operations for ``carepipe up``: finalise backfills, resume stalled bulk replays,
sign audit checkpoints.

Each job is idempotent and safe to run from several processes at once (they
take leases or conditional updates), so one scheduler per API host is fine.
While the platform is fenced (``carepipe maintenance fence``) the jobs that write wait
for the lift; the metric exporters (``writes=False``) go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from carepipe.core.blobs import BlobStore
from carepipe.core.db import Database
from carepipe.core.maintenance.watch import FenceWatch
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.scheduler")


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: float
    run: Callable[[], object]
    # False for jobs that only read (metric exporters): they run while the platform is fenced.
    writes: bool = True


def default_jobs(db: Database, blobs: BlobStore) -> list[Periodic]:
    from carepipe.core.audit import current_setup
    from carepipe.mlops.reports import run_due_schedules
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
        # Drift of deployed model versions: each version is checked when its next check is due.
        Periodic("model.drift_check", 60.0, lambda: _drift_check_due(db)),
        # Recurring model performance reports (ml_report_schedules) whose next run is due.
        Periodic("model.report_schedules", 300.0, lambda: run_due_schedules(db, blobs)),
        # Canary analysis of running model rollouts (each canary's own interval decides).
        Periodic("model.canary_analysis", 5.0, lambda: _canary_analysis(db)),
        *_api_key_jobs(db),
        *_backup_jobs(),
        *_dr_jobs(db),
    ]


def _api_key_jobs(db: Database) -> list[Periodic]:
    """Issue 16: revoke keys whose grace ended, export time to rotation, write usage
    tallies of keys that went quiet (busy keys are written as they are used), clear
    one-time links that expired unviewed."""
    from carepipe.ops import key_handover, key_rotation, key_usage

    return [
        Periodic("api_keys.revoke_expired", 30.0, lambda: key_rotation.revoke_expired(db)),
        Periodic(
            "api_keys.rotation_due",
            300.0,
            lambda: key_rotation.export_rotation_due(db),
            writes=False,
        ),
        Periodic("api_keys.flush_usage", 60.0, lambda: key_usage.flush_usage(db)),
        Periodic("api_keys.purge_links", 300.0, lambda: key_handover.purge_expired(db)),
    ]


def _backup_jobs() -> list[Periodic]:
    """Issue 17: export backup health (age, lag, last verification) when backups are
    configured; an install without backups gets no job and no backup series."""
    from carepipe.core.config import get_settings
    from carepipe.ops.backup.blobs import blob_backup_configured, sync_blobs
    from carepipe.ops.backup.metrics import backups_configured, export_backup_metrics

    settings = get_settings()
    if not backups_configured(settings):
        return []
    jobs = [Periodic("backup.metrics", 30.0, lambda: export_backup_metrics(settings), writes=False)]
    if blob_backup_configured(settings):
        # The database ships continuously; without this the payloads it points to would
        # wait for a ``backup now``. It writes only to the backup, so it runs while fenced
        # (a fenced primary's last blobs are exactly what a failover needs).
        jobs.append(
            Periodic(
                "backup.blobs",
                settings.backup_blob_sync_seconds,
                lambda: sync_blobs(settings),
                writes=False,
            )
        )
    return jobs


def _dr_jobs(db: Database) -> list[Periodic]:
    """Issue 17: drill and finding gauges (always: open findings outlive a backup change),
    and the drill schedule (it decides itself whether backups are configured)."""
    from carepipe.core.config import get_settings
    from carepipe.ops.dr.metrics import export_dr_metrics
    from carepipe.ops.dr.schedule import scheduled_drill

    settings = get_settings()
    return [
        Periodic("dr.metrics", 30.0, lambda: export_dr_metrics(db, settings), writes=False),
        Periodic("dr.schedule", 300.0, lambda: scheduled_drill(db, settings)),
    ]


def _drift_check_due(db: Database) -> object:
    from carepipe.core.config import get_settings
    from carepipe.mlops.drift import check_due

    return check_due(db, get_settings())


def _canary_analysis(db: Database) -> object:
    from carepipe.core.config import get_settings
    from carepipe.mlops.canary import analyse_due

    return analyse_due(db, get_settings())


def canary_jobs(db: Database) -> list[Periodic]:
    """The jobs a separate ``carepipe worker`` runs too, so canaries are analysed when no
    ``carepipe up`` runs (conditional updates keep two analysers from double-stepping)."""
    return [Periodic("model.canary_analysis", 5.0, lambda: _canary_analysis(db))]


class Scheduler:
    """Runs each job every ``every_seconds`` on a daemon thread; a failing job is only logged.

    With ``fence`` (the process's ``FenceWatch``), writing jobs are skipped while the
    platform is fenced and run at the first tick after the lift.
    """

    def __init__(self, jobs: list[Periodic], *, fence: FenceWatch | None = None) -> None:
        self.jobs = jobs
        self.fence = fence
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
            fenced = self.fence is not None and self.fence.fenced
            for job in self.jobs:
                if now < due[job.name] or (fenced and job.writes):
                    continue
                due[job.name] = now + job.every_seconds
                try:
                    job.run()
                except Exception as exc:  # the next tick tries again
                    log.warning("scheduler.job_failed", job=job.name, error=type(exc).__name__)
