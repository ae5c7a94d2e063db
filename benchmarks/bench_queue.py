"""Queue throughput: enqueue -> claim -> no-op handler -> done, beside Procrastinate and Celery.

    .venv/bin/python benchmarks/bench_queue.py [--tasks 10000] [--concurrency 4]
        [--systems carepipe-sqlite,carepipe-postgres,procrastinate,celery]

For every system the same run does the same thing:

1. start 2 worker processes (``carepipe worker --concurrency C``,
   ``procrastinate worker --concurrency C``, ``celery worker -P threads -c C``);
2. warm up: enqueue 200 tasks and wait until they are done (connections open,
   code paths warm, start-up time excluded);
3. start the clock, enqueue N no-op tasks from this process in batches of 500
   (CarePipe: the batch's job rows and ``carepipe.core.queue.enqueue_many``,
   two executemany statements in one transaction per batch, all jobs pointing
   at one archived message;
   Procrastinate: ``batch_defer``; Celery has no batch publish, so ``delay`` per
   task), while a monitor thread polls how many are done every 20 ms;
4. stop the clock when the last task is done.

Reported: end-to-end tasks/s (N / wall time from the first enqueue to the last
task done), the enqueue rate (N / time to enqueue them, workers running), and
CarePipe's ratio to each peer. Completion is read from the system's own state:
CarePipe ``tasks.status = 'done'``, Procrastinate ``procrastinate_jobs.status =
'succeeded'``, Celery (``acks_late``, no result backend): the queue is empty and
nothing is left unacknowledged, twice in a row.

PostgreSQL: ``CAREPIPE_TEST_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each system gets a schema
of its own, dropped afterwards. Redis: 127.0.0.1:6379, DB ``BENCH_REDIS_DB``
(default 14), flushed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "queue.json"
BIN = Path(sys.executable).parent
PG_URL = os.environ.get(
    "CAREPIPE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
BATCH = 500
WARMUP = 200
POLL = 0.02
WORKERS = 2

TARGETS = {
    "postgres_vs_procrastinate": 1.0,
    "postgres_vs_celery": 0.5,
    "sqlite_tasks_per_s": 1000.0,
}


@dataclass
class Result:
    system: str
    backend: str
    tasks: int
    worker_processes: int
    concurrency: int
    enqueue_s: float = 0.0
    total_s: float = 0.0
    tasks_per_s: float = 0.0
    enqueue_per_s: float = 0.0
    verified: str = ""
    error: str | None = None
    notes: list[str] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.update(extra)
    return env


def _pg_dsn(url: str) -> str:
    """SQLAlchemy URL -> libpq DSN (drop the ``+psycopg`` driver suffix)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _stop(procs: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(POLL)


class System:
    """One queue system under test (subclasses fill in the hooks)."""

    name = ""
    backend = ""

    def __init__(self, concurrency: int, tmp: Path) -> None:
        self.concurrency = concurrency
        self.tmp = tmp
        self.notes: list[str] = []

    def setup(self) -> None: ...
    def worker_cmd(self) -> list[str]:
        raise NotImplementedError

    def worker_env(self) -> dict[str, str]:
        return _env()

    def enqueue(self, n: int) -> None:
        raise NotImplementedError

    def done_count(self) -> int:
        raise NotImplementedError

    def verify(self, expected: int) -> str:
        return ""

    def teardown(self) -> None: ...

    def start_workers(self) -> list[subprocess.Popen[bytes]]:
        procs = []
        for i in range(WORKERS):
            log = (self.tmp / f"{self.name}-worker{i}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    self.worker_cmd(),
                    cwd=ROOT,
                    env=self.worker_env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        return procs


# -- CarePipe -----------------------------------------------------------------------------


class CarePipe(System):
    def __init__(self, concurrency: int, tmp: Path, backend: str) -> None:
        super().__init__(concurrency, tmp)
        self.backend = backend
        self.name = f"carepipe-{backend}"
        self.schema = f"bench_cp_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'carepipe-bench.db'}"
        else:
            self.url = _with_schema(PG_URL, self.schema)

    def setup(self) -> None:
        from sqlalchemy import create_engine, text

        from carepipe.core.blobs import LocalBlobStore
        from carepipe.core.clock import utcnow
        from carepipe.core.crypto import Cipher
        from carepipe.core.db import Database
        from carepipe.core.migrate import upgrade
        from carepipe.core.models import Message
        from carepipe.pipelines.registry import load_pipelines

        if self.backend == "postgres":
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
        upgrade(self.url)
        if os.environ.get("BENCH_READY_INDEX"):
            # Experiment only: what a migration adding an index in claim order would give.
            with create_engine(self.url).begin() as conn:
                conn.execute(
                    text(
                        "CREATE INDEX ix_tasks_ready ON tasks (priority DESC, run_after, id) "
                        "WHERE status = 'ready'"
                    )
                )
            self.notes.append("BENCH_READY_INDEX: extra partial index ix_tasks_ready")
        load_pipelines("benchmarks.noop_pipeline")
        self.db = Database(self.url)
        # One archived message (archive first) that every benchmark job points at.
        blobs = LocalBlobStore(self.tmp / "blobs", Cipher(b"b" * 32))
        payload = b'{"bench": true}'
        key = blobs.put(payload)
        with self.db.transaction() as s:
            msg = Message(
                tenant="bench",
                source="bench",
                kind="application/json",
                pipeline="bench_noop",
                content_sha256=key.split("/", 1)[1],
                blob_key=key,
                size_bytes=len(payload),
                status="accepted",
                received_at=utcnow(),
                meta={},
            )
            s.add(msg)
            s.flush()
            self.message_id = msg.id

    def worker_cmd(self) -> list[str]:
        return [
            str(BIN / "carepipe"),
            "worker",
            "--queues",
            "bench_noop",
            "--concurrency",
            str(self.concurrency),
        ]

    def worker_env(self) -> dict[str, str]:
        return _env(
            CAREPIPE_DATABASE_URL=self.url,
            CAREPIPE_DATA_DIR=str(self.tmp / "var"),
            CAREPIPE_BLOB_ENCRYPTION_KEY="YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=",
            CAREPIPE_PIPELINE_MODULES="benchmarks.noop_pipeline",
            CAREPIPE_LOG_LEVEL="WARNING",
        )

    def enqueue(self, n: int) -> None:
        from sqlalchemy import insert

        from carepipe.core.clock import utcnow
        from carepipe.core.models import Job, new_id
        from carepipe.core.queue import enqueue_many

        insert_jobs = insert(Job.__table__)
        done = 0
        while done < n:
            b = min(BATCH, n - done)
            now = utcnow()
            ids = [new_id() for _ in range(b)]
            with self.db.transaction() as s:
                s.execute(
                    insert_jobs,
                    [
                        {
                            "id": jid,
                            "tenant": "bench",
                            "pipeline": "bench_noop",
                            "status": "queued",
                            "priority": 1,
                            "replay": False,
                            "current_stage": "bench_noop",
                            "message_id": self.message_id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for jid in ids
                    ],
                )
                enqueue_many(
                    s,
                    ({"job_id": jid, "queue": "bench_noop", "stage": "bench_noop"} for jid in ids),
                )
            done += b

    def done_count(self) -> int:
        from sqlalchemy import text

        with self.db.engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM tasks WHERE status = 'done'")).one()[0]
            )

    def verify(self, expected: int) -> str:
        from sqlalchemy import text

        with self.db.engine.connect() as conn:
            tasks = dict(
                conn.execute(text("SELECT status, count(*) FROM tasks GROUP BY status")).all()
            )
            jobs = dict(
                conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
            )
            attempts = conn.execute(
                text("SELECT count(*), count(DISTINCT task_id) FROM task_attempts")
            ).one()
        ok = (
            tasks.get("done") == expected
            and jobs.get("succeeded") == expected
            and attempts[0] == attempts[1] == expected
        )
        return (
            f"{'ok' if ok else 'MISMATCH'}: tasks {tasks}, jobs {jobs}, attempts {tuple(attempts)}"
        )

    def teardown(self) -> None:
        from sqlalchemy import create_engine, text

        if hasattr(self, "db"):
            self.db.dispose()
        if self.backend == "postgres":
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            admin.dispose()


# -- Procrastinate ------------------------------------------------------------------------


class Procrastinate(System):
    name = "procrastinate"
    backend = "postgres"

    def __init__(self, concurrency: int, tmp: Path) -> None:
        super().__init__(concurrency, tmp)
        self.schema = f"bench_pr_{uuid.uuid4().hex[:8]}"
        self.dsn = _pg_dsn(_with_schema(PG_URL, self.schema))

    def setup(self) -> None:
        import psycopg

        with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        os.environ["BENCH_PROCRASTINATE_DSN"] = self.dsn
        from benchmarks import peer_procrastinate

        self.mod = peer_procrastinate
        self.app = self.mod.app
        self._ctx = self.app.open()
        self._ctx.__enter__()
        self.app.schema_manager.apply_schema()
        self.conn = psycopg.connect(self.dsn, autocommit=True)

    def worker_cmd(self) -> list[str]:
        return [
            str(BIN / "procrastinate"),
            "--app",
            "benchmarks.peer_procrastinate.app",
            "worker",
            "--concurrency",
            str(self.concurrency),
            "--queues",
            "bench_noop",
        ]

    def worker_env(self) -> dict[str, str]:
        return _env(BENCH_PROCRASTINATE_DSN=self.dsn)

    def enqueue(self, n: int) -> None:
        done = 0
        while done < n:
            b = min(BATCH, n - done)
            self.mod.noop.batch_defer(*([{}] * b))
            done += b

    def done_count(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        ).fetchone()
        return int(row[0]) if row else 0

    def verify(self, expected: int) -> str:
        rows = dict(
            self.conn.execute(
                "SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"
            ).fetchall()
        )
        ok = rows.get("succeeded") == expected
        return f"{'ok' if ok else 'MISMATCH'}: jobs {rows}"

    def teardown(self) -> None:
        import psycopg

        try:
            if hasattr(self, "conn"):
                self.conn.close()
            if hasattr(self, "_ctx"):
                self._ctx.__exit__(None, None, None)
        finally:
            with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


# -- Celery / Redis -----------------------------------------------------------------------


class CeleryRedis(System):
    name = "celery"
    backend = "redis"

    def setup(self) -> None:
        import redis

        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis.flushdb()
        os.environ["BENCH_CELERY_BROKER"] = REDIS_URL
        from benchmarks import peer_celery

        self.mod = peer_celery
        self.mod.app.conf.broker_url = REDIS_URL
        self._published = 0
        self._empty_seen = 0

    def worker_cmd(self) -> list[str]:
        return [
            str(BIN / "celery"),
            "-A",
            "benchmarks.peer_celery",
            "worker",
            "-P",
            "threads",
            "-c",
            str(self.concurrency),
            "-Q",
            "bench_noop",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
            "-n",
            f"bench{uuid.uuid4().hex[:6]}@%h",
        ]

    def worker_env(self) -> dict[str, str]:
        return _env(BENCH_CELERY_BROKER=REDIS_URL)

    def enqueue(self, n: int) -> None:
        noop = self.mod.noop
        for _ in range(n):
            noop.delay()
        self._published += n

    def done_count(self) -> int:
        # No result backend: done = queue empty and nothing unacknowledged (acks_late),
        # seen on two polls in a row (a message is briefly in neither while delivered).
        pipe = self.redis.pipeline()
        pipe.llen("bench_noop")
        pipe.hlen("unacked")
        waiting, unacked = pipe.execute()
        if waiting or unacked:
            self._empty_seen = 0
            return 0
        self._empty_seen += 1
        return self._published if self._empty_seen >= 2 else 0

    def verify(self, expected: int) -> str:
        stats = self.mod.app.control.inspect(timeout=2.0).stats() or {}
        total = sum(int(s.get("total", {}).get("bench_noop", 0)) for s in stats.values())
        # ``total`` includes the warm-up tasks.
        ok = total == expected + WARMUP
        return f"{'ok' if ok else 'MISMATCH'}: workers ran {total} (incl. {WARMUP} warm-up)"

    def teardown(self) -> None:
        if hasattr(self, "redis"):
            self.redis.flushdb()
            self.redis.close()


# -- the run ------------------------------------------------------------------------------


def run_one(sys_: System, n: int) -> Result:
    res = Result(sys_.name, sys_.backend, n, WORKERS, sys_.concurrency)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sys_.setup()
        procs = sys_.start_workers()
        sys_.enqueue(WARMUP)
        _wait_until(lambda: sys_.done_count() >= WARMUP, 120, f"{sys_.name} warm-up")
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{sys_.name} worker exited with {p.returncode}")
        if isinstance(sys_, CeleryRedis):
            sys_._empty_seen = 0
        base = WARMUP
        finished: dict[str, float] = {}

        def monitor() -> None:
            while True:
                if sys_.done_count() >= base + n:
                    finished["t"] = time.perf_counter()
                    return
                if time.perf_counter() - t0 > 600:
                    return
                time.sleep(POLL)

        t0 = time.perf_counter()
        sys_.enqueue(n)
        t_enq = time.perf_counter()
        # The monitor starts once the enqueuer is done for Celery (its "done" is derived
        # from the broker being empty); for the databases it could start earlier, but
        # counting done rows only ever reaches the target at the end, so it is the same.
        th = threading.Thread(target=monitor, daemon=True)
        th.start()
        th.join(610)
        if "t" not in finished:
            raise TimeoutError(f"{sys_.name}: not all {n} tasks done within 600 s")
        res.enqueue_s = round(t_enq - t0, 3)
        res.total_s = round(finished["t"] - t0, 3)
        res.tasks_per_s = round(n / res.total_s, 1)
        res.enqueue_per_s = round(n / res.enqueue_s, 1)
        res.verified = sys_.verify(n + WARMUP if not isinstance(sys_, CeleryRedis) else n)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        _stop(procs)
        try:
            sys_.teardown()
        except Exception as exc:
            res.notes.append(f"teardown failed: {type(exc).__name__}: {exc}")
    res.notes += sys_.notes
    return res


def machine() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "ram_mib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("carepipe", "procrastinate", "celery", "kombu", "redis", "psycopg", "sqlalchemy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    try:
        import psycopg

        with psycopg.connect(_pg_dsn(PG_URL)) as conn:
            out["postgresql"] = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except Exception:
        out["postgresql"] = "unreachable"
    try:
        import redis

        out["redis-server"] = str(redis.Redis.from_url(REDIS_URL).info("server")["redis_version"])
    except Exception:
        out["redis-server"] = "unreachable"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=4, help="per worker process")
    ap.add_argument(
        "--systems",
        default="carepipe-sqlite,carepipe-postgres,procrastinate,celery",
        help="comma-separated subset",
    )
    args = ap.parse_args()
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-queue-"))
    results: list[Result] = []
    try:
        for name in wanted:
            sub = tmp / name
            sub.mkdir()
            system: System
            if name == "carepipe-sqlite":
                system = CarePipe(args.concurrency, sub, "sqlite")
            elif name == "carepipe-postgres":
                system = CarePipe(args.concurrency, sub, "postgres")
            elif name == "procrastinate":
                system = Procrastinate(args.concurrency, sub)
            elif name == "celery":
                system = CeleryRedis(args.concurrency, sub)
            else:
                raise SystemExit(f"unknown system {name!r}")
            print(f"running {name} ...", flush=True)
            r = run_one(system, args.tasks)
            if r.error:
                for log in sorted(sub.glob("*.log")):
                    tail = log.read_text(errors="replace")[-2000:]
                    print(f"--- {log.name} (tail)\n{tail}", file=sys.stderr)
            results.append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    by = {r.system: r for r in results if not r.error}
    ratios: dict[str, float | None] = {}
    pg = by.get("carepipe-postgres")
    for peer in ("procrastinate", "celery"):
        if pg and peer in by:
            ratios[f"postgres_vs_{peer}"] = round(pg.tasks_per_s / by[peer].tasks_per_s, 2)
    sq = by.get("carepipe-sqlite")
    for peer in ("procrastinate", "celery"):
        if sq and peer in by:
            ratios[f"sqlite_vs_{peer}"] = round(sq.tasks_per_s / by[peer].tasks_per_s, 2)
    met = {
        "postgres_vs_procrastinate": (ratios.get("postgres_vs_procrastinate") or 0)
        >= TARGETS["postgres_vs_procrastinate"],
        "postgres_vs_celery": (ratios.get("postgres_vs_celery") or 0)
        >= TARGETS["postgres_vs_celery"],
        "sqlite_tasks_per_s": (sq.tasks_per_s if sq else 0) >= TARGETS["sqlite_tasks_per_s"],
    }

    print(
        f"\nqueue throughput: {args.tasks} no-op tasks, {WORKERS} worker processes x "
        f"concurrency {args.concurrency}, enqueue batches of {BATCH}\n"
    )
    print(f"{'system':<20}{'backend':<10}{'tasks/s':>10}{'wall s':>9}{'enqueue/s':>11}  check")
    for r in results:
        if r.error:
            print(f"{r.system:<20}{r.backend:<10}{'FAILED':>10}  {r.error}")
            continue
        print(
            f"{r.system:<20}{r.backend:<10}{r.tasks_per_s:>10.0f}{r.total_s:>9.2f}"
            f"{r.enqueue_per_s:>11.0f}  {r.verified}"
        )
    print()
    for k, v in ratios.items():
        print(f"ratio {k:<28} {v:>6.2f}x")
    for k, ok in met.items():
        print(f"target {k:<27} {'met' if ok else 'MISSED'} (>= {TARGETS[k]})")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "queue",
                "title": "Queue throughput (enqueue -> claim -> no-op -> done)",
                "tasks": args.tasks,
                "worker_processes": WORKERS,
                "concurrency": args.concurrency,
                "enqueue_batch": BATCH,
                "method": (
                    "Workers started and warmed up (200 tasks) first; wall time from the first "
                    "enqueue to the last task done. CarePipe inserts the job rows and "
                    "carepipe.core.queue.enqueue_many (executemany, one transaction per batch "
                    "of 500); Procrastinate batch_defer (500 per call); Celery delay() "
                    "per task (no batch API)."
                ),
                "machine": machine(),
                "versions": _versions(),
                "results": [asdict(r) for r in results],
                "ratios": ratios,
                "targets": TARGETS,
                "targets_met": met,
                "table": {
                    "columns": ["system", "backend", "tasks/s", "wall s", "enqueue/s", "check"],
                    "rows": [
                        [
                            r.system,
                            r.backend,
                            r.tasks_per_s if not r.error else "FAILED",
                            r.total_s,
                            r.enqueue_per_s,
                            (r.verified or r.error or "").split(":")[0],
                        ]
                        for r in results
                    ],
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0 if all(not r.error for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
