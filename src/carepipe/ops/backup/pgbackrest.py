"""PostgreSQL backups with pgBackRest: stanza config, WAL archiving, full/incr, verify, PITR.

CarePipe writes the pgBackRest configuration from its settings and runs the
``pgbackrest`` binary; the backups themselves are pgBackRest's own (encrypted
with ``aes-256-cbc``). pgBackRest reads the data directory, so the commands run on
the database host, as the cluster's owner (``postgres``) or as root, which starts
pgBackRest as that owner: the server's ``archive_command`` runs as that user and must
keep write access to the repository, spool and lock files. See docs/backups.md.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from carepipe.core.config import Settings
from carepipe.core.errors import (
    BackupFailed,
    BackupNotConfigured,
    InvalidRequest,
    RestoreTargetExists,
)
from carepipe.ops.backup.blobs import read_manifest, sync_blobs, verify_blobs
from carepipe.ops.backup.status import (
    BackupEntry,
    BackupRun,
    BackupStatus,
    RestoreResult,
    VerifyReport,
    keep_last_verify,
    last_verify,
)

BINARY = "pgbackrest"
# One pgBackRest command may take this long (a full backup of a large database takes
# a while); a stuck repository mount then fails the command instead of hanging it.
COMMAND_TIMEOUT_SECONDS = 6 * 3600
# pgBackRest exits 50 (LockAcquireError) when another of its processes holds a lock the
# command needs. The server's archive_command starts archive-push, which holds the
# stanza's archive lock while it ships a segment; a stanza-create or backup that meets it
# waits for the push to end instead of failing (CI saw `backup now` fail so under WAL load).
LOCK_HELD_EXIT = 50
LOCK_WAIT_SECONDS = 30.0
LOCK_RETRY_SECONDS = 0.5


def archive_timeout_seconds(rpo_seconds: int) -> int:
    """``archive_timeout`` for an RPO target: a fifth of it, at most 60 s, at least 1 s.

    A WAL segment is archived when full or when ``archive_timeout`` forces a
    switch, so on a quiet server the newest commit waits up to this long; a fifth
    of the RPO leaves room for the push itself and a retry or two. Capped at 60 s
    because each forced switch costs a 16 MB segment in the archive.
    """
    return max(1, min(60, rpo_seconds // 5))


def base_dir(settings: Settings) -> Path:
    """Where CarePipe keeps pgBackRest's config, spool and lock files."""
    return settings.data_dir / "pgbackrest"


def config_path(settings: Settings) -> Path:
    """The generated ``pgbackrest.conf`` (mode 0600: it holds the cipher passphrase)."""
    return base_dir(settings) / "pgbackrest.conf"


def repo_path(settings: Settings) -> Path:
    """The backup repository: ``pgbackrest_repo_path``, else ``data_dir/pgbackrest/repo``."""
    return settings.pgbackrest_repo_path or base_dir(settings) / "repo"


def archive_command(settings: Settings) -> str:
    """The ``archive_command`` the PostgreSQL server needs for this stanza."""
    return (
        f"{BINARY} --config={config_path(settings)} "
        f"--stanza={settings.pgbackrest_stanza} archive-push %p"
    )


@dataclass(frozen=True)
class Cluster:
    """Where pgBackRest finds the running cluster (asked of the server itself)."""

    data_directory: Path
    port: int
    socket_dir: str | None
    user: str


def discover_cluster(database_url: str) -> Cluster:
    """Ask the server for its data directory, port and socket (needs superuser or
    ``pg_read_all_settings``), so the settings carry only the database URL."""
    engine = create_engine(make_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT current_setting('data_directory'), current_setting('port'), "
                    "current_setting('unix_socket_directories'), current_user"
                )
            ).one()
    finally:
        engine.dispose()
    socket = row[2].split(",")[0].strip() or None
    return Cluster(Path(row[0]), int(row[1]), socket, row[3])


def _archiver(database_url: str) -> dict[str, Any]:
    """The server's ``pg_stat_archiver`` row: last archived segment and time, failures."""
    engine = create_engine(make_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT last_archived_wal, last_archived_time, archived_count, "
                    "failed_count, last_failed_wal, "
                    "pg_walfile_name(pg_current_wal_lsn()) AS current_wal "
                    "FROM pg_stat_archiver"
                )
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def _lag_seconds(archiver: dict[str, Any]) -> float | None:
    """How long the oldest WAL not yet in the repository has waited (None: never archived).

    Seconds since the last segment was archived, unless nothing has been written since:
    at a segment boundary ``pg_walfile_name`` names the segment just closed, so an idle
    server whose last segment was archived has nothing at risk (lag 0) and must not page
    ``CarePipeBackupBehindRpo`` however long it stays idle.
    """
    last_archived = archiver.get("last_archived_time")
    if last_archived is None:
        return None
    if archiver.get("current_wal") == archiver.get("last_archived_wal"):
        return 0.0
    return (datetime.now(UTC) - last_archived).total_seconds()


def render_config(settings: Settings, cluster: Cluster) -> str:
    """``pgbackrest.conf`` for the stanza; the passphrase is in it (file mode 0600)."""
    if settings.pgbackrest_cipher_pass is None:
        raise InvalidRequest("pgbackrest_cipher_pass is not set: backups are always encrypted")
    base = base_dir(settings)
    lines = [
        "[global]",
        f"repo1-path={repo_path(settings)}",
        "repo1-cipher-type=aes-256-cbc",
        f"repo1-cipher-pass={settings.pgbackrest_cipher_pass.get_secret_value()}",
        "repo1-retention-full=2",
        # Async push: the server's archive_command returns once the segment is queued
        # in the spool, so a slow repository does not hold up WAL recycling.
        "archive-async=y",
        f"spool-path={base / 'spool'}",
        f"lock-path={base / 'lock'}",
        f"log-path={base / 'log'}",
        "log-level-console=warn",
        "log-level-stderr=off",
        "log-level-file=info",
        "start-fast=y",
        "compress-type=lz4",
        "",
        f"[{settings.pgbackrest_stanza}]",
        f"pg1-path={cluster.data_directory}",
        f"pg1-port={cluster.port}",
        f"pg1-user={cluster.user}",
    ]
    if cluster.socket_dir:
        lines.append(f"pg1-socket-path={cluster.socket_dir}")
    return "\n".join(lines) + "\n"


def write_config(settings: Settings, cluster: Cluster) -> Path:
    """Write ``pgbackrest.conf`` (0600) and the directories it names; returns its path.

    Run as root, the files are handed to the data directory's owner: the server's
    ``archive_command`` runs as that user and must read the config and write the
    repository.
    """
    owner = cluster.data_directory.stat().st_uid
    base = base_dir(settings)
    dirs = [base / "spool", base / "lock", base / "log", repo_path(settings)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config_path(settings)
    # Created 0600 before the passphrase is written, never world-readable in between.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(render_config(settings, cluster))
    if os.geteuid() == 0 and owner != 0:
        for p in [base, *dirs, path]:
            os.chown(p, owner, -1)
    return path


class PgBackRest:
    """Runs ``pgbackrest`` against CarePipe's generated config for one stanza."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stanza = settings.pgbackrest_stanza

    def run(
        self, command: str, *options: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one pgBackRest command; on failure raise ``BackupFailed`` with its stderr.

        A run refused because another pgBackRest process holds its lock (the server's
        archive-push) is tried again for up to ``LOCK_WAIT_SECONDS``. The passphrase is in
        the config file, never on the command line (``ps``) nor in the error message.
        """
        argv = [
            *_as_owner(config_path(self.settings)),
            BINARY,
            f"--config={config_path(self.settings)}",
            f"--stanza={self.stanza}",
            *options,
            command,
        ]
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        proc = _run_once(argv, command)
        while proc.returncode == LOCK_HELD_EXIT and time.monotonic() < deadline:
            time.sleep(LOCK_RETRY_SECONDS)
            proc = _run_once(argv, command)
        if check and proc.returncode != 0:
            raise BackupFailed(
                f"pgbackrest {command} failed (exit {proc.returncode}): "
                f"{_last_lines(proc.stderr or proc.stdout)}"
            )
        return proc

    def info(self) -> dict[str, Any]:
        """``pgbackrest info --output=json`` for the stanza (empty dict: no stanza yet)."""
        out = json.loads(self.run("info", "--output=json").stdout or "[]")
        return out[0] if out else {}


def _run_once(argv: list[str], command: str) -> subprocess.CompletedProcess[str]:
    """One run of a pgBackRest command line, its failures to start as ``BackupFailed``."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise BackupFailed("pgbackrest is not installed (Debian package pgbackrest)") from None
    except subprocess.TimeoutExpired:
        raise BackupFailed(
            f"pgbackrest {command} still running after {COMMAND_TIMEOUT_SECONDS} s"
        ) from None


def _as_owner(path: Path) -> list[str]:
    """A ``runuser`` prefix when root runs CarePipe: pgBackRest then runs as the owner of
    the config (the cluster's owner), or the files it writes would lock that user out."""
    if os.geteuid() != 0 or not path.exists():
        return []
    owner = pwd.getpwuid(path.stat().st_uid).pw_name
    return [] if owner == "root" else ["runuser", "-u", owner, "--"]


def _last_lines(output: str, n: int = 5) -> str:
    """The tail of pgBackRest's output, where it says what went wrong."""
    return " | ".join(line.strip() for line in output.strip().splitlines()[-n:])


def _entry(raw: dict[str, Any]) -> BackupEntry:
    """One backup from ``info --output=json`` as CarePipe lists it."""
    ts = raw.get("timestamp", {})
    info = raw.get("info", {})
    return BackupEntry(
        id=raw["label"],
        kind=raw["type"],
        created_at=_utc(ts.get("stop")),
        size_bytes=info.get("size"),
        details={
            "started_at": _utc(ts.get("start")),
            "repo_bytes": info.get("repository", {}).get("delta"),
            "wal_start": raw.get("archive", {}).get("start"),
            "wal_stop": raw.get("archive", {}).get("stop"),
            "prior": raw.get("prior"),
            "error": bool(raw.get("error", False)),
        },
    )


def _utc(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _blobs_backed_up(settings: Settings) -> bool:
    """Whether the local blob store is copied beside the database backup: it needs a
    directory ``backup_url`` (``<backup_url>/blobs``) and a ``file://`` blob store."""
    if not settings.backup_url:
        return False
    try:
        read_manifest(settings)  # raises for an s3:// backup_url
    except BackupNotConfigured:
        return False
    return settings.resolved_blob_url.startswith("file:")


class PgBackRestBackend:
    """The ``BackupBackend`` (``ops.backup.status``) for PostgreSQL databases.

    pgBackRest holds the database; the local blob store (the PHI payloads the rows point
    to) is copied to ``<backup_url>/blobs`` with its manifest, as on SQLite, when
    ``backup_url`` is a directory: a restored database without its blobs is no restore.
    """

    name = "pgbackrest"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tool = PgBackRest(settings)

    def _configure(self) -> Cluster:
        """(Re)write the config from the settings and the running server."""
        cluster = discover_cluster(self.settings.resolved_database_url)
        write_config(self.settings, cluster)
        return cluster

    def _entries(self) -> list[BackupEntry]:
        return [_entry(b) for b in self.tool.info().get("backup", [])]

    def status(self) -> BackupStatus:
        """Newest backup, the archived WAL range and the server's archiver counters."""
        self._configure()
        info = self.tool.info()
        entries = [_entry(b) for b in info.get("backup", [])]
        archive = (info.get("archive") or [{}])[0]
        archiver = _archiver(self.settings.resolved_database_url)
        return BackupStatus(
            backend=self.name,
            replica=str(repo_path(self.settings)),
            last_backup_at=entries[-1].created_at if entries else None,
            position=archive.get("max"),
            lag_seconds=_lag_seconds(archiver),
            last_verify=last_verify(self.settings),
            details={
                "stanza": self.tool.stanza,
                "stanza_status": info.get("status", {}).get("message", "missing stanza"),
                "last_backup": entries[-1].id if entries else None,
                "wal_min": archive.get("min"),
                "archiver": {k: v for k, v in archiver.items() if k != "last_archived_time"},
                "rpo_seconds": self.settings.backup_rpo_seconds,
                "archive_timeout_seconds": archive_timeout_seconds(
                    self.settings.backup_rpo_seconds
                ),
                "archive_command": archive_command(self.settings),
                "blob_manifest_size": (
                    len(read_manifest(self.settings)) if _blobs_backed_up(self.settings) else None
                ),
            },
        )

    def backup_now(self, kind: str = "incr") -> BackupRun:
        """Create the stanza if needed, then back up: ``incr`` by default (pgBackRest
        takes a full one when none exists yet), or ``full``."""
        if kind not in ("full", "incr"):
            raise InvalidRequest(f"backup type must be full or incr, not {kind!r}")
        self._configure()
        # stanza-create is idempotent: it succeeds when the stanza matches the cluster.
        self.tool.run("stanza-create")
        started = time.monotonic()
        self.tool.run("backup", f"--type={kind}")
        elapsed = time.monotonic() - started
        # Blobs after the database: every blob a backed-up row names was written before
        # its row committed, so this copy covers the backup just taken.
        blobs = sync_blobs(self.settings) if _blobs_backed_up(self.settings) else None
        newest = self._entries()[-1]
        return BackupRun(
            backend=self.name,
            finished_at=newest.created_at or datetime.now(UTC),
            position=newest.details["wal_stop"],
            details={
                "label": newest.id,
                "type": newest.kind,
                "size_bytes": newest.size_bytes,
                "elapsed_seconds": round(elapsed, 3),
                "blobs_copied": blobs.copied if blobs else None,
                "blob_manifest_size": blobs.total if blobs else None,
            },
        )

    def list_backups(self) -> list[BackupEntry]:
        """Every backup in the repository, oldest first."""
        self._configure()
        return self._entries()

    def verify(self) -> VerifyReport:
        """``pgbackrest verify``: every backup file and archived WAL segment against the
        checksum recorded in its manifest; ``ok`` False lists what pgBackRest found."""
        self._configure()
        proc = self.tool.run("verify", "--log-level-console=info", check=False)
        output = (proc.stdout or "") + (proc.stderr or "")
        # 2.45 exits 0 even when files are invalid: read its per-file and summary lines.
        problems = [
            line.split(": ", 1)[-1].strip() if "P0" in line else line.strip()
            for line in output.splitlines()
            if "invalid checksum" in line
            or "status: invalid" in line
            or "missing" in line
            or " ERROR:" in line
        ]
        if proc.returncode != 0 and not problems:
            problems.append(f"pgbackrest verify exit {proc.returncode}: {_last_lines(output)}")
        details: dict[str, Any] = {"stanza": self.tool.stanza}
        if _blobs_backed_up(self.settings):
            blobs = verify_blobs(self.settings)
            problems += [f"blob missing or altered: {rel}" for rel in blobs.bad]
            details |= {"blobs_checked": blobs.checked, "blobs_bad": blobs.bad}
        report = VerifyReport(
            backend=self.name,
            ok=not problems,
            verified_at=datetime.now(UTC),
            problems=problems,
            details=details,
        )
        keep_last_verify(self.settings, report)
        return report

    def restore(self, target: Path, at: datetime | None, *, force: bool = False) -> RestoreResult:
        """Restore the newest backup before ``at`` (and WAL up to ``at``) into the data
        directory ``target``; start PostgreSQL there to use it.

        The restored cluster does not archive (it would write into this stanza's
        repository) and promotes itself at the target. A non-empty ``target`` is
        refused unless ``force``; a running one always (pgBackRest checks too).
        """
        if at is not None and at.tzinfo is None:
            raise InvalidRequest("--at needs a time zone (e.g. 2026-01-31T12:00:00+00:00)")
        dest = Path(target)
        if (dest / "postmaster.pid").exists():
            raise RestoreTargetExists(f"{dest} holds a running PostgreSQL: stop it first")
        if dest.exists() and any(dest.iterdir()) and not force:
            raise RestoreTargetExists(f"{dest} is not empty; pass --force to overwrite it")
        if not config_path(self.settings).exists():
            self._configure()
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner = config_path(self.settings).stat().st_uid
        if os.geteuid() == 0 and owner != 0:
            os.chown(dest, owner, -1)  # pgBackRest runs as the cluster owner (_as_owner)
        options = [f"--pg1-path={dest}", "--archive-mode=off"]
        if force:
            options.append("--delta")
        if at is not None:
            options += [
                "--type=time",
                f"--target={at.isoformat(sep=' ')}",
                "--target-action=promote",
            ]
        self.tool.run("restore", *options)
        return RestoreResult(backend=self.name, target=str(dest), at=at)
