"""The PostgreSQL standby: the pgBackRest archive restored into a new data directory,
PostgreSQL started there on a free port (archiving off), then a real ``carepipe up``
against it on free HTTP and MLLP ports with backups off.

``restore`` also starts the server and waits until recovery has replayed the archive
and promoted: the drill measures the RPO and lifts the replicated fence in the
standby's database before ``carepipe up`` starts (``RestoreResult.database_url``).

Never into the primary's repository: the restore writes ``archive_mode=off`` into
``postgresql.auto.conf`` (pgBackRest ``--archive-mode=off``) and the server is started
with ``-c archive_mode=off`` as well (command-line settings outrank every config file);
the standby's ``carepipe up`` gets no pgBackRest passphrase, so it runs no backup job.
PostgreSQL refuses to run as root: the server runs as the data directory's owner (the
primary cluster's owner, to whom the restore hands the directory), as pgBackRest does.

Blobs and keys as on SQLite (``standby_process``): the blob backup ``<backup_url>/blobs``
(kept by ``PgBackRestBackend.backup_now``) is copied into the standby's data directory,
key settings are passed on and file-kept keys copied.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from carepipe.core.config import Settings
from carepipe.core.errors import StandbyFailed
from carepipe.ops.backup.pgbackrest import PgBackRestBackend
from carepipe.ops.backup.status import RestoreResult
from carepipe.ops.dr.ports import free_port
from carepipe.ops.dr.standby import StandbyEndpoints
from carepipe.ops.dr.standby_process import CarePipeStandby

# The standby must not back up (nor configure pgBackRest against the primary's repository).
PGBACKREST_SETTINGS = (
    "CAREPIPE_PGBACKREST_CIPHER_PASS",
    "CAREPIPE_PGBACKREST_REPO_PATH",
    "CAREPIPE_PGBACKREST_STANZA",
)
PG_CTL_TIMEOUT_SECONDS = 600  # recovery replays every archived segment since the backup


def _pg_bin(data: Path) -> Path:
    """The server binaries of the data directory's major version (Debian's layout), else
    whatever ``pg_ctl`` is on the PATH."""
    try:
        version = (data / "PG_VERSION").read_text().strip()
    except OSError:
        version = ""
    debian = Path(f"/usr/lib/postgresql/{version}/bin")
    if version and (debian / "pg_ctl").exists():
        return debian
    found = shutil.which("pg_ctl")
    if found is None:
        raise StandbyFailed("pg_ctl not found: install the PostgreSQL server binaries")
    return Path(found).parent


class PostgresStandby(CarePipeStandby):
    """A standby of the PostgreSQL layout under ``work_dir``: ``pgdata/`` (the restored
    cluster), ``pg/`` (its socket and log), ``var/`` (CarePipe's data dir: blobs, keys)."""

    layout = "postgresql"

    def __init__(self, settings: Settings, work_dir: Path) -> None:
        super().__init__(settings, work_dir)
        self.pgdata = work_dir / "pgdata"
        self.run_dir = work_dir / "pg"
        self.pg_port = 0
        self.database_url = ""

    def _owner_prefix(self) -> list[str]:
        """``runuser`` to the data directory's owner when root runs the drill."""
        if os.geteuid() != 0:
            return []
        owner = pwd.getpwuid(self.pgdata.stat().st_uid).pw_name
        return [] if owner == "root" else ["runuser", "-u", owner, "--"]

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [*self._owner_prefix(), str(_pg_bin(self.pgdata) / "pg_ctl"), "-D", str(self.pgdata)]
        return subprocess.run(
            [*argv, *args], capture_output=True, text=True, timeout=PG_CTL_TIMEOUT_SECONDS
        )

    def restore(self) -> RestoreResult:
        """The newest backup plus the archived WAL into ``pgdata``, the server started on a
        free port and promoted; the blob backup and file-kept keys into ``var``."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        result = PgBackRestBackend(self.settings).restore(self.pgdata, None)
        self._copy_blobs_and_keys()
        self._start_server()
        self.details["pg_port"] = self.pg_port
        return result.model_copy(
            update={"database_url": self.database_url, "tables": self._table_counts()}
        )

    def _start_server(self, timeout: float = 600.0) -> None:
        """``pg_ctl start`` as the owner, then wait for the end of recovery (promotion)."""
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0:
            owner = self.pgdata.stat().st_uid
            os.chown(self.run_dir, owner, -1)
        self.pg_port = free_port()
        opts = (
            f"-p {self.pg_port} -k {self.run_dir} -c listen_addresses=127.0.0.1 -c archive_mode=off"
        )
        log = self.run_dir / "postgresql.log"
        proc = self._pg_ctl("-o", opts, "-l", str(log), "-w", "-t", str(int(timeout)), "start")
        if proc.returncode != 0:
            raise StandbyFailed(
                f"standby PostgreSQL did not start (pg_ctl exit {proc.returncode})",
                details={"output": _tail(log)},
            )
        primary = make_url(self.settings.resolved_database_url)
        url = primary.set(host="127.0.0.1", port=self.pg_port).difference_update_query(["host"])
        self.database_url = url.render_as_string(hide_password=False)
        self._wait_promoted(timeout, log)

    def _wait_promoted(self, timeout: float, log: Path) -> None:
        engine = create_engine(self.database_url, poolclass=NullPool)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    with engine.connect() as conn:
                        if not conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
                            return
                except OperationalError:  # still starting, or recovery not consistent yet
                    pass
                time.sleep(0.2)
        finally:
            engine.dispose()
        raise StandbyFailed(
            f"standby PostgreSQL still in recovery after {timeout:.0f} s",
            details={"output": _tail(log)},
        )

    def _table_counts(self) -> dict[str, int]:
        """Rows per table of the restored database (exact counts: a drill reads them all)."""
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                names = inspect(conn).get_table_names()
                return {
                    name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                    for name in sorted(names)
                }
        finally:
            engine.dispose()

    def standby_database_url(self) -> str:
        return self.database_url

    def environment(self, http_port: int, mllp_port: int) -> dict[str, str]:
        """The shared standby environment without the pgBackRest settings (no backups
        from a standby)."""
        env = super().environment(http_port, mllp_port)
        for name in PGBACKREST_SETTINGS:
            env.pop(name, None)
        return env

    def start(self, *, timeout: float = 120.0) -> StandbyEndpoints:
        """``carepipe up`` against the standby's PostgreSQL (started by ``restore``)."""
        if not self.database_url:
            raise StandbyFailed("restore the standby before starting it")
        return super().start(timeout=timeout)

    def stop(self) -> None:
        """Stop ``carepipe up``, then the standby's PostgreSQL (fast shutdown)."""
        super().stop()
        if (self.pgdata / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "stop")

    def discard(self) -> None:
        """Stop everything, then remove the standby's files (a copy of production data)."""
        self.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def _tail(path: Path, n: int = 20) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []
