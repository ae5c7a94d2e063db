"""The shape every backup backend shares: its views and the ``BackupBackend`` protocol.

``backend_for`` (which backend a database gets) is in ``service``: the backends import
these views, so picking them here would make a circle.

Fields common to all backends are typed; what only one backend knows (Litestream's
transaction ids, pgBackRest's backup labels, the blob manifest) goes in ``details``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from carepipe.core.config import Settings
from carepipe.ops.views import View


class VerifyReport(View):
    """A backup restored to a scratch copy and checked; ``problems`` empty means sound."""

    backend: str
    ok: bool
    verified_at: datetime
    tables: dict[str, int] = Field(default_factory=dict, description="Rows per table.")
    problems: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


def _last_verify_path(s: Settings) -> Path:
    return s.data_dir / "backup-last-verify.json"


def keep_last_verify(s: Settings, report: VerifyReport) -> None:
    """Keep ``report`` as the last verification (``backup status`` and the backup metrics
    show it: a verify's result must outlive the command that ran it)."""
    _last_verify_path(s).write_text(report.model_dump_json())


def last_verify(s: Settings) -> VerifyReport | None:
    """The last verification kept by ``keep_last_verify``, if any."""
    path = _last_verify_path(s)
    return VerifyReport.model_validate_json(path.read_text()) if path.exists() else None


class BackupStatus(View):
    """Where replication stands: the newest restorable point and how far behind it is."""

    backend: str
    replica: str
    last_backup_at: datetime | None = None
    position: str | None = Field(None, description="Newest restorable position (txid, LSN).")
    lag_seconds: float | None = Field(
        None, description="Seconds since the newest restorable point, when changes wait."
    )
    last_verify: VerifyReport | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class BackupRun(View):
    """One forced backup (``backup now``): what is restorable after it."""

    backend: str
    finished_at: datetime
    position: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class BackupEntry(View):
    """One restorable unit: a snapshot or a WAL segment (Litestream), a backup (pgBackRest)."""

    id: str
    kind: str
    created_at: datetime | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RestoreResult(View):
    """A finished restore; ``database_url`` names the restored database when it can be
    opened (restore is audited there)."""

    backend: str
    target: str
    at: datetime | None = None
    position: str | None = None
    database_url: str | None = None
    tables: dict[str, int] = Field(default_factory=dict)


class BackupBackend(Protocol):
    """What ``carepipe backup ...`` and ``carepipe restore`` need of a backend."""

    name: str

    def status(self) -> BackupStatus:
        """Newest restorable point, lag, last verification."""
        ...

    def backup_now(self) -> BackupRun:
        """Ship everything committed so far (a sync or a backup)."""
        ...

    def list_backups(self) -> list[BackupEntry]:
        """Restorable units, oldest first."""
        ...

    def verify(self) -> VerifyReport:
        """Restore to scratch and check it; ``ok`` False (not an exception) when it is not
        sound, so the report is kept and audited before the service refuses."""
        ...

    def restore(self, target: Path, at: datetime | None, *, force: bool = False) -> RestoreResult:
        """Restore to ``target`` (latest, or as of ``at``); ``RestoreTargetExists`` unless
        ``force`` when something is there."""
        ...
