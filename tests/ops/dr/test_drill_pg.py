"""``carepipe dr drill`` on PostgreSQL, end to end: a throwaway cluster archiving its WAL
to an encrypted pgBackRest repository, a real ``carepipe up`` (API, MLLP) on it, blobs
backed up to ``<backup_url>/blobs``. The drill fences the primary, restores the archive
into a new data directory, starts PostgreSQL there on another port (archiving off) and
another ``carepipe up`` on it, smoke-tests it (HTTP, MLLP, CLI, headless Chromium),
measures RTO and RPO, reports and fails back.

The cluster's RPO setting is 10 s (``archive_timeout`` 2 s) and the drill's RPO target
10 s, inside the issue's PostgreSQL target of 60 s. On PostgreSQL the drill's heartbeat
lead-in is ``archive_timeout`` + 3 s (5 s here), so a WAL segment switch carrying beats
reaches the archive before the restore (docs/disaster-recovery.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.drill_traffic import (
    SMOKE_TESTS,
    assert_unfenced,
    partner_key,
    run_drill,
    traffic,
)
from tests.support.live_server import free_port
from tests.support.pg_cluster import PgCluster, requires_pgbackrest, throwaway_cluster
from tests.support.up_process import UpProcess, carepipe_up, run_cli

pytestmark = requires_pgbackrest

CLUSTER_RPO_SECONDS = 10
RPO_TARGET = 10
PG_RPO_TARGET = 60  # the target on PostgreSQL with WAL archiving


@pytest.fixture
def primary() -> Iterator[tuple[PgCluster, UpProcess, int]]:
    with throwaway_cluster(CLUSTER_RPO_SECONDS, prefix="cp-pgdrill-") as cluster:
        mllp_port = free_port()
        env = cluster.env | {"CAREPIPE_DATABASE_URL": cluster.url()}
        with carepipe_up(cluster.root, extra_env=env, mllp_port=mllp_port) as up:
            yield cluster, up, mllp_port


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_drill_on_postgresql_passes_with_rpo_measured(
    primary: tuple[PgCluster, UpProcess, int],
) -> None:
    cluster, up, mllp_port = primary
    key = partner_key(up)
    sent_at = time.monotonic()
    jobs, controls = traffic(up, mllp_port, key, prefix="DRP")
    # What cron does: a base backup (full: the first one) with the blobs, then verify.
    for command in (("backup", "now"), ("backup", "verify")):
        r = run_cli(up, *command)
        assert r.returncode == 0, r.stdout + r.stderr
    # The traffic must predate fence - RPO to be compared one by one (the fence comes
    # after the drill's 3 s heartbeat lead-in).
    time.sleep(max(0.0, RPO_TARGET - 2 - (time.monotonic() - sent_at)))

    started = time.monotonic()
    r = run_drill(up, mllp_port, RPO_TARGET, "--keep-standby", "--json")
    took = time.monotonic() - started
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    drill = json.loads(r.stdout)
    restore = drill["details"]["restore"]
    print(
        f"\ndrill {took:.1f} s: RTO {drill['rto_seconds']} s, RPO {drill['rpo_seconds']} s, "
        f"restore (pgBackRest + PostgreSQL recovery) {restore['seconds']} s; smoke "
        + ", ".join(f"{s['name']} {s['seconds']}" for s in drill["smoke"])
    )
    assert drill["status"] == "passed", drill
    assert drill["rpo_seconds"] is not None
    assert 0 <= drill["rpo_seconds"] <= RPO_TARGET <= PG_RPO_TARGET
    assert drill["rpo_met"] is True and drill["rto_met"] is True
    assert {s["name"] for s in drill["smoke"]} == SMOKE_TESTS
    assert all(s["ok"] for s in drill["smoke"]), drill["smoke"]
    assert drill["missing"] == []
    compared = drill["details"]["acknowledged_compared"]
    assert compared["job"] >= 2 * len(jobs), compared
    fence = drill["details"]["fence"]
    assert fence["ok"] is True, fence
    assert restore["blobs_copied"] >= len(controls), restore

    # Afterwards the primary takes writes again; its audit log holds the drill.
    assert_unfenced(up, key)
    actions = [a for (a,) in _query(cluster.url(), "SELECT action FROM audit_events")]
    assert actions.count("dr.drill") == 2
    assert "maintenance.fence" in actions and "maintenance.lift" in actions

    # The standby was stopped by failback; its files were kept: the restored cluster
    # never archived (archive_mode off) and holds every acknowledged item.
    standby = cluster.root / "carepipe" / "dr" / drill["id"]
    assert not (standby / "pgdata" / "postmaster.pid").exists()
    auto_conf = (standby / "pgdata" / "postgresql.auto.conf").read_text()
    assert "archive_mode = 'off'" in auto_conf, auto_conf
    # The standby promoted onto timeline 2; had it archived, the primary's repository
    # would hold 00000002.history or timeline-2 segments.
    archive = cluster.root / "carepipe" / "pgbackrest" / "repo" / "archive"
    assert [p.name for p in archive.rglob("00000002*")] == []
    assert (standby / "pgdata" / "pg_wal" / "00000002.history").exists()
