"""``BackupBackend`` for the embedded SQLite database: Litestream plus the blob copy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from carepipe.core.config import Settings
from carepipe.ops.backup import litestream
from carepipe.ops.backup.blobs import read_manifest, sync_blobs
from carepipe.ops.backup.sqlite_restore import restore_sqlite, table_counts, verify_sqlite
from carepipe.ops.backup.status import (
    BackupEntry,
    BackupRun,
    BackupStatus,
    RestoreResult,
    VerifyReport,
    keep_last_verify,
    last_verify,
)

# Litestream names LTX files by level: 0 holds each sync's pages, the top level snapshots.
SNAPSHOT_LEVEL = 9


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class LitestreamBackend:
    """The SQLite database replicated by Litestream to ``<backup_url>/db``, blobs to
    ``<backup_url>/blobs``."""

    name = "litestream"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def status(self) -> BackupStatus:
        """Newest replicated txid and time, transactions not yet replicated, blob count."""
        s = self.settings
        files = litestream.ltx_files(s)
        newest = files[-1] if files else None
        replicated = int(newest["max_txid"], 16) if newest else 0
        local = litestream.local_txid(s)
        last_at = _parse_time(newest["timestamp"]) if newest else None
        behind = max(0, (local or 0) - replicated)
        lag = (datetime.now(UTC) - last_at).total_seconds() if behind and last_at else 0.0
        return BackupStatus(
            backend=self.name,
            replica=litestream.replica_url(s),
            last_backup_at=last_at,
            position=newest["max_txid"] if newest else None,
            lag_seconds=round(lag, 3) if newest else None,
            last_verify=last_verify(s),
            details={
                "local_txid": f"{local:016x}" if local is not None else None,
                "txids_behind": behind,
                "replicator_running": litestream.socket_path(s).exists(),
                "blob_manifest_size": len(read_manifest(s)),
            },
        )

    def backup_now(self) -> BackupRun:
        """Sync the WAL to the replica and copy new blobs."""
        s = self.settings
        litestream.sync_now(s)
        blobs = sync_blobs(s)
        files = litestream.ltx_files(s)
        return BackupRun(
            backend=self.name,
            finished_at=datetime.now(UTC),
            position=files[-1]["max_txid"] if files else None,
            details={"blobs_copied": blobs.copied, "blob_manifest_size": blobs.total},
        )

    def list_backups(self) -> list[BackupEntry]:
        """Every LTX file of the replica: snapshots and per-sync segments."""
        return [
            BackupEntry(
                id=f"{f['level']}/{f['min_txid']}-{f['max_txid']}",
                kind="snapshot" if f["level"] == SNAPSHOT_LEVEL else f"ltx-level-{f['level']}",
                created_at=_parse_time(f.get("timestamp")),
                size_bytes=f.get("size"),
                details={"min_txid": f["min_txid"], "max_txid": f["max_txid"]},
            )
            for f in litestream.ltx_files(self.settings)
        ]

    def verify(self) -> VerifyReport:
        """Restore the latest to a temp file, integrity-check, count rows, re-hash blobs."""
        tables, problems, blobs = verify_sqlite(self.settings)
        report = VerifyReport(
            backend=self.name,
            ok=not problems,
            verified_at=datetime.now(UTC),
            tables=tables,
            problems=problems,
            details={"blobs_checked": blobs["checked"], "blobs_bad": blobs["bad"]},
        )
        keep_last_verify(self.settings, report)
        return report

    def restore(self, target: Path, at: datetime | None, *, force: bool = False) -> RestoreResult:
        """``litestream restore`` to ``target`` (``-timestamp`` when ``at`` is given)."""
        path = restore_sqlite(self.settings, target, at, force=force)
        return RestoreResult(
            backend=self.name,
            target=str(path),
            at=at,
            database_url=f"sqlite:///{path}",
            tables=table_counts(path),
        )
