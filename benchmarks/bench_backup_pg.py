"""Backup benchmark (PostgreSQL + pgBackRest): restore time per GB beside ``pg_basebackup``
and ``cp -a`` of the same cluster, WAL archive lag under ingest load, and the RPO a
SIGKILL of the postmaster actually costs.

    sudo .venv/bin/python benchmarks/bench_backup_pg.py [--size-mb 1000] [--rate 100]
        [--duration 40] [--rpo 60]
    (smoke run: --size-mb 50 --duration 15)

Runs as root on a throwaway cluster (initdb on a free port, started as ``postgres``,
``fsync=on``, WAL archived by pgBackRest into an encrypted repository; the helpers of
``tests/support/pg_cluster.py``); the shared server on 5432 is never touched.

(a) Restore per GB. ``carepipe db upgrade``, one job (``carepipe submit``), then the
``jobs`` table grown by plain SQL to ``--size-mb`` (that row copied with new ids and a
~2 KB random-hex JSON ``result``). Timed on the same cluster, one after the other:
``carepipe backup now`` (the first: a full backup, lz4, aes-256-cbc), ``carepipe restore
--target`` (pgBackRest restore of that backup: files only) and restore + start +
recovery until promoted (the restore a failover needs); baselines: ``pg_basebackup -X
stream`` from the running server (a plain copy taken live; its output is a startable
data directory) and ``cp -a`` of the stopped data directory. Per GB of data directory (without pg_wal).

(b) WAL archive lag. A fresh cluster with ``backup_rpo_seconds=--rpo`` (``archive_timeout``
= min(60, rpo/5)) under ``carepipe up --workers 1`` takes ``benchmarks/bench_ingest.py``'s
open-loop load (its load generator, imported) at ``--rate`` for ``--duration``, while a
probe commits one marked job every 0.25 s and notes the WAL segment holding it; a watcher
notes when ``pg_stat_archiver.last_archived_wal`` passes each segment. Lag = commit ->
its segment archived. Baseline: ``archive_timeout``, the configured bound. At the end the
postmaster gets SIGKILL, the archive is restored and started, and the measured RPO is
kill time - commit time of the newest probe job present.

Writes benchmarks/results/backup_pg.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import bench_ingest  # noqa: E402  (the ingest load generator; benchmarks/ is not a package)
from bench_backup import _size, _timed  # noqa: E402  (the SQLite benchmark's timers)
from carepipe.ops.backup.pgbackrest import (  # noqa: E402
    PgBackRestBackend,
    archive_timeout_seconds,
)
from tests.support.pg_cluster import (  # noqa: E402
    PG_BIN,
    PgCluster,
    as_postgres,
    pg_ctl,
    postmaster_pid,
    throwaway_cluster,
    wait_promoted,
)

OUT = ROOT / "benchmarks" / "results" / "backup_pg.json"
CAREPIPE = Path(sys.executable).with_name("carepipe")
HEX_CHUNKS = 31  # md5 hex strings per row: ~1 KB random hex in ``result``
BATCH_ROWS = 50_000
ROW_BYTES = 1450  # measured: one such row in the heap, TOAST and indexes (PostgreSQL 15)
# Real durability for the figures (the tests' clusters run fsync=off).
BENCH_CONF = "fsync = on\nsynchronous_commit = on\n"


def _env(c: PgCluster) -> dict[str, str]:
    return c.cli_env() | {
        "CAREPIPE_BLOB_ENCRYPTION_KEY": bench_ingest.KEY,
        "CAREPIPE_LOG_LEVEL": "WARNING",
        "CAREPIPE_ENV": "bench",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }


def _cli(c: PgCluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAREPIPE), *args], env=_env(c), cwd=c.root,
        capture_output=True, text=True, check=True, timeout=7200,
    )  # fmt: skip


def _scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def _grow_jobs(url: str, mb: int) -> int:
    """Copy the one job into ``jobs`` until the table holds about ``mb`` MB; returns rows."""
    rows = mb * 1_000_000 // ROW_BYTES
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            cols = conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'jobs' AND table_schema = current_schema() "
                    "ORDER BY ordinal_position"
                )
            ).all()
            result_type = dict(cols)["result"]
            picks = {
                "id": "md5(g::text || random()::text)",
                "idempotency_key": "NULL",
                # Correlated on g: a fresh random string per row (compresses like real data
                # would not: the archive is on the large side).
                "result": "json_build_object('text', (SELECT string_agg(md5(random()::text "
                f"|| g::text || x::text), '') FROM generate_series(1, {HEX_CHUNKS}) x))"
                f"::{result_type}",
            }
            select = ", ".join(picks.get(c, f'j."{c}"') for c, _ in cols)
            names = ", ".join(f'"{c}"' for c, _ in cols)
            done = 0
            while done < rows:
                n = min(BATCH_ROWS, rows - done)
                conn.execute(
                    text(
                        f"INSERT INTO jobs ({names}) SELECT {select} FROM "
                        "(SELECT * FROM jobs LIMIT 1) j, generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"
                    ),
                    {"a": done + 1, "b": done + n},
                )
                conn.commit()
                done += n
    finally:
        engine.dispose()
    return rows


def restore_per_gb(mb: int) -> dict[str, Any]:
    """(a): pgBackRest backup and restore beside pg_basebackup and cp -a, seconds per GB."""
    with throwaway_cluster(300, prefix="cp-bench-pgbr-", extra_conf=BENCH_CONF) as c:
        _cli(c, "db", "upgrade")
        note = c.root / "note.txt"
        note.write_text("benchmark note")
        _cli(c, "submit", str(note), "--pipeline", "echo")
        rows = _grow_jobs(c.url(), mb)
        _scalar(c.url(), "SELECT pg_switch_wal()::text")  # the load's WAL into the archive
        db_bytes = _scalar(c.url(), "SELECT pg_database_size(current_database())")
        # Per GB of data directory without pg_wal: pgBackRest and pg_basebackup copy the
        # WAL they need, not the segments kept for recycling (cp -a copies those too).
        wal_bytes = _size(c.data / "pg_wal")
        data_bytes = _size(c.data) - wal_bytes

        backup = _timed(lambda: _cli(c, "backup", "now", "--json"))
        repo_bytes = _size(c.root / "carepipe" / "pgbackrest" / "repo")
        target = c.root / "restored"
        restore = _timed(lambda: _cli(c, "restore", "--target", str(target)))
        # The same restore without the CLI's start-up and audit entry.
        bare_target = c.root / "restored-bare"
        bare = _timed(lambda: PgBackRestBackend(c.settings()).restore(bare_target, None))
        shutil.rmtree(bare_target)
        port2 = bench_ingest._free_port()

        def start_restored() -> None:
            pg_ctl(target, port2, c.sockets)
            wait_promoted(c.url(port2), timeout=3600)

        started = _timed(start_restored)
        restored_rows = _scalar(c.url(port2), "SELECT count(*) FROM jobs")
        assert restored_rows == rows + 1, (restored_rows, rows)
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(target), "-m", "fast", "-w", "stop")

        basebackup = c.root / "basebackup"
        argv = [str(PG_BIN / "pg_basebackup"), "-D", str(basebackup), "-X", "stream", "-c"]
        argv += ["fast", "-h", str(c.sockets), "-p", str(c.port), "-U", "postgres"]
        pgbb = _timed(lambda: _ok(as_postgres(*argv)))
        pg_ctl(c.data, c.port, c.sockets, "stop")
        cp = _timed(lambda: _ok(as_postgres("cp", "-a", str(c.data), str(c.root / "copied"))))
    gb = data_bytes / 1e9
    return {
        "db_mb": round(db_bytes / 1e6, 1),
        "data_dir_mb": round(data_bytes / 1e6, 1),
        "pg_wal_mb": round(wal_bytes / 1e6, 1),
        "repo_mb": round(repo_bytes / 1e6, 1),
        "jobs_rows": rows + 1,
        "pgbackrest_full_backup_s": round(backup, 2),
        "pgbackrest_restore_s": round(restore, 2),
        "pgbackrest_restore_in_process_s": round(bare, 2),
        "start_and_recover_s": round(started, 2),
        "pg_basebackup_s": round(pgbb, 2),
        "cp_a_s": round(cp, 2),
        "pgbackrest_backup_s_per_gb": round(backup / gb, 2),
        "pgbackrest_restore_s_per_gb": round(restore / gb, 2),
        "pgbackrest_restore_in_process_s_per_gb": round(bare / gb, 2),
        "pgbackrest_restore_to_promoted_s_per_gb": round((restore + started) / gb, 2),
        "pg_basebackup_s_per_gb": round(pgbb / gb, 2),
        "cp_a_s_per_gb": round(cp / gb, 2),
    }


def _ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


class _Archived:
    """Watches ``pg_stat_archiver``: (time first seen, last archived segment) changes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                while not self.stop.is_set():
                    wal = conn.execute(
                        text("SELECT last_archived_wal FROM pg_stat_archiver")
                    ).scalar_one()
                    conn.rollback()
                    if wal and (not self.seen or self.seen[-1][1] != wal):
                        self.seen.append((time.time(), wal))
                    self.stop.wait(0.05)
        except Exception:  # the postmaster was killed: the watch ends there
            return
        finally:
            engine.dispose()

    def archived_at(self, wal: str) -> float | None:
        return next((at for at, last in self.seen if last >= wal), None)


def lag_under_load(rate: float, duration: float, rpo: int) -> dict[str, Any]:
    """(b): commit -> archived while ``bench_ingest``'s load runs; then a SIGKILL's RPO."""
    with throwaway_cluster(rpo, prefix="cp-bench-pglag-", extra_conf=BENCH_CONF) as c:
        env = _env(c)
        key = bench_ingest._create_key(env)
        port = bench_ingest._free_port()
        proc = subprocess.Popen(
            [str(CAREPIPE), "up", "--workers", "1", "--no-mllp", "--port", str(port)],
            env=env, cwd=c.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            bench_ingest._wait_http(base + "/healthz")
            _cli(c, "backup", "now")  # the base backup the crash restore starts from
            watch = _Archived(c.url())
            watch.thread.start()
            load: dict[str, Any] = {}
            loader = threading.Thread(
                target=lambda: load.update(
                    bench_ingest._loadgen(base + "/v1/jobs", key, rate, duration)
                )
            )
            loader.start()
            probes: list[tuple[float, str, str]] = []  # (commit time, job id, WAL segment)
            engine = create_engine(c.url(), poolclass=NullPool)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base, timeout=30) as client, engine.connect() as conn:
                while loader.is_alive():
                    r = client.post(
                        "/v1/jobs", json={"pipeline": "echo", "payload": "probe"}, headers=headers
                    )
                    at = time.time()
                    wal = conn.execute(
                        text("SELECT pg_walfile_name(pg_current_wal_lsn())")
                    ).scalar_one()
                    conn.rollback()
                    if r.status_code == 202:
                        probes.append((at, r.json()["id"], wal))
                    time.sleep(0.25)
            engine.dispose()
            loader.join()
            kill_at = time.time()
            os.kill(postmaster_pid(c.data), signal.SIGKILL)
            os.killpg(proc.pid, signal.SIGKILL)
            watch.stop.set()
        finally:
            bench_ingest._stop(proc)
        lags = [done - at for at, _, wal in probes if (done := watch.archived_at(wal)) is not None]
        target = c.root / "restored"
        _cli(c, "restore", "--target", str(target))
        port2 = bench_ingest._free_port()
        pg_ctl(target, port2, c.sockets)
        wait_promoted(c.url(port2))
        engine = create_engine(c.url(port2), poolclass=NullPool)
        with engine.connect() as conn:
            ids = {row[0] for row in conn.execute(text("SELECT id FROM jobs"))}
        engine.dispose()
        present = [at for at, job_id, _ in probes if job_id in ids]
        lost_old = [at for at, job_id, _ in probes if job_id not in ids and at < kill_at - rpo]
    return {
        "rate_rps": rate,
        "achieved_rps": load.get("achieved_rps"),
        "ingest_p99_ms": load.get("p99_ms"),
        "probes": len(probes),
        "archived_probes": len(lags),
        "lag_median_s": round(statistics.median(lags), 2) if lags else None,
        "lag_max_s": round(max(lags), 2) if lags else None,
        "archive_timeout_s": archive_timeout_seconds(rpo),
        "rpo_target_s": rpo,
        "crash_rpo_s": round(kill_at - max(present), 2) if present else None,
        "probes_lost_older_than_rpo": len(lost_old),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--duration", type=float, default=40.0)
    ap.add_argument("--rpo", type=int, default=60, help="backup_rpo_seconds of the lag run")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root: the cluster runs as the postgres OS user", file=sys.stderr)
        return 2
    restore = restore_per_gb(args.size_mb)
    print(json.dumps(restore), flush=True)
    lag = lag_under_load(args.rate, args.duration, args.rpo)
    print(json.dumps(lag), flush=True)
    result = {
        "benchmark": "backup_pg",
        "cpus": os.cpu_count(),
        "restore": restore,
        "lag": lag,
        "title": "Backups (PostgreSQL): pgBackRest per GB beside pg_basebackup and cp -a; "
        "WAL archive lag under ingest load; RPO of a SIGKILL",
        "table": {
            "columns": ["measure", "CarePipe (pgBackRest)", "baseline"],
            "rows": [
                [
                    f"backup, s/GB ({restore['data_dir_mb']} MB data dir w/o pg_wal, "
                    f"{restore['repo_mb']} MB repo)",
                    f"{restore['pgbackrest_backup_s_per_gb']} (full)",
                    f"pg_basebackup: {restore['pg_basebackup_s_per_gb']}",
                ],
                [
                    "restore, s/GB",
                    f"{restore['pgbackrest_restore_s_per_gb']} (CLI), "
                    f"{restore['pgbackrest_restore_in_process_s_per_gb']} (in process), "
                    f"{restore['pgbackrest_restore_to_promoted_s_per_gb']} (to promoted)",
                    f"cp -a (stopped, pg_wal too): {restore['cp_a_s_per_gb']}",
                ],
                [
                    f"commit -> WAL archived at {args.rate:.0f} req/s, median / max s",
                    f"{lag['lag_median_s']} / {lag['lag_max_s']}",
                    f"archive_timeout: {lag['archive_timeout_s']}",
                ],
                [
                    "RPO of a postmaster SIGKILL (kill - newest probe present), s",
                    f"{lag['crash_rpo_s']} (lost older than RPO: "
                    f"{lag['probes_lost_older_than_rpo']})",
                    f"target: {lag['rpo_target_s']}",
                ],
            ],
        },
    }
    for row in result["table"]["rows"]:
        print(" | ".join(str(cell) for cell in row))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
