"""Crash RPO on PostgreSQL: SIGKILL the postmaster and ``carepipe up`` under write load,
restore the pgBackRest archive to a new data directory, count losses one by one.

A throwaway cluster archives its WAL to an encrypted pgBackRest repository
(``archive_timeout`` derived from the RPO setting, as in production); a real
``carepipe up`` (API + MLLP listener) runs against it. Two threads write: HL7 v2 over
MLLP (noting each AA ACK's time and control id) and ``POST /v1/jobs`` (each 202's time
and job id). At K the postmaster and the whole ``carepipe up`` process group get SIGKILL
(not ``pg_ctl stop -m immediate``, which still lets the server shut down its children in
order): the WAL segment being written is never archived, which is exactly the loss this
measures. ``carepipe restore --target`` replays the archive into a new directory,
PostgreSQL starts there on another port, and every item acknowledged before K - RPO
must be in it.

The RPO window checked is ``RPO_SECONDS`` (10 s: ``archive_timeout`` 2 s), well inside
the issue's PostgreSQL target of 60 s, with load running longer than the window so the
check is not vacuous. Production's default ``backup_rpo_seconds`` (300) gives
``archive_timeout`` 60 s: the same mechanism, a wider window.
"""

from __future__ import annotations

import os
import signal
import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from carepipe.ops.backup.pgbackrest import archive_timeout_seconds
from tests.support.ack_load import AckLoad, losses, present_ids
from tests.support.live_server import free_port
from tests.support.pg_cluster import (
    pg_ctl,
    postmaster_pid,
    requires_pgbackrest,
    throwaway_cluster,
    wait_promoted,
)
from tests.support.up_process import carepipe_up, run_cli

pytestmark = requires_pgbackrest

RPO_SECONDS = 10
PG_RPO_TARGET = 60.0  # the target on PostgreSQL with WAL archiving
LOAD_SECONDS = 12.0  # longer than the window: items older than K - RPO exist


def _rows(url: str) -> list[tuple[str, str | None]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT id, idempotency_key FROM jobs"))]
    finally:
        engine.dispose()


def test_sigkill_of_postmaster_under_load_loses_nothing_older_than_the_rpo() -> None:
    with throwaway_cluster(RPO_SECONDS, prefix="cp-pgcrash-") as cluster:
        mllp_port = free_port()
        env = cluster.env | {"CAREPIPE_DATABASE_URL": cluster.url()}
        with carepipe_up(cluster.root, extra_env=env, mllp_port=mllp_port) as up:
            # The base backup the restore starts from; the WAL after it is archived.
            r = run_cli(up, "backup", "now", "--json")
            assert r.returncode == 0, r.stdout + r.stderr
            r = run_cli(up, "keys", "create", "--tenant", "default", "--name", "rpo-test")
            assert r.returncode == 0, r.stderr
            key = r.stdout.strip().splitlines()[-1]

            load = AckLoad()
            writers = load.threads(mllp_port, up.base_url, key)
            time.sleep(LOAD_SECONDS)
            # The crash: the database server and CarePipe (API, MLLP) die at once.
            postmaster = postmaster_pid(cluster.data)
            kill_at = time.time()
            os.kill(postmaster, signal.SIGKILL)
            os.killpg(up.pid, signal.SIGKILL)
            load.stop.set()
            for t in writers:
                t.join(10)

            dest = cluster.root / "restored"
            started = time.monotonic()
            r = run_cli(up, "restore", "--target", str(dest))
            restore_seconds = time.monotonic() - started
            assert r.returncode == 0, r.stdout + r.stderr

        port2 = free_port()
        pg_ctl(dest, port2, cluster.sockets)
        wait_promoted(cluster.url(port2))
        controls, job_ids = present_ids(_rows(cluster.url(port2)))
        audit = cluster.carepipe("audit", "verify", url=cluster.url(port2))

    acked = sorted(load.acked)
    kinds = {kind for _, kind, _ in acked}
    assert kinds == {"hl7", "job"}, f"both writers must have been acknowledged: {kinds}"
    report = losses(acked, controls, job_ids, kill_at, RPO_SECONDS)
    print(
        f"\n{sum(k == 'hl7' for _, k, _ in acked)} HL7 AA, {sum(k == 'job' for _, k, _ in acked)} "
        f"jobs 202 in {LOAD_SECONDS:.0f} s; archive_timeout "
        f"{archive_timeout_seconds(RPO_SECONDS)} s; restore {restore_seconds:.2f} s; "
        + report.summary(RPO_SECONDS)
    )
    # One by one: everything acknowledged before K - RPO must have survived.
    assert not report.old_missing, (
        f"acknowledged before K-{RPO_SECONDS}s but lost: {report.old_missing[:10]}"
    )
    assert report.measured_rpo <= RPO_SECONDS <= PG_RPO_TARGET
    # The audit chain of the restored database verifies (it ends where the archive ends).
    assert audit.returncode == 0, audit.stdout + audit.stderr
