"""Backup benchmark (SQLite + Litestream): restore time per GB, and lag under ingest load.

    .venv/bin/python benchmarks/bench_backup.py [--mb 300] [--rate 100] [--duration 20]

(a) Restore time. A CarePipe SQLite database (``carepipe db upgrade``, one job submitted
with ``carepipe submit``) is grown to ``--mb`` MB by plain SQL: that job's row copied into
``jobs`` with new ids and a 2 KB random-hex JSON ``result`` (random data compresses worse
than real JSON, so the archive is on the large side). ``carepipe backup now`` ships it with
Litestream (no replicator running: ``replicate -once``); then ``carepipe restore --target``
is timed, the same restore in process (without the CLI's start-up), and, as the baseline,
``cp`` of the database file (the fastest restore there is: a local copy from a warm page
cache). All three are also given per GB of database.

(b) Replication lag. ``carepipe up`` with ``CAREPIPE_BACKUP_URL`` (Litestream under it,
``sync-interval=1s``) takes ``benchmarks/bench_ingest.py``'s open-loop load (its load
generator, imported) while a probe commits one marked job, polls ``litestream restore``
(the product's ``restore_sqlite``, in process) until the job is restorable, and starts
again: commit -> end of the first restore that holds it (an upper bound). The baseline is
the configured sync interval.

Writes benchmarks/results/backup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_ingest  # noqa: E402  (the ingest load generator; benchmarks/ is not a package)

OUT = ROOT / "benchmarks" / "results" / "backup.json"
CAREPIPE = Path(sys.executable).with_name("carepipe")
ROW_PAD_BYTES = 1000  # randomblob size; hex doubles it
ROW_BYTES = 4400  # measured size of such a row in the file, indexes included


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
    env.update(
        CAREPIPE_DATA_DIR=str(tmp / "var"),
        CAREPIPE_BACKUP_URL=str(tmp / "backup"),
        CAREPIPE_BLOB_ENCRYPTION_KEY=bench_ingest.KEY,
        CAREPIPE_LOG_LEVEL="WARNING",
        CAREPIPE_ENV="bench",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAREPIPE), *args], env=env, cwd=env["CAREPIPE_DATA_DIR"],
        capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def restore_per_gb(mb: int) -> dict[str, Any]:
    """(a): Litestream restore beside ``cp`` of the same database, seconds per GB."""
    from carepipe.core.config import Settings
    from carepipe.ops.backup.sqlite_restore import restore_sqlite

    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-backup-"))
    try:
        env = _env(tmp)
        (tmp / "var").mkdir()
        _cli(env, "db", "upgrade")
        note = tmp / "note.txt"
        note.write_text("benchmark note")
        _cli(env, "submit", str(note), "--pipeline", "echo")
        db = tmp / "var" / "carepipe.db"
        rows = mb * 1_000_000 // ROW_BYTES
        with sqlite3.connect(db) as conn:
            cols = [r[1] for r in conn.execute("PRAGMA table_info(jobs)")]
            picks = {
                "id": "lower(hex(randomblob(16)))",
                "idempotency_key": "NULL",
                "result": f"json_object('text', hex(randomblob({ROW_PAD_BYTES})))",
            }
            select = ", ".join(picks.get(c, c) for c in cols)
            conn.execute(
                f"INSERT INTO jobs ({', '.join(cols)}) SELECT {select} FROM jobs, "
                "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT ?) "
                "SELECT x FROM n)",
                (rows,),
            )
        db_bytes = db.stat().st_size
        ship = _timed(lambda: _cli(env, "backup", "now"))
        archive_bytes = _size(tmp / "backup" / "db")
        restored, copied = tmp / "restored.db", tmp / "copied.db"
        restore = _timed(lambda: _cli(env, "restore", "--target", str(restored)))
        # The same restore without the CLI's start-up (~1.5 s of imports on this host).
        settings = Settings(data_dir=tmp / "var", backup_url=str(tmp / "backup"))
        bare = _timed(lambda: restore_sqlite(settings, restored, None, force=True))
        cp = _timed(lambda: subprocess.run(["cp", str(db), str(copied)], check=True))
        with sqlite3.connect(restored) as conn:
            restored_rows = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
        assert restored_rows == rows + 1, (restored_rows, rows)
        gb = db_bytes / 1e9
        return {
            "db_mb": round(db_bytes / 1e6, 1),
            "archive_mb": round(archive_bytes / 1e6, 1),
            "jobs_rows": rows + 1,
            "first_ship_s": round(ship, 2),
            "litestream_restore_s": round(restore, 2),
            "litestream_restore_in_process_s": round(bare, 2),
            "cp_s": round(cp, 2),
            "litestream_s_per_gb": round(restore / gb, 2),
            "litestream_in_process_s_per_gb": round(bare / gb, 2),
            "cp_s_per_gb": round(cp / gb, 2),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def lag_under_load(rate: float, duration: float) -> dict[str, Any]:
    """(b): commit -> restorable while ``bench_ingest``'s load generator runs."""
    import httpx

    from carepipe.core.config import Settings
    from carepipe.ops.backup.sqlite_restore import restore_sqlite

    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-backup-lag-"))
    proc = None
    try:
        env = _env(tmp)
        (tmp / "var").mkdir()
        settings = Settings(data_dir=tmp / "var", backup_url=str(tmp / "backup"))
        key = bench_ingest._create_key(env)
        port = bench_ingest._free_port()
        proc = subprocess.Popen(
            [str(CAREPIPE), "up", "--workers", "1", "--no-mllp", "--port", str(port)],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        bench_ingest._wait_http(base + "/healthz")
        load: dict[str, Any] = {}
        loader = threading.Thread(
            target=lambda: load.update(
                bench_ingest._loadgen(base + "/v1/jobs", key, rate, duration)
            )
        )
        loader.start()
        time.sleep(2)  # let the load settle before probing
        lags: list[float] = []
        probe = tmp / "probe.db"
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            while loader.is_alive() and len(lags) < 30:
                r = client.post(
                    "/v1/jobs", json={"pipeline": "echo", "payload": 0}, headers=headers
                )
                committed, job_id = time.monotonic(), r.json()["id"]
                while True:
                    # In process (the product's restore, no CLI start-up) so the polling
                    # step stays short; the figure is commit -> end of the first restore
                    # that holds the job, an upper bound.
                    restore_sqlite(settings, probe, None, force=True)
                    with sqlite3.connect(probe) as conn:
                        found = conn.execute(
                            "SELECT 1 FROM jobs WHERE id = ?", (job_id,)
                        ).fetchone()
                    if found:
                        lags.append(time.monotonic() - committed)
                        break
                    if time.monotonic() - committed > 60:
                        raise TimeoutError(f"job {job_id} not restorable after 60 s")
        loader.join()
        return {
            "rate_rps": rate,
            "achieved_rps": load.get("achieved_rps"),
            "ingest_p99_ms": load.get("p99_ms"),
            "probes": len(lags),
            "lag_median_s": round(statistics.median(lags), 2),
            "lag_max_s": round(max(lags), 2),
            "sync_interval_s": 1.0,
        }
    finally:
        bench_ingest._stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=300)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    restore = restore_per_gb(args.mb)
    print(json.dumps(restore))
    lag = lag_under_load(args.rate, args.duration)
    print(json.dumps(lag))
    result = {
        "benchmark": "backup",
        "cpus": os.cpu_count(),
        "restore": restore,
        "lag": lag,
        "title": "Backups (SQLite): Litestream restore per GB beside cp; lag under ingest load",
        "table": {
            "columns": ["measure", "CarePipe (Litestream)", "baseline"],
            "rows": [
                [
                    f"restore, s/GB ({restore['db_mb']} MB db, {restore['archive_mb']} MB archive)",
                    f"{restore['litestream_s_per_gb']} (CLI), "
                    f"{restore['litestream_in_process_s_per_gb']} (in process)",
                    f"cp: {restore['cp_s_per_gb']}",
                ],
                [
                    f"commit -> restorable at {args.rate:.0f} req/s, median / max s",
                    f"{lag['lag_median_s']} / {lag['lag_max_s']}",
                    f"sync interval: {lag['sync_interval_s']}",
                ],
            ],
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
