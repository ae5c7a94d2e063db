"""Restore the SQLite database from its Litestream replica, and check a restored copy."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from carepipe.core.config import Settings
from carepipe.core.errors import BackupFailed, RestoreTargetExists
from carepipe.ops.backup.blobs import verify_blobs
from carepipe.ops.backup.litestream import replica_url, run

# A database file is never alone: its WAL and shared-memory files go with it.
SIDECARS = ("", "-wal", "-shm")


def restore_sqlite(s: Settings, target: Path, at: datetime | None, *, force: bool) -> Path:
    """Restore the replica to ``target`` (latest, or the last commit before ``at``).

    Refuses (``restore_target_exists``) when ``target`` holds a database unless
    ``force``: overwriting a live database by a typo is not undoable.
    """
    target = target.expanduser().resolve()
    present = [
        Path(f"{target}{suffix}") for suffix in SIDECARS if Path(f"{target}{suffix}").exists()
    ]
    if present and not force:
        raise RestoreTargetExists(
            f"{target} exists; pass --force to overwrite it", details={"target": str(target)}
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    args = ["restore", "-o", str(target)]
    if force:
        args.append("-force")
    if at is not None:
        args += ["-timestamp", at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    run([*args, replica_url(s)])
    return target


def table_counts(path: Path) -> dict[str, int]:
    """Rows per table of an SQLite file (read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        return {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
        }
    finally:
        conn.close()


def integrity_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of an SQLite file: empty when it reports ``ok``."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"restored database unreadable: {exc}"]
    return [] if rows == ["ok"] else [f"integrity_check: {r}" for r in rows]


def verify_sqlite(s: Settings) -> tuple[dict[str, int], list[str], dict[str, int]]:
    """Restore the latest backup to a temp file and check it and the blob copy.

    Returns (rows per table, problems, blob figures); a replica that does not restore
    at all is a problem too, reported as such rather than as a tool failure.
    """
    problems: list[str] = []
    tables: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="carepipe-verify-") as scratch:
        copy = Path(scratch, "verify.db")
        try:
            restore_sqlite(s, copy, None, force=False)
        except BackupFailed as exc:
            output = "; ".join((exc.details or {}).get("output", []))
            problems.append(f"backup does not restore: {output or exc.message}")
        else:
            problems += integrity_problems(copy)
            if not problems:
                tables = table_counts(copy)
    blobs = verify_blobs(s)
    problems += [f"blob missing or altered: {rel}" for rel in blobs.bad]
    return tables, problems, {"checked": blobs.checked, "bad": len(blobs.bad)}
