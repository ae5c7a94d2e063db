"""PostgreSQL backups with pgBackRest, through the CLI, on a throwaway cluster.

The cluster is this test's own (initdb in a temp dir, a free port, WAL archiving
to pgBackRest); the shared server on 5432 is never touched. pgBackRest runs as the
``postgres`` OS user, as ``archive_command`` does, so the CLI runs as that user too.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from carepipe.core.audit import configure, record, setup_from_settings
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.observability.metrics import REGISTRY
from carepipe.ops.backup.metrics import export_backup_metrics
from carepipe.ops.backup.pgbackrest import Cluster as ServerCluster
from carepipe.ops.backup.pgbackrest import (
    archive_timeout_seconds,
    base_dir,
    write_config,
)
from tests.support.live_server import free_port
from tests.support.pg_cluster import (
    PgCluster,
    pg_ctl,
    requires_pgbackrest,
    throwaway_cluster,
    wait_promoted,
)

RPO_SECONDS = 5  # archive_timeout = 1 s: the WAL lag measured below stays small

pytestmark = requires_pgbackrest


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    with throwaway_cluster(RPO_SECONDS) as c:
        yield c


def _idle_lag(cluster: PgCluster, within: float = 45.0) -> float | None:
    """``backup status``'s lag once the server is idle (archive_timeout 1 s ships the last
    writes; background WAL such as checkpoints may need a few seconds more, and on a
    loaded 2-core host each ``backup status`` takes seconds)."""
    deadline = time.monotonic() + within
    while True:
        out = cluster.carepipe("backup", "status", "--json")
        assert out.returncode == 0, out.stderr
        lag = json.loads(out.stdout)["lag_seconds"]
        if lag == 0.0 or time.monotonic() > deadline:
            return lag
        time.sleep(1.0)


def _gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(f"carepipe_backup_{name}", {"backend": "pgbackrest"})


def _write(db: Database, n: int, start: int) -> None:
    """``n`` product rows: audit events, each in its own committed transaction."""
    for i in range(start, start + n):
        with db.transaction() as session:
            record(session, actor="pitr-test", action="backup.test_write", target_id=str(i))


def _written(url: str) -> list[int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT target_id FROM audit_events WHERE action = 'backup.test_write'")
            ).scalars()
            return sorted(int(r) for r in rows)
    finally:
        engine.dispose()


def test_full_backup_verify_and_point_in_time_restore(cluster: PgCluster) -> None:
    up = cluster.carepipe("db", "upgrade")
    assert up.returncode == 0, up.stderr
    s = cluster.settings()
    previous = configure(setup_from_settings(s))
    db = Database(s.resolved_database_url)
    try:
        _write(db, 3, 0)
        # A blob in the local store: `backup now` copies it beside the database backup.
        blob_file = cluster.root / "carepipe" / "blobs" / "ab" / "cd" / "abcd-test"
        blob_file.parent.mkdir(parents=True)
        blob_file.write_bytes(b"encrypted payload stand-in")
        started = time.monotonic()
        now = cluster.carepipe("backup", "now", "--json")
        full_cli_seconds = time.monotonic() - started
        assert now.returncode == 0, now.stderr
        full_seconds = json.loads(now.stdout)["details"]["elapsed_seconds"]
        assert json.loads(now.stdout)["details"]["blobs_copied"] == 1
        # The throwaway cluster archives from its first WAL segment, but the stanza is made
        # by this first `backup now`: pushes before it may fail (more often on a loaded
        # host). From here on no push may fail.
        first = cluster.carepipe("backup", "status", "--json")
        assert first.returncode == 0, first.stderr
        failed_before = json.loads(first.stdout)["details"]["archiver"]["failed_count"]
        listed = cluster.carepipe("backup", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert '"kind": "full"' in listed.stdout
        _write(db, 3, 3)
        # The next `backup now` is incremental: it carries only what changed.
        incr = cluster.carepipe("backup", "now", "--json")
        assert incr.returncode == 0 and '"type": "incr"' in incr.stdout, incr.stderr
        incr_seconds = json.loads(incr.stdout)["details"]["elapsed_seconds"]
        _write(db, 3, 6)  # only in the WAL: replayed up to T
        time.sleep(0.05)
        target = datetime.now(UTC)
        time.sleep(0.05)
        _write(db, 3, 9)
        lag = _archive_lag(s.resolved_database_url)
    finally:
        configure(previous)
        db.dispose()

    status = cluster.carepipe("backup", "status", "--json")
    assert status.returncode == 0, status.stderr
    details = json.loads(status.stdout)["details"]
    assert details["stanza_status"] == "ok" and details["archive_timeout_seconds"] == 1
    assert details["blob_manifest_size"] == 1
    assert details["archiver"]["failed_count"] == failed_before

    ok = cluster.carepipe("backup", "verify", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The scheduler's backup.metrics job (docs/backups.md, "Backup health") reads the same.
    export_backup_metrics(cluster.settings())
    assert _gauge("last_verify_ok") == 1 and _gauge("rpo_target_seconds") == RPO_SECONDS
    assert time.time() - 600 < _gauge("last_success_timestamp_seconds") <= time.time()
    assert 0 <= _gauge("replication_lag_seconds") < 600
    # Idle, with its last segment archived, the server has nothing at risk: the lag is 0
    # (it once grew with the idle time and paged CarePipeBackupBehindRpo for nothing).
    assert _idle_lag(cluster) == 0.0

    dest = cluster.root / "restored"
    started = time.monotonic()
    restored = cluster.carepipe(
        "restore", "--target", str(dest), "--at", target.isoformat(), "--json"
    )
    restore_seconds = time.monotonic() - started
    assert restored.returncode == 0, restored.stdout + restored.stderr
    port2 = free_port()
    pg_ctl(dest, port2, cluster.sockets)
    url2 = cluster.url(port2)
    wait_promoted(url2)
    # Exactly the rows committed before T (from the full, the incr and the WAL), none after.
    assert _written(url2) == list(range(9))
    audit = cluster.carepipe("audit", "verify", url=url2)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    print(
        f"\nfull backup {full_seconds:.2f}s ({full_cli_seconds:.2f}s through the CLI), "
        f"incr {incr_seconds:.2f}s, restore {restore_seconds:.2f}s through the CLI, "
        f"WAL archive lag {lag:.2f}s (archive_timeout {archive_timeout_seconds(RPO_SECONDS)}s)"
    )

    # A restore over a non-empty directory is refused without --force.
    again = cluster.carepipe("restore", "--target", str(dest))
    assert again.returncode != 0 and "restore_target_exists" in again.stderr

    # The passphrase is in the 0600 config only: never in anything the CLI printed.
    secret = cluster.env["CAREPIPE_PGBACKREST_CIPHER_PASS"]
    for proc in (now, listed, incr, status, ok, restored, again):
        assert secret not in proc.stdout + proc.stderr

    # Corrupt one file of the backup: verify must fail and say so.
    backup_dir = cluster.root / "carepipe" / "pgbackrest" / "repo" / "backup" / "carepipe"
    victim = max(
        (p for p in backup_dir.rglob("*") if p.is_file() and "pg_data" in p.parts),
        key=lambda p: p.stat().st_size,
    )
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    victim.write_bytes(bytes(blob))
    backed_up_blob = cluster.root / "backup" / "blobs" / "ab" / "cd" / "abcd-test"
    backed_up_blob.write_bytes(b"altered")
    bad = cluster.carepipe("backup", "verify")
    assert bad.returncode != 0
    assert "backup_corrupt" in bad.stderr, bad.stdout + bad.stderr
    assert "invalid checksum" in bad.stderr and victim.name in bad.stderr
    assert "blob missing or altered: ab/cd/abcd-test" in bad.stderr, bad.stderr
    export_backup_metrics(cluster.settings())
    assert _gauge("last_verify_ok") == 0


def test_backup_now_waits_for_an_archive_push_holding_the_lock() -> None:
    # The server's archive-push holds the stanza's archive lock while it ships a segment;
    # `backup now` (stanza-create first) met it once in CI and failed with pgBackRest's
    # exit 50. Here the lock is held for 3 s as archive-push holds it (flock on its file):
    # the backup waits, then succeeds.
    with throwaway_cluster(RPO_SECONDS, prefix="cp-pglock-") as c:
        up = c.carepipe("db", "upgrade")
        assert up.returncode == 0, up.stderr
        s = c.settings()
        lock_dir = base_dir(s) / "lock"
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock_file = lock_dir / f"{s.pgbackrest_stanza}-archive.lock"
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        owner = c.data.stat().st_uid
        os.chown(lock_dir, owner, -1)
        os.chown(lock_file, owner, -1)
        fcntl.flock(fd, fcntl.LOCK_EX)
        released = threading.Timer(3.0, lambda: fcntl.flock(fd, fcntl.LOCK_UN))
        try:
            started = time.monotonic()
            released.start()
            now = c.carepipe("backup", "now", "--json")
            waited = time.monotonic() - started
        finally:
            released.join()
            os.close(fd)
        assert now.returncode == 0, now.stdout + now.stderr
        assert json.loads(now.stdout)["details"]["type"] == "full"
        assert waited >= 3.0
        # It was the lock it waited for: pgBackRest logged the refused attempt.
        log = (base_dir(s) / "log" / f"{s.pgbackrest_stanza}-stanza-create.log").read_text()
        assert "[050]" in log and "unable to acquire lock" in log


def test_archive_timeout_from_rpo_and_config_file_is_private(tmp_path: Path) -> None:
    assert [archive_timeout_seconds(r) for r in (1, 5, 60, 300, 3600)] == [1, 1, 12, 60, 60]
    s = Settings(data_dir=tmp_path, pgbackrest_cipher_pass="not-in-the-repo")
    path = write_config(s, ServerCluster(tmp_path, 5432, None, "postgres"))
    assert path.stat().st_mode & 0o777 == 0o600
    conf = path.read_text()
    assert "repo1-cipher-type=aes-256-cbc" in conf and "archive-async=y" in conf
    assert f"repo1-path={tmp_path / 'pgbackrest' / 'repo'}" in conf


def _archive_lag(url: str) -> float:
    """Seconds from a commit to its WAL segment being archived (archive_timeout at work)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS _lag_probe (at timestamptz)"))
            conn.execute(text("INSERT INTO _lag_probe VALUES (now())"))
            conn.commit()
            wal = conn.execute(text("SELECT pg_walfile_name(pg_current_wal_lsn())")).scalar_one()
            started = time.monotonic()
            deadline = started + 30
            while time.monotonic() < deadline:
                done = conn.execute(
                    text("SELECT last_archived_wal >= :w FROM pg_stat_archiver"), {"w": wal}
                ).scalar_one()
                conn.rollback()
                if done:
                    return time.monotonic() - started
                time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"WAL {wal} not archived within 30 s")
