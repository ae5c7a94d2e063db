"""The backup services the CLI calls: permission, the backend's work, the audit entry.

Audited where a database is reachable: ``backup.now`` and ``backup.verify`` in the
configured database, ``backup.restore`` in the restored one (it is the database that
will be used, and it should say how it came to be). A database that is gone (the
reason for a restore) is not recreated empty just to write an audit row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import BackupCorrupt, BackupNotConfigured
from carepipe.observability.logging import get_logger
from carepipe.ops.backup.status import (
    BackupBackend,
    BackupEntry,
    BackupRun,
    BackupStatus,
    RestoreResult,
    VerifyReport,
)

log = get_logger("carepipe.backup")
PERMISSION = "backup.manage"


def backend_for(settings: Settings) -> BackupBackend:
    """The backup backend for the configured database: Litestream for SQLite, pgBackRest
    for PostgreSQL (imported on use: each pulls in its own tooling)."""
    if settings.resolved_database_url.startswith("sqlite"):
        from carepipe.ops.backup.sqlite_backend import LitestreamBackend

        return LitestreamBackend(settings)
    if settings.resolved_database_url.startswith("postgresql"):
        from carepipe.ops.backup.pgbackrest import PgBackRestBackend

        return PgBackRestBackend(settings)
    raise BackupNotConfigured("no backup backend for this database")


def _audit(url: str, principal: Principal, action: str, after: dict[str, Any]) -> None:
    """Append one audit event to the database at ``url`` if it is there to take it."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        log.warning("backup.audit_skipped", action=action, reason="no database")
        return
    db = Database(url)
    try:
        with db.transaction() as session:
            audit.record(
                session,
                actor=principal.actor,
                actor_role=principal.role,
                action=action,
                target_type="backup",
                target_id=after.get("backend"),
                after=after,
            )
    except SQLAlchemyError as exc:
        log.warning("backup.audit_skipped", action=action, reason=str(exc))
    finally:
        db.dispose()


def backup_status(s: Settings, principal: Principal) -> BackupStatus:
    """``backup.manage``: where replication stands."""
    require(principal, PERMISSION)
    return backend_for(s).status()


def backup_now(s: Settings, principal: Principal) -> BackupRun:
    """``backup.manage``: ship everything committed so far; audited ``backup.now``."""
    require(principal, PERMISSION)
    run = backend_for(s).backup_now()
    _audit(s.resolved_database_url, principal, "backup.now", run.model_dump(mode="json"))
    return run


def list_backups(s: Settings, principal: Principal) -> list[BackupEntry]:
    """``backup.manage``: restorable units, oldest first."""
    require(principal, PERMISSION)
    return backend_for(s).list_backups()


def verify_backup(s: Settings, principal: Principal) -> VerifyReport:
    """``backup.manage``: restore to scratch and check; ``backup_corrupt`` when unsound.

    The report is kept (``backup status`` shows it) and audited before the refusal,
    so a failed verification is on record too.
    """
    require(principal, PERMISSION)
    report = backend_for(s).verify()
    after = report.model_dump(mode="json", include={"backend", "ok", "tables", "problems"})
    _audit(s.resolved_database_url, principal, "backup.verify", after)
    if not report.ok:
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise BackupCorrupt(
            f"backup is corrupt: {report.problems[0]}{more}",
            details={"problems": report.problems[:20]},
        )
    return report


def restore(
    s: Settings, principal: Principal, target: Path, at: datetime | None, *, force: bool
) -> RestoreResult:
    """``backup.manage``: restore to ``target``; audited ``backup.restore`` there."""
    require(principal, PERMISSION)
    result = backend_for(s).restore(target, at, force=force)
    after = result.model_dump(mode="json", include={"backend", "target", "at", "position"})
    after["force"] = force
    _audit(result.database_url or s.resolved_database_url, principal, "backup.restore", after)
    return result
