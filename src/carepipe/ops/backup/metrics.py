"""Backup health for Prometheus: the backend's ``status()`` as gauges (the scheduler, every
30 s, when backups are configured; alert rules in deploy/prometheus/alerts.yml).

No ``carepipe_dr_last_drill_timestamp_seconds`` yet: there is no ``carepipe dr drill`` to
set it, and a gauge stuck at 0 would only teach people to ignore it.
"""

from __future__ import annotations

from carepipe.core.config import Settings
from carepipe.observability.metrics import (
    BACKUP_LAG,
    BACKUP_LAST_SUCCESS,
    BACKUP_LAST_VERIFY,
    BACKUP_LAST_VERIFY_OK,
    BACKUP_RPO_TARGET,
)
from carepipe.ops.backup.service import backend_for
from carepipe.ops.backup.status import BackupStatus


def backups_configured(s: Settings) -> bool:
    """Whether this install backs up its database: a ``backup_url`` for SQLite
    (Litestream), a repository passphrase for PostgreSQL (pgBackRest requires one)."""
    url = s.resolved_database_url
    if url.startswith("sqlite"):
        return bool(s.backup_url)
    if url.startswith("postgresql"):
        return s.pgbackrest_cipher_pass is not None
    return False


def export_backup_metrics(s: Settings) -> BackupStatus:
    """Read the backend's status and set the ``carepipe_backup_*`` gauges from it.

    A status that cannot be read raises (the scheduler logs it) and leaves the gauges as
    they were: the age of ``last_success`` keeps growing in Prometheus either way.
    """
    status = backend_for(s).status()
    backend = status.backend
    BACKUP_RPO_TARGET.labels(backend).set(s.backup_rpo_seconds)
    BACKUP_LAST_SUCCESS.labels(backend).set(
        status.last_backup_at.timestamp() if status.last_backup_at else 0
    )
    # No restorable point yet: nothing is shipped, so the lag is unknown; 0 would look healthy.
    BACKUP_LAG.labels(backend).set(
        status.lag_seconds if status.lag_seconds is not None else float("inf")
    )
    verify = status.last_verify
    BACKUP_LAST_VERIFY.labels(backend).set(verify.verified_at.timestamp() if verify else 0)
    BACKUP_LAST_VERIFY_OK.labels(backend).set(1 if verify and verify.ok else 0)
    return status
