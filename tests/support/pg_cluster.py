"""Throwaway PostgreSQL clusters for the backup and drill tests.

Each cluster is a test's own (initdb in a temp dir, a free port, WAL archiving to an
encrypted pgBackRest repository); the shared server on 5432 is never touched.
PostgreSQL and pgBackRest refuse root's files, so the server runs as the ``postgres``
OS user and so does ``archive_command``; the CarePipe data directory (which holds the
pgBackRest config, spool and repository) belongs to that user too.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from carepipe.core.config import Settings
from carepipe.ops.backup.pgbackrest import archive_command, archive_timeout_seconds
from tests.support.live_server import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")

# `make test` installs both packages; under CI=1 (.ci/run) a missing one fails, never skips.
requires_pgbackrest = pytest.mark.skipif(
    not os.environ.get("CI")
    and (
        shutil.which("pgbackrest") is None or not (PG_BIN / "initdb").exists() or os.geteuid() != 0
    ),
    reason="needs pgbackrest, PostgreSQL 15 server binaries and root (to start the cluster as postgres)",
)


def as_postgres(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as the postgres OS user (PostgreSQL and pgBackRest refuse root's files)."""
    prefix = ["runuser", "-u", "postgres", "--", "env"]
    prefix += [f"{k}={v}" for k, v in (env or {}).items()]
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, cwd=cwd, timeout=300)


def pg_ctl(data: Path, port: int, sockets: Path, action: str = "start") -> None:
    """``pg_ctl ACTION`` on ``data`` listening on 127.0.0.1:``port``; asserts it worked."""
    opts = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    proc = as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", f"{data}.log", "-w", action
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr + Path(f"{data}.log").read_text()


def postmaster_pid(data: Path) -> int:
    """The postmaster's pid, from the first line of ``postmaster.pid``."""
    return int((data / "postmaster.pid").read_text().splitlines()[0])


@dataclass
class PgCluster:
    """One throwaway cluster (``root/pg``) and the CarePipe environment pointed at it."""

    root: Path
    port: int
    env: dict[str, str]

    @property
    def data(self) -> Path:
        return self.root / "pg"

    @property
    def sockets(self) -> Path:
        return self.root / "sock"

    @property
    def rpo_seconds(self) -> int:
        return int(self.env["CAREPIPE_BACKUP_RPO_SECONDS"])

    def url(self, port: int | None = None) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port or self.port}/postgres"

    def cli_env(self, url: str | None = None) -> dict[str, str]:
        """The process environment of ``carepipe`` against this cluster (no other CAREPIPE_*)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
        env.update(self.env, CAREPIPE_DATABASE_URL=url or self.url())
        return env

    def carepipe(self, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
        """``carepipe ARGS`` in a subprocess with this cluster's settings (run as root:
        the backend runs pgBackRest as the cluster's owner)."""
        return subprocess.run(
            [sys.executable, "-m", "carepipe.cli", *args],
            capture_output=True,
            text=True,
            env=self.cli_env(url),
            cwd=self.root,
            timeout=300,
        )

    def settings(self) -> Settings:
        return Settings(
            database_url=self.url(),
            data_dir=Path(self.env["CAREPIPE_DATA_DIR"]),
            audit_hmac_key=self.env["CAREPIPE_AUDIT_HMAC_KEY"],
            pgbackrest_cipher_pass=self.env["CAREPIPE_PGBACKREST_CIPHER_PASS"],
            backup_rpo_seconds=self.rpo_seconds,
            backup_url=self.env.get("CAREPIPE_BACKUP_URL", ""),
        )

    def stop_all(self) -> None:
        """Stop (immediately) every cluster started under ``root``: the primary, restores."""
        for pid_file in self.root.glob("*/postmaster.pid"):
            as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(pid_file.parent), "-m", "immediate", "-w", "stop"
            )


@contextlib.contextmanager
def throwaway_cluster(
    rpo_seconds: int, *, prefix: str = "cp-pgbr-", extra_conf: str = ""
) -> Iterator[PgCluster]:
    """A new cluster archiving its WAL through pgBackRest (``archive_timeout`` derived from
    ``rpo_seconds`` as in production), started; stopped and removed on exit. The CarePipe
    data dir is ``root/carepipe``; ``CAREPIPE_BACKUP_URL`` (blob backup) is ``root/backup``."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(root, "postgres", "postgres")
    for d in (root / "sock", root / "carepipe", root / "backup"):
        d.mkdir()
        shutil.chown(d, "postgres", "postgres")
    env = {
        "CAREPIPE_DATA_DIR": str(root / "carepipe"),
        "CAREPIPE_BACKUP_URL": str(root / "backup"),
        "CAREPIPE_AUDIT_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CAREPIPE_PGBACKREST_CIPHER_PASS": base64.b64encode(os.urandom(24)).decode(),
        "CAREPIPE_BACKUP_RPO_SECONDS": str(rpo_seconds),
        "CAREPIPE_LOG_JSON": "false",
    }
    c = PgCluster(root, free_port(), env)
    init = as_postgres(
        str(PG_BIN / "initdb"), "-D", str(c.data), "-A", "trust", "-U", "postgres", "--no-sync"
    )
    assert init.returncode == 0, init.stderr
    with (c.data / "postgresql.conf").open("a") as conf:
        conf.write(
            "wal_level = replica\narchive_mode = on\n"
            f"archive_command = '{archive_command(c.settings())}'\n"
            f"archive_timeout = {archive_timeout_seconds(rpo_seconds)}\n"
            "fsync = off\nmax_wal_senders = 3\n" + extra_conf
        )
    pg_ctl(c.data, c.port, c.sockets)
    try:
        yield c
    finally:
        c.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def wait_promoted(url: str, timeout: float = 60.0) -> None:
    """Wait until the server at ``url`` answers and is out of recovery (promoted)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    if not conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
                        return
            except OperationalError:  # still starting up
                pass
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"restored cluster did not promote within {timeout:.0f} s")
