"""Queue throughput: enqueue -> claim -> no-op handler -> done, beside Procrastinate,
Celery and PgQueuer.

    .venv/bin/python benchmarks/bench_queue.py [--tasks 10000] [--concurrency 4] [--repeat 3]
        [--systems carepipe-sqlite,carepipe-postgres,procrastinate,celery,pgqueuer,
                   pgqueuer-matched,pgqueuer-b100]

For every system the same run does the same thing:

1. start 2 worker processes (``carepipe worker --concurrency C``,
   ``procrastinate worker --concurrency C``, ``celery worker -P threads -c C``,
   ``python -m benchmarks.peer_pgqueuer``, i.e. ``pgqueuer.run``, what ``pgq run``
   runs: asyncpg driver, async ``QueueManager``; ``pgqueuer`` with PgQueuer's own
   defaults, dequeue batches of 10 and no cap on jobs in flight, ``pgqueuer-matched``
   with batches of C and at most 2C jobs per process, the same C running + C claimed
   ahead as CarePipe's worker, ``pgqueuer-b100`` tuned for throughput, batches of 100);
2. warm up: enqueue 200 tasks and wait until they are done (connections open,
   code paths warm, start-up time excluded);
3. start the clock, enqueue N no-op tasks from this process in batches of 500
   (CarePipe: the batch's job rows and ``carepipe.core.queue.enqueue_many``,
   two executemany statements in one transaction per batch, all jobs pointing
   at one archived message;
   Procrastinate: ``batch_defer``; PgQueuer: ``Queries.enqueue`` with lists, one
   statement per batch; Celery has no batch publish, so ``delay`` per task), while a
   monitor thread polls how many are done every 20 ms;
4. stop the clock when the last task is done.

With ``--repeat R`` the whole list of systems runs R times in turn (round-robin, so
every round compares systems measured minutes apart); the table shows the median
and the range, and each ratio is the median of the per-round ratios.

Reported: end-to-end tasks/s (N / wall time from the first enqueue to the last
task done), the enqueue rate (N / time to enqueue them, workers running), and
CarePipe's ratio to each peer. Completion is read from the system's own state:
CarePipe ``tasks.status = 'done'``, Procrastinate ``procrastinate_jobs.status =
'succeeded'``, Celery (``acks_late``, no result backend): the queue is empty and
nothing is left unacknowledged, twice in a row; PgQueuer: ``pgqueuer_log`` rows with
status ``successful`` (PgQueuer deletes a finished job and logs it, in batches).

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
    round: int = 1
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
        from carepipe.pipelines.catalog import load_pipelines

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
        import importlib

        from benchmarks import peer_procrastinate

        # The app reads its DSN at import: a later round (a new schema) needs a fresh one.
        self.mod = importlib.reload(peer_procrastinate)
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


# -- PgQueuer -----------------------------------------------------------------------------


class PgQueuerPeer(System):
    """PgQueuer (asyncpg driver, async ``QueueManager`` under ``pgq run``).

    ``batch_size`` is the dequeue batch (and the size at which PgQueuer flushes its
    buffer of finished jobs); ``max_concurrent`` caps the jobs one process holds
    (``None``: PgQueuer's default, no cap).
    """

    backend = "postgres"

    def __init__(
        self,
        concurrency: int,
        tmp: Path,
        *,
        name: str,
        batch_size: int,
        max_concurrent: int | None,
    ) -> None:
        super().__init__(concurrency, tmp)
        self.name = name
        self.batch_size = batch_size
        self.max_concurrent = max_concurrent
        self.schema = f"bench_pq_{uuid.uuid4().hex[:8]}"
        # asyncpg takes no libpq ``options``: the schema goes in PGQUEUER_SCHEMA instead,
        # and PgQueuer qualifies every object name with it.
        self.dsn = _pg_dsn(PG_URL)
        self.pgq_env = {
            "PGQUEUER_SCHEMA": self.schema,
            "PGQUEUER_CHANNEL": f"{self.schema}_ch",
            "BENCH_PGQUEUER_DSN": self.dsn,
        }
        self._saved_env: dict[str, str | None] = {}
        self.notes.append(
            f"pgqueuer.run(batch_size={batch_size}"
            + (f", max_concurrent_tasks={max_concurrent}" if max_concurrent else "")
            + "); asyncpg driver, durability 'durable' (PgQueuer's default)"
        )

    def setup(self) -> None:
        import asyncio

        import psycopg

        # PgQueuer reads its object names from the environment once per process.
        for k, v in self.pgq_env.items():
            self._saved_env[k] = os.environ.get(k)
            os.environ[k] = v
        import asyncpg
        from pgqueuer import AsyncpgDriver, Queries
        from pgqueuer.domain.settings import db_settings

        db_settings.cache_clear()
        from benchmarks import peer_pgqueuer

        self.entrypoint = peer_pgqueuer.ENTRYPOINT
        with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        self.loop = asyncio.new_event_loop()

        async def connect() -> Any:
            apg = await asyncpg.connect(self.dsn)
            queries = Queries(AsyncpgDriver(apg))
            await queries.install(create_schema=False)
            return apg, queries

        self.apg, self.queries = self.loop.run_until_complete(connect())
        self.conn = psycopg.connect(self.dsn, autocommit=True)

    def worker_cmd(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.peer_pgqueuer",
            "--batch-size",
            str(self.batch_size),
        ]
        if self.max_concurrent:
            cmd += ["--max-concurrent-tasks", str(self.max_concurrent)]
        return cmd

    def worker_env(self) -> dict[str, str]:
        return _env(**self.pgq_env)

    def enqueue(self, n: int) -> None:
        done = 0
        while done < n:
            b = min(BATCH, n - done)
            self.loop.run_until_complete(
                self.queries.enqueue([self.entrypoint] * b, [None] * b, [0] * b)
            )
            done += b

    def done_count(self) -> int:
        row = self.conn.execute(
            f"SELECT count(*) FROM {self.schema}.pgqueuer_log WHERE status = 'successful'"
        ).fetchone()
        return int(row[0]) if row else 0

    def verify(self, expected: int) -> str:
        logged = dict(
            self.conn.execute(
                f"SELECT status::text, count(*) FROM {self.schema}.pgqueuer_log GROUP BY 1"
            ).fetchall()
        )
        left = self.conn.execute(f"SELECT count(*) FROM {self.schema}.pgqueuer").fetchone()
        left_n = int(left[0]) if left else -1
        ok = logged.get("successful") == expected and left_n == 0
        return f"{'ok' if ok else 'MISMATCH'}: log {logged}, left in queue {left_n}"

    def teardown(self) -> None:
        import psycopg

        try:
            if hasattr(self, "conn"):
                self.conn.close()
            if hasattr(self, "apg"):
                self.loop.run_until_complete(self.apg.close())
            if hasattr(self, "loop"):
                self.loop.close()
        finally:
            with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            for k, old in self._saved_env.items():
                if old is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = old


# -- the run ------------------------------------------------------------------------------


def run_one(sys_: System, n: int) -> Result:
    res = Result(sys_.name, sys_.backend, n, WORKERS, sys_.concurrency)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sys_.setup()
        procs = sys_.start_workers()
        sys_.enqueue(WARMUP)

        def warmed_up() -> bool:
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{sys_.name} worker exited with {p.returncode}")
            return sys_.done_count() >= WARMUP

        _wait_until(warmed_up, 120, f"{sys_.name} warm-up")
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
    for pkg in (
        "carepipe",
        "procrastinate",
        "celery",
        "kombu",
        "redis",
        "pgqueuer",
        "asyncpg",
        "uvloop",
        "psycopg",
        "sqlalchemy",
    ):
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


PEERS = ("procrastinate", "celery", "pgqueuer", "pgqueuer-matched", "pgqueuer-b100")
DEFAULT_SYSTEMS = ",".join(("carepipe-sqlite", "carepipe-postgres", *PEERS))


def make_system(name: str, concurrency: int, tmp: Path) -> System:
    """The system called ``name`` (see ``--systems``), working in ``tmp``."""
    if name == "carepipe-sqlite":
        return CarePipe(concurrency, tmp, "sqlite")
    if name == "carepipe-postgres":
        return CarePipe(concurrency, tmp, "postgres")
    if name == "procrastinate":
        return Procrastinate(concurrency, tmp)
    if name == "celery":
        return CeleryRedis(concurrency, tmp)
    if name == "pgqueuer":
        # PgQueuer's own defaults (``pgq run``: batch 10, no cap on jobs in flight).
        return PgQueuerPeer(concurrency, tmp, name=name, batch_size=10, max_concurrent=None)
    if name == "pgqueuer-b100":
        # Tuned for throughput: each dequeue and each flush of finished jobs covers 100.
        return PgQueuerPeer(concurrency, tmp, name=name, batch_size=100, max_concurrent=None)
    if name == "pgqueuer-matched":
        # Held per process like CarePipe's worker: C running + C claimed ahead.
        return PgQueuerPeer(
            concurrency, tmp, name=name, batch_size=concurrency, max_concurrent=2 * concurrency
        )
    raise SystemExit(f"unknown system {name!r}")


def _median(xs: list[float]) -> float:
    ys = sorted(xs)
    mid = len(ys) // 2
    return ys[mid] if len(ys) % 2 else (ys[mid - 1] + ys[mid]) / 2


def summarise(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Per system: median and range of tasks/s and enqueue/s over the rounds that worked."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.system for r in results):
        mine = [r for r in results if r.system == name]
        ok = [r for r in mine if not r.error]
        entry: dict[str, Any] = {
            "system": name,
            "backend": mine[0].backend,
            "runs": len(mine),
            "failed": len(mine) - len(ok),
        }
        if ok:
            tps = [r.tasks_per_s for r in ok]
            entry.update(
                tasks_per_s=round(_median(tps), 1),
                tasks_per_s_range=[min(tps), max(tps)],
                total_s=round(_median([r.total_s for r in ok]), 3),
                enqueue_per_s=round(_median([r.enqueue_per_s for r in ok]), 1),
                verified="ok" if all(r.verified.startswith("ok") for r in ok) else "MISMATCH",
            )
        else:
            entry["error"] = mine[0].error
        out[name] = entry
    return out


def per_round_ratios(results: list[Result]) -> dict[str, list[float]]:
    """Our tasks/s over each peer's, within each round (same minutes, same load)."""
    ratios: dict[str, list[float]] = {}
    for rnd in sorted({r.round for r in results}):
        by = {r.system: r for r in results if r.round == rnd and not r.error}
        for ours, label in (("carepipe-postgres", "postgres"), ("carepipe-sqlite", "sqlite")):
            if ours not in by:
                continue
            for peer in PEERS:
                if peer in by:
                    key = f"{label}_vs_{peer.replace('-', '_')}"
                    ratios.setdefault(key, []).append(
                        round(by[ours].tasks_per_s / by[peer].tasks_per_s, 3)
                    )
    return ratios


# How to read the PgQueuer comparison (rendered under the table in docs/benchmarks.md).
QUEUE_NOTES = [
    "PgQueuer does less durable work per job than CarePipe: it claims a batch in one "
    "statement and buffers finished jobs, deleting and logging them in one statement per "
    "batch (or every ~0.1 s), so a no-op job costs it a fraction of a commit. CarePipe "
    "commits every task's outcome on its own (task done, attempt closed, job status and "
    "next task in one durable transaction) before the next stage can see it. "
    "bench_queue_profile.py measures where a task's time goes: with several handler threads "
    "the bound is the CPU per task (on PostgreSQL about 7 round trips per task: the "
    "outcome's 6, i.e. BEGIN, the pool's pre-ping, 3 statements and COMMIT, plus 1/8 of the "
    "claim's 9; each costs Python and server time), not the wait for the durable commit.",
    "PgQueuer's throughput grows with its batch size (pgqueuer-matched < pgqueuer < "
    "pgqueuer-b100) because each dequeue and each flush of finished jobs is one statement "
    "for the whole batch; CarePipe's claim is batched the same way, its outcome is not.",
    "A PgQueuer job that finished but whose buffered log entry was not yet flushed when "
    "its worker died runs again (at-least-once); a CarePipe stage's output, next task and "
    "job status commit together with the lease check (exactly-once handoff).",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=4, help="per worker process")
    ap.add_argument("--repeat", type=int, default=3, help="rounds over all systems")
    ap.add_argument("--systems", default=DEFAULT_SYSTEMS, help="comma-separated subset")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-queue-"))
    results: list[Result] = []
    try:
        for rnd in range(1, args.repeat + 1):
            for name in wanted:
                sub = tmp / f"{name}-{rnd}"
                sub.mkdir()
                system = make_system(name, args.concurrency, sub)
                print(f"round {rnd}/{args.repeat}: running {name} ...", flush=True)
                r = run_one(system, args.tasks)
                r.round = rnd
                if r.error:
                    for log in sorted(sub.glob("*.log")):
                        tail = log.read_text(errors="replace")[-2000:]
                        print(f"--- {log.name} (tail)\n{tail}", file=sys.stderr)
                else:
                    print(f"  {r.tasks_per_s:.0f} tasks/s  ({r.verified})", flush=True)
                results.append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = summarise(results)
    round_ratios = per_round_ratios(results)
    ratios = {k: round(_median(v), 2) for k, v in round_ratios.items()}
    ratio_ranges = {k: [min(v), max(v)] for k, v in round_ratios.items()}
    sq = summary.get("carepipe-sqlite", {})
    met = {
        "postgres_vs_procrastinate": (ratios.get("postgres_vs_procrastinate") or 0)
        >= TARGETS["postgres_vs_procrastinate"],
        "postgres_vs_celery": (ratios.get("postgres_vs_celery") or 0)
        >= TARGETS["postgres_vs_celery"],
        "sqlite_tasks_per_s": (sq.get("tasks_per_s") or 0) >= TARGETS["sqlite_tasks_per_s"],
    }

    print(
        f"\nqueue throughput: {args.tasks} no-op tasks, {WORKERS} worker processes x "
        f"concurrency {args.concurrency}, enqueue batches of {BATCH}, "
        f"{args.repeat} round(s)\n"
    )
    print(
        f"{'system':<20}{'backend':<10}{'tasks/s':>9}{'range':>13}{'wall s':>9}"
        f"{'enqueue/s':>11}  check"
    )
    for e in summary.values():
        if "tasks_per_s" not in e:
            print(f"{e['system']:<20}{e['backend']:<10}{'FAILED':>9}  {e.get('error')}")
            continue
        lo, hi = e["tasks_per_s_range"]
        print(
            f"{e['system']:<20}{e['backend']:<10}{e['tasks_per_s']:>9.0f}"
            f"{f'{lo:.0f}-{hi:.0f}':>13}{e['total_s']:>9.2f}{e['enqueue_per_s']:>11.0f}"
            f"  {e['verified']}" + (f" ({e['failed']} failed)" if e["failed"] else "")
        )
    print()
    for k, v in ratios.items():
        lo, hi = ratio_ranges[k]
        print(f"ratio {k:<34} {v:>6.2f}x  (rounds {lo:.2f}-{hi:.2f})")
    for k, ok in met.items():
        print(f"target {k:<33} {'met' if ok else 'MISSED'} (>= {TARGETS[k]})")

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
                "rounds": args.repeat,
                "method": (
                    "Workers started and warmed up (200 tasks) first; wall time from the first "
                    "enqueue to the last task done. CarePipe inserts the job rows and "
                    "carepipe.core.queue.enqueue_many (executemany, one transaction per batch "
                    "of 500); Procrastinate batch_defer (500 per call); PgQueuer "
                    "Queries.enqueue with lists (500 per statement), workers run by "
                    "pgqueuer.run (what `pgq run` runs) on asyncpg: 'pgqueuer' with its "
                    "defaults (dequeue batch 10, no cap), "
                    "'pgqueuer-matched' with batch C and at most 2C jobs per process like "
                    "CarePipe's worker, 'pgqueuer-b100' with batch 100; Celery delay() per task (no batch API). With several "
                    "rounds: median (range) per system; ratios are medians of per-round ratios."
                ),
                "machine": machine(),
                "versions": _versions(),
                "results": [asdict(r) for r in results],
                "summary": list(summary.values()),
                "ratios": ratios,
                "ratio_ranges": ratio_ranges,
                "targets": TARGETS,
                "targets_met": met,
                "notes": QUEUE_NOTES,
                "table": {
                    "columns": [
                        "system",
                        "backend",
                        "tasks/s (median)",
                        "range",
                        "wall s",
                        "enqueue/s",
                        "check",
                    ],
                    "rows": [
                        [
                            e["system"],
                            e["backend"],
                            e.get("tasks_per_s", "FAILED"),
                            "{:.0f}-{:.0f}".format(*e["tasks_per_s_range"])
                            if "tasks_per_s_range" in e
                            else "-",
                            e.get("total_s"),
                            e.get("enqueue_per_s"),
                            e.get("verified") or (e.get("error") or "").split(":")[0],
                        ]
                        for e in summary.values()
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
