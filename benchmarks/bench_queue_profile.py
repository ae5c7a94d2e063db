"""Where one CarePipe task's time goes, beside the floor for the durable writes it needs.

    .venv/bin/python benchmarks/bench_queue_profile.py [--tasks 2000] [--repeat 3]
        [--backends postgres,sqlite] [--claim-batch 8]

Breakdown (per backend): the worker's own code path, run serially in this
process so that every millisecond is attributed once: ``claim`` (batches of
``--claim-batch``, what a worker with 4 handler threads and 4 prefetched leases
claims at a time) and, per task, ``Worker._execute`` (stage lookup, the no-op
handler, building the handoff, metrics) around ``succeed`` (mark done, close the
attempt, job status + next task, commit). The same ``benchmarks.noop_pipeline``
and the same job/task rows as ``bench_queue.py``. Inside each phase:

- every SQL statement's round trip (SQLAlchemy ``before/after_cursor_execute``,
  so driver + network + server), named by what it does;
- the COMMIT (the dialect's ``do_commit``): on PostgreSQL the claim's commit is
  asynchronous (``SET LOCAL synchronous_commit = off``), the outcome's is durable
  and waits for the WAL flush (fdatasync); SQLite WAL with ``synchronous=NORMAL``
  writes the WAL but does not fsync at commit;
- SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the pool's pre-ping (``pool_pre_ping``:
  psycopg opens the transaction for it, so BEGIN and the ping, two round trips);
- the rest of the phase: Python (SQLAlchemy session/Core, our code, the pool).

Floor: the smallest durable transaction, ``BEGIN; INSERT one row; COMMIT`` on the
same driver (psycopg 3 with ``synchronous_commit`` on, and off for the claim's
kind; sqlite3 in WAL with ``synchronous=NORMAL`` as CarePipe runs it), run between
the breakdown's claim batches (one per task, one per claim) so that both see the
same disk and the same load: on this shared machine a WAL flush has taken from
0.07 to 4.5 ms within the hour. The per-task floor is the commits the contract
requires per task (counted in the breakdown: one outcome commit per task, one
claim commit per batch) times their interleaved bare cost. For context, a
standalone loop after the run: durable vs ``synchronous_commit = off`` (the WAL
flush's share), SQLite ``synchronous=FULL`` (an fsync per commit), and PostgreSQL
from 8 connections at once (group commit: the ceiling for one durable commit per
task with 8 handler threads, as in ``bench_queue.py``).

CPU per task: this process (``time.process_time``) and, on a local PostgreSQL,
the server processes of our connections (``/proc/<pid>/stat``).

A cProfile pass over a further batch of tasks (timer: this thread's CPU time, so
waits on the database do not count) gives the share of Python CPU time by
package (SQLAlchemy, psycopg, sqlite3, CarePipe, ...): a profiler's timings are
inflated, so only the shares are reported.

``--repeat R`` runs everything R times (each round pairs a breakdown with a floor
measured right after it); the breakdown shown is the round with the median total,
with the range of totals and floors over the rounds.

Writes ``benchmarks/results/queue_profile.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.bench_queue import PG_URL, CarePipe, _pg_dsn, machine  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "queue_profile.json"
WARMUP = 200
FLOOR_THREADS = 8
CPROFILE_TASKS = 500

# Statements by what they do: (phase, "VERB table") -> name.
NAMES = {
    ("claim", "SET"): "SET LOCAL synchronous_commit = off",
    ("claim", "SELECT queues"): "read queue controls (paused, rate limits)",
    ("claim", "UPDATE tasks"): "lease ready tasks (UPDATE .. SKIP LOCKED)",
    ("claim", "SELECT tasks"): "read claimed rows (tasks JOIN jobs)",
    ("claim", "INSERT task_attempts"): "open attempt rows",
    ("claim", "UPDATE jobs"): "jobs -> running",
    ("succeed", "UPDATE tasks"): "mark task done (lease re-checked)",
    ("succeed", "UPDATE task_attempts"): "close attempt",
    ("succeed", "UPDATE jobs"): "job status (handoff)",
    ("succeed", "INSERT tasks"): "next task (handoff)",
    ("succeed", "NOTIFY"): "NOTIFY next queue (handoff)",
}


def _verb_table(sql: str) -> str:
    s = " ".join(sql.split())
    up = s.upper()
    if "PG_NOTIFY" in up:
        return "NOTIFY"
    if up.startswith("SET"):
        return "SET"
    m = re.match(r"(?i)(UPDATE|INSERT INTO|DELETE FROM)\s+\"?(\w+)", s)
    if m:
        return f"{m.group(1).split()[0].upper()} {m.group(2)}"
    m = re.match(r"(?i)SELECT\b.*?\bFROM\s+\"?(\w+)", s)
    if m:
        return f"SELECT {m.group(1)}"
    return up.split(" ", 1)[0]


class Meter:
    """Accumulates seconds per (phase, bucket) and counts; one thread (the run is serial)."""

    def __init__(self) -> None:
        self.phase = "other"
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, bucket: str, dt: float, phase: str | None = None) -> None:
        key = (phase or self.phase, bucket)
        self.seconds[key] += dt
        self.counts[key] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.counts.clear()

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        prev, self.phase = self.phase, phase
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add("total", time.perf_counter() - t0, phase)
            self.phase = prev


def instrument(db: Any, meter: Meter) -> Callable[[], None]:
    """Hook statement, COMMIT and BEGIN IMMEDIATE timings into ``meter``; returns an undo."""
    from sqlalchemy import event

    import carepipe.core.db as core_db
    import carepipe.pipelines.worker as worker_mod

    engine = db.engine

    def before(conn: Any, _cur: Any, _stmt: str, *_a: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, _cur: Any, stmt: str, *_a: Any) -> None:
        t0 = conn.info.pop("bench_t0", None)
        if t0 is not None:
            meter.add("sql:" + _verb_table(stmt), time.perf_counter() - t0)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    dialect = engine.dialect
    orig_commit = dialect.do_commit

    def do_commit(dbapi_conn: Any) -> None:
        t0 = time.perf_counter()
        try:
            orig_commit(dbapi_conn)
        finally:
            meter.add("commit", time.perf_counter() - t0)

    dialect.do_commit = do_commit  # type: ignore[method-assign]

    # ``pool_pre_ping``: the pool pings every connection it hands out. psycopg (not in
    # autocommit) opens the transaction for that ping, so this bucket holds two round
    # trips per transaction: BEGIN (needed anyway) and the ping itself.
    orig_ping = dialect.do_ping

    def do_ping(dbapi_conn: Any) -> bool:
        t0 = time.perf_counter()
        try:
            return orig_ping(dbapi_conn)
        finally:
            meter.add("ping", time.perf_counter() - t0)

    dialect.do_ping = do_ping  # type: ignore[method-assign]

    orig_begin = core_db.begin_immediate

    def begin_immediate(dbapi_conn: Any, *a: Any, **kw: Any) -> None:
        t0 = time.perf_counter()
        try:
            orig_begin(dbapi_conn, *a, **kw)
        finally:
            meter.add("begin", time.perf_counter() - t0)

    core_db.begin_immediate = begin_immediate  # type: ignore[assignment]

    # The worker calls ``succeed`` by this module-level name: time it as a phase.
    orig_succeed = worker_mod.succeed

    def succeed(*a: Any, **kw: Any) -> None:
        with meter.timing("succeed"):
            orig_succeed(*a, **kw)

    worker_mod.succeed = succeed  # type: ignore[assignment]

    def undo() -> None:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        dialect.do_commit = orig_commit  # type: ignore[method-assign]
        dialect.do_ping = orig_ping  # type: ignore[method-assign]
        core_db.begin_immediate = orig_begin  # type: ignore[assignment]
        worker_mod.succeed = orig_succeed  # type: ignore[assignment]

    return undo


# -- the breakdown ------------------------------------------------------------------------


def _make_worker(cp: CarePipe, tmp: Path) -> Any:
    from carepipe.core.blobs import LocalBlobStore
    from carepipe.core.config import Settings
    from carepipe.core.crypto import Cipher
    from carepipe.pipelines.worker import Worker

    settings = Settings(
        database_url=cp.url,
        data_dir=tmp / "var",
        pipeline_modules="benchmarks.noop_pipeline",
        log_level="WARNING",
    )
    blobs = LocalBlobStore(tmp / "blobs-worker", Cipher(b"b" * 32))
    return Worker(cp.db, blobs, settings, queues=["bench_noop"], concurrency=4)


class FloorProbe:
    """Bare commits run between the breakdown's claim batches, so both see the same load.

    The disk's flush latency on a shared machine drifts by 10x within minutes; a floor
    measured a minute apart from the breakdown would compare two different machines.
    PostgreSQL: one connection with ``synchronous_commit`` on (the outcome's kind of
    commit) and one with it off (the claim's). SQLite: a database file of its own in
    the same directory, WAL, ``synchronous=NORMAL``.
    """

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.conns: dict[bool, Any] = {}
        if backend == "postgres":
            import psycopg

            self.schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
            admin = _pg_dsn(PG_URL)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")
                conn.execute(
                    f"CREATE TABLE {self.schema}.floor_t (id bigserial PRIMARY KEY, v int NOT NULL)"
                )
            sep = "&" if "?" in admin else "?"
            dsn = f"{admin}{sep}options=-csearch_path%3D{self.schema}"
            for durable in (True, False):
                pg = psycopg.connect(dsn)
                pg.execute(f"SET synchronous_commit = {'on' if durable else 'off'}")
                pg.commit()
                self.conns[durable] = pg
            self.sql = "INSERT INTO floor_t (v) VALUES (%s)"
        else:
            lite = sqlite3.connect(tmp / "floor-interleaved.db", isolation_level=None)
            lite.execute("PRAGMA journal_mode=WAL")
            lite.execute("PRAGMA synchronous=NORMAL")
            lite.execute("CREATE TABLE floor_t (id INTEGER PRIMARY KEY, v INT NOT NULL)")
            self.conns = {True: lite, False: lite}
            self.sql = "INSERT INTO floor_t (v) VALUES (?)"
        self.seconds = {True: 0.0, False: 0.0}
        self.count = {True: 0, False: 0}
        self.cpu = 0.0
        for durable in (True, False):  # warm: connection, statement cache
            for _ in range(20):
                self.commit(durable)
        self.seconds = {True: 0.0, False: 0.0}
        self.count = {True: 0, False: 0}
        self.cpu = 0.0

    def commit(self, durable: bool) -> float:
        """One BEGIN; INSERT; COMMIT. Returns the wall seconds it took."""
        conn = self.conns[durable]
        c0 = time.process_time()
        t0 = time.perf_counter()
        if self.backend == "postgres":
            conn.execute(self.sql, (self.count[durable],))
            conn.commit()
        else:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(self.sql, (self.count[durable],))
            conn.execute("COMMIT")
        dt = time.perf_counter() - t0
        self.cpu += time.process_time() - c0
        self.seconds[durable] += dt
        self.count[durable] += 1
        return dt

    def mean_ms(self, durable: bool) -> float:
        """Mean wall milliseconds of the commits of one kind so far."""
        return 1000 * self.seconds[durable] / max(1, self.count[durable])

    def close(self) -> None:
        for conn in {id(c): c for c in self.conns.values()}.values():
            conn.close()
        if self.backend == "postgres":
            import psycopg

            with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def _drain(
    cp: CarePipe,
    worker: Any,
    meter: Meter,
    n: int,
    claim_batch: int,
    probe: FloorProbe | None = None,
) -> float:
    """Claim and run ``n`` tasks serially, the way the worker's threads would.

    With ``probe``: after each claimed batch, one bare durable commit per task and one
    bare claim-kind commit. Returns the seconds spent in the probe.
    """
    from carepipe.core.queue import claim

    done = 0
    probe_s = 0.0
    while done < n:
        with meter.timing("claim"):
            got = claim(
                cp.db,
                queues=["bench_noop"],
                worker_id=worker.worker_id,
                limit=min(claim_batch, n - done),
                lease_seconds=60.0,
            )
        if not got:
            raise RuntimeError(f"queue ran dry after {done} of {n} tasks")
        for task in got:
            with meter.timing("run"):
                worker._execute(task)
        done += len(got)
        if probe is not None:
            for _ in got:
                probe_s += probe.commit(True)
            probe_s += probe.commit(False)
    return probe_s


def _package(filename: str, func: str) -> str:
    where = f"{filename} {func}".lower()
    for pkg in ("sqlalchemy", "psycopg", "sqlite3", "carepipe", "prometheus_client"):
        if pkg in where:
            return pkg
    if filename == "~":
        return "builtins"
    return "python stdlib/other"


def _cprofile_shares(prof: cProfile.Profile) -> tuple[dict[str, float], list[list[Any]]]:
    stats = pstats.Stats(prof)
    by_pkg: dict[str, float] = defaultdict(float)
    rows = []
    total = 0.0
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_pkg[_package(filename, func)] += tt
        total += tt
        rows.append((tt, f"{Path(filename).name}:{func}" if filename != "~" else func))
    rows.sort(reverse=True)
    shares = {k: round(v / total, 3) for k, v in sorted(by_pkg.items(), key=lambda kv: -kv[1])}
    top = [[name, round(tt / total, 3)] for tt, name in rows[:12]]
    return shares, top


def _backend_pids(app_name: str) -> list[int]:
    """PostgreSQL backend processes serving connections named ``app_name``."""
    import psycopg

    with psycopg.connect(_pg_dsn(PG_URL), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def _cpu_seconds(pids: list[int]) -> dict[int, float] | None:
    """user+system CPU of local processes from /proc (None if PostgreSQL is not local)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def breakdown(backend: str, n: int, claim_batch: int, tmp: Path) -> dict[str, Any]:
    """One serial run of ``n`` tasks on ``backend``: ms per task by phase and statement."""
    from carepipe.core.db import mark_worker_thread

    mark_worker_thread()
    cp = CarePipe(4, tmp, backend)
    app_name = f"bench_profile_{uuid.uuid4().hex[:8]}"
    if backend == "postgres":
        # Name our connections, to read their server processes' CPU time.
        cp.url += f"&application_name={app_name}"
    meter = Meter()
    undo: Callable[[], None] | None = None
    worker: Any = None
    probe = FloorProbe(backend, tmp)
    try:
        cp.setup()
        cp.enqueue(WARMUP + n + CPROFILE_TASKS)
        worker = _make_worker(cp, tmp)
        undo = instrument(cp.db, meter)
        _drain(cp, worker, meter, WARMUP, claim_batch)
        meter.reset()
        server_before = _cpu_seconds(_backend_pids(app_name)) if backend == "postgres" else None
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        probe_s = _drain(cp, worker, meter, n, claim_batch, probe)
        wall = time.perf_counter() - t0 - probe_s
        client_cpu = time.process_time() - cpu0 - probe.cpu
        server_cpu: float | None = None
        if server_before is not None:
            after = _cpu_seconds(_backend_pids(app_name))
            if after is not None:
                server_cpu = sum(v - server_before.get(pid, 0.0) for pid, v in after.items())
        counts = dict(meter.counts)
        seconds = dict(meter.seconds)
        if counts.get(("succeed", "total")) != n or not counts.get(("succeed", "commit")):
            raise RuntimeError(
                "instrumentation missed the outcome path (worker.succeed / do_commit moved?)"
            )
        # CPU time of this thread, not wall time: waiting on the database is not Python.
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        _drain(cp, worker, Meter(), CPROFILE_TASKS, claim_batch)
        prof.disable()
        shares, top = _cprofile_shares(prof)
        verified = cp.verify(WARMUP + n + CPROFILE_TASKS)
    finally:
        if undo:
            undo()
        probe.close()
        cp.teardown()
        if worker is not None:
            worker._pool.shutdown(wait=False)
    out = _summarise(backend, n, claim_batch, wall, seconds, counts, shares, top, verified)
    out["interleaved_floor"] = {
        "durable_commit_ms": round(probe.mean_ms(True), 4),
        "claim_kind_commit_ms": round(probe.mean_ms(False), 4),
        "commits": probe.count[True] + probe.count[False],
    }
    out["cpu_ms_per_task"] = {
        "client": round(client_cpu * 1000 / n, 4),
        "server": None if server_cpu is None else round(server_cpu * 1000 / n, 4),
    }
    return out


def _summarise(
    backend: str,
    n: int,
    claim_batch: int,
    wall: float,
    seconds: dict[tuple[str, str], float],
    counts: dict[tuple[str, str], int],
    shares: dict[str, float],
    top: list[list[Any]],
    verified: str,
) -> dict[str, Any]:
    ms = 1000.0 / n  # seconds summed over the run -> ms per task

    def phase_rows(phase: str, total: float) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        accounted = 0.0
        for (ph, bucket), sec in sorted(seconds.items(), key=lambda kv: -kv[1]):
            if ph != phase or bucket == "total":
                continue
            accounted += sec
            if bucket == "commit":
                name = "COMMIT"
                if backend == "postgres":
                    name += " (async)" if phase == "claim" else " (durable: waits for WAL flush)"
                else:
                    name += " (WAL write, no fsync: synchronous=NORMAL)"
            elif bucket == "begin":
                name = "BEGIN IMMEDIATE"
            elif bucket == "ping":
                name = "BEGIN + pool pre-ping ';' (2 round trips)"
            else:
                stmt = bucket.removeprefix("sql:")
                name = NAMES.get((phase, stmt), stmt)
            rows.append(
                {
                    "what": name,
                    "ms_per_task": round(sec * ms, 4),
                    "per_task": round(counts[(ph, bucket)] / n, 3),
                }
            )
        rows.append(
            {
                "what": "Python (SQLAlchemy, our code, pool, session)",
                "ms_per_task": round((total - accounted) * ms, 4),
                "per_task": None,
            }
        )
        return rows

    claim_total = seconds.get(("claim", "total"), 0.0)
    run_total = seconds.get(("run", "total"), 0.0)
    succeed_total = seconds.get(("succeed", "total"), 0.0)
    # ``run`` wraps ``succeed``: what is left is the worker's own work and the handler.
    handler_total = run_total - succeed_total
    # Statements the handler phase itself ran (none expected for a no-op stage).
    phases = {
        "claim": {
            "ms_per_task": round(claim_total * ms, 4),
            "calls_per_task": round(counts.get(("claim", "total"), 0) / n, 3),
            "parts": phase_rows("claim", claim_total),
        },
        "handler": {
            "ms_per_task": round(handler_total * ms, 4),
            "calls_per_task": 1.0,
            "parts": [
                {
                    "what": "Worker._execute minus succeed: stage lookup, no-op handler, "
                    "handoff built, metrics",
                    "ms_per_task": round(handler_total * ms, 4),
                    "per_task": None,
                }
            ],
        },
        "succeed": {
            "ms_per_task": round(succeed_total * ms, 4),
            "calls_per_task": round(counts.get(("succeed", "total"), 0) / n, 3),
            "parts": phase_rows("succeed", succeed_total),
        },
    }
    commits = {
        "claim": round(counts.get(("claim", "commit"), 0) / n, 3),
        "succeed": round(counts.get(("succeed", "commit"), 0) / n, 3),
    }
    sql_ms = sum(v for (ph, b), v in seconds.items() if b.startswith("sql:")) * ms
    commit_ms = sum(v for (ph, b), v in seconds.items() if b == "commit") * ms
    begin_ms = sum(v for (ph, b), v in seconds.items() if b == "begin") * ms
    ping_ms = sum(v for (ph, b), v in seconds.items() if b == "ping") * ms
    return {
        "backend": backend,
        "tasks": n,
        "claim_batch": claim_batch,
        "ms_per_task": round(wall * ms, 4),
        "serial_tasks_per_s": round(n / wall, 1),
        "phases": phases,
        "commits_per_task": commits,
        "totals_ms_per_task": {
            "sql_statements": round(sql_ms, 4),
            "commits": round(commit_ms, 4),
            "begin_immediate": round(begin_ms, 4),
            "begin_and_pre_ping": round(ping_ms, 4),
            "python_and_rest": round(wall * ms - sql_ms - commit_ms - begin_ms - ping_ms, 4),
        },
        "cprofile_share_by_package": shares,
        "cprofile_top_functions": top,
        "verified": verified.split(":")[0],
    }


# -- the floor ----------------------------------------------------------------------------


def _pg_commit_loop(dsn: str, n: int, synchronous: bool) -> float:
    """Seconds for ``n`` x (BEGIN; INSERT one row; COMMIT) on one psycopg connection."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET synchronous_commit = {'on' if synchronous else 'off'}")
        conn.commit()
        for i in range(50):  # warm: connection, prepared statement
            conn.execute("INSERT INTO floor_t (v) VALUES (%s)", (i,))
            conn.commit()
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO floor_t (v) VALUES (%s)", (i,))
            conn.commit()
        return time.perf_counter() - t0


def pg_floor(n: int) -> dict[str, Any]:
    """Bare durable (and asynchronous) commits on PostgreSQL, in a schema of their own."""
    import psycopg

    schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
    admin = _pg_dsn(PG_URL)
    sep = "&" if "?" in admin else "?"
    dsn = f"{admin}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.floor_t (id bigserial PRIMARY KEY, v int NOT NULL)")
    try:
        durable = _pg_commit_loop(dsn, n, True)
        asynchronous = _pg_commit_loop(dsn, n, False)
        per_thread = max(1, n // FLOOR_THREADS)
        walls: list[float] = []
        errors: list[BaseException] = []

        def one() -> None:
            try:
                walls.append(_pg_commit_loop(dsn, per_thread, True))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(FLOOR_THREADS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise errors[0]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {
        "durable_commit_ms": round(durable * 1000 / n, 4),
        "async_commit_ms": round(asynchronous * 1000 / n, 4),
        "wal_flush_ms": round((durable - asynchronous) * 1000 / n, 4),
        f"durable_commits_per_s_{FLOOR_THREADS}_connections": round(
            per_thread * FLOOR_THREADS / wall, 1
        ),
        "durable_commits_per_s_1_connection": round(n / durable, 1),
    }


def _sqlite_commit_loop(path: Path, n: int, synchronous: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE IF NOT EXISTS floor_t (id INTEGER PRIMARY KEY, v INT NOT NULL)")
        for i in range(50):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO floor_t (v) VALUES (?)", (i,))
            conn.execute("COMMIT")
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO floor_t (v) VALUES (?)", (i,))
            conn.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        conn.close()


def sqlite_floor(n: int, tmp: Path) -> dict[str, Any]:
    """Bare write transactions on SQLite WAL: NORMAL (as CarePipe runs) and FULL (fsync)."""
    normal = _sqlite_commit_loop(tmp / "floor-normal.db", n, "NORMAL")
    full = _sqlite_commit_loop(tmp / "floor-full.db", n, "FULL")
    return {
        "durable_commit_ms": round(normal * 1000 / n, 4),
        "full_fsync_commit_ms": round(full * 1000 / n, 4),
        "durable_commits_per_s_1_connection": round(n / normal, 1),
    }


def floor_per_task(b: dict[str, Any]) -> float:
    """The bare cost of the commits one task needs (outcome: durable; its share of a claim:
    asynchronous on PostgreSQL), priced by the probe interleaved with the breakdown."""
    commits, fl = b["commits_per_task"], b["interleaved_floor"]
    return (
        commits["succeed"] * fl["durable_commit_ms"] + commits["claim"] * fl["claim_kind_commit_ms"]
    )


# -- report -------------------------------------------------------------------------------


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ranked = sorted(rounds, key=lambda r: r["breakdown"]["ms_per_task"])
    return ranked[(len(ranked) - 1) // 2]


def _print_backend(backend: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    med = _median_round(rounds)
    b, fl = med["breakdown"], med["floor"]
    totals = [r["breakdown"]["ms_per_task"] for r in rounds]
    floors = [r["floor_ms_per_task"] for r in rounds]
    commits = b["commits_per_task"]
    print(
        f"\n{backend}: {b['ms_per_task']:.3f} ms per task serially "
        f"({b['serial_tasks_per_s']:.0f} tasks/s on one thread; rounds "
        f"{min(totals):.3f}-{max(totals):.3f} ms), {b['tasks']} tasks, claims of "
        f"{b['claim_batch']}, check {b['verified']}"
    )
    print(f"  {'phase / part':<58}{'ms/task':>9}{'share':>7}{'x/task':>8}")
    for phase, data in b["phases"].items():
        share = data["ms_per_task"] / b["ms_per_task"]
        print(f"  {phase:<58}{data['ms_per_task']:>9.3f}{share:>7.0%}")
        for part in data["parts"]:
            per = "" if part["per_task"] is None else f"{part['per_task']:.3f}"
            print(
                f"    {part['what'][:56]:<56}{part['ms_per_task']:>9.3f}"
                f"{part['ms_per_task'] / b['ms_per_task']:>7.0%}{per:>8}"
            )
    rest = b["ms_per_task"] - sum(p["ms_per_task"] for p in b["phases"].values())
    print(f"  {'loop itself (between phases)':<58}{rest:>9.3f}{rest / b['ms_per_task']:>7.0%}")
    t = b["totals_ms_per_task"]
    print(
        f"  all SQL round trips {t['sql_statements']:.3f} ms, all COMMITs {t['commits']:.3f} ms"
        + (f", BEGIN IMMEDIATE {t['begin_immediate']:.3f} ms" if t["begin_immediate"] else "")
        + (
            f", BEGIN + pre-ping {t['begin_and_pre_ping']:.3f} ms"
            if t["begin_and_pre_ping"]
            else ""
        )
        + f", Python and the rest {t['python_and_rest']:.3f} ms"
    )
    cpu = b["cpu_ms_per_task"]
    cpu_total = cpu["client"] + (cpu["server"] or 0.0)
    print(
        f"  CPU per task: this process {cpu['client']:.3f} ms"
        + (f", PostgreSQL backend {cpu['server']:.3f} ms" if cpu["server"] is not None else "")
        + f" -> {cpu_total:.3f} ms, i.e. at most ~{(os.cpu_count() or 1) * 1000 / cpu_total:.0f} "
        f"tasks/s if {os.cpu_count()} cores did nothing else"
    )
    print(
        "  cProfile, Python CPU by package: "
        + ", ".join(f"{k} {v:.0%}" for k, v in list(b["cprofile_share_by_package"].items())[:6])
    )
    il = b["interleaved_floor"]
    if backend == "postgres":
        print(
            f"  floor, interleaved with the run: bare BEGIN+INSERT+COMMIT "
            f"{il['durable_commit_ms']:.3f} ms durable, {il['claim_kind_commit_ms']:.3f} ms "
            f"with synchronous_commit off"
        )
        print(
            f"  floor, standalone loop after it: {fl['durable_commit_ms']:.3f} ms durable (WAL "
            f"flush {fl['wal_flush_ms']:.3f} ms of it), {fl['async_commit_ms']:.3f} ms async; "
            f"{FLOOR_THREADS} connections: "
            f"{fl[f'durable_commits_per_s_{FLOOR_THREADS}_connections']:.0f} durable commits/s"
        )
        need = f"{commits['succeed']:.2f} durable + {commits['claim']:.3f} async commits per task"
    else:
        print(
            f"  floor, interleaved with the run: bare BEGIN IMMEDIATE+INSERT+COMMIT "
            f"{il['durable_commit_ms']:.3f} ms (synchronous=NORMAL, as we run it)"
        )
        print(
            f"  floor, standalone loop after it: {fl['durable_commit_ms']:.3f} ms; "
            f"{fl['full_fsync_commit_ms']:.3f} ms with synchronous=FULL (fsync per commit)"
        )
        need = f"{commits['succeed'] + commits['claim']:.3f} commits per task"
    y = med["floor_ms_per_task"]
    print(
        f"  => we spend {b['ms_per_task']:.3f} ms per task, of which {y:.3f} ms "
        f"({y / b['ms_per_task']:.0%}) is the {need} the contract requires "
        f"(floor over rounds {min(floors):.3f}-{max(floors):.3f} ms)"
    )
    return {
        "backend": backend,
        "median_round": med,
        "ms_per_task_range": [min(totals), max(totals)],
        "floor_ms_per_task_range": [min(floors), max(floors)],
        "floor_share": round(y / b["ms_per_task"], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="postgres,sqlite")
    ap.add_argument("--claim-batch", type=int, default=8, help="tasks leased per claim")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-queue-profile-"))
    per_backend: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    try:
        for rnd in range(1, args.repeat + 1):
            for backend in backends:
                sub = tmp / f"{backend}-{rnd}"
                sub.mkdir()
                print(f"round {rnd}/{args.repeat}: {backend} breakdown + floor ...", flush=True)
                b = breakdown(backend, args.tasks, args.claim_batch, sub)
                fl = (
                    pg_floor(args.tasks) if backend == "postgres" else sqlite_floor(args.tasks, sub)
                )
                per_backend[backend].append(
                    {
                        "round": rnd,
                        "breakdown": b,
                        "floor": fl,
                        "floor_ms_per_task": round(floor_per_task(b), 4),
                    }
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nqueue profile: one worker's code path run serially, {args.tasks} no-op tasks per "
        f"round, {args.repeat} round(s); median round shown"
    )
    summaries = [_print_backend(b, rounds) for b, rounds in per_backend.items() if rounds]
    write_results(args, summaries, per_backend)
    return 0


def write_results(
    args: argparse.Namespace,
    summaries: list[dict[str, Any]],
    per_backend: dict[str, list[dict[str, Any]]],
) -> None:
    rows = []
    for s in summaries:
        b = s["median_round"]["breakdown"]
        ph = b["phases"]
        commit_parts = {
            p: sum(x["ms_per_task"] for x in ph[p]["parts"] if x["what"].startswith("COMMIT"))
            for p in ("claim", "succeed")
        }
        rows.append(
            [
                s["backend"],
                b["ms_per_task"],
                "{:.3f}-{:.3f}".format(*s["ms_per_task_range"]),
                ph["claim"]["ms_per_task"],
                ph["handler"]["ms_per_task"],
                round(ph["succeed"]["ms_per_task"] - commit_parts["succeed"], 4),
                round(commit_parts["succeed"] + commit_parts["claim"], 4),
                s["median_round"]["floor_ms_per_task"],
                f"{s['floor_share']:.0%}",
            ]
        )
    notes = []
    for s in summaries:
        b = s["median_round"]["breakdown"]
        fl = s["median_round"]["floor"]
        t = b["totals_ms_per_task"]
        c = b["commits_per_task"]
        if s["backend"] == "postgres":
            notes.append(
                f"PostgreSQL: {b['ms_per_task']:.2f} ms per task on one thread, of which "
                f"{s['median_round']['floor_ms_per_task']:.2f} ms ({s['floor_share']:.0%}) is "
                f"the floor: {c['succeed']:.0f} durable commit (a bare BEGIN+INSERT+COMMIT "
                f"measured between our tasks took {b['interleaved_floor']['durable_commit_ms']:.2f}"
                f" ms; in a loop after the run {fl['durable_commit_ms']:.2f} ms, "
                f"{fl['wal_flush_ms']:.2f} ms of it the WAL flush) plus {c['claim']:.3f} "
                f"asynchronous claim commit per task. SQL round "
                f"trips take {t['sql_statements']:.2f} ms, all COMMITs {t['commits']:.2f} ms, "
                f"BEGIN + the pool's pre-ping {t['begin_and_pre_ping']:.2f} ms, "
                f"Python (SQLAlchemy, our code) {t['python_and_rest']:.2f} ms. With "
                f"{FLOOR_THREADS} connections PostgreSQL groups commits: "
                f"{fl[f'durable_commits_per_s_{FLOOR_THREADS}_connections']:.0f} bare durable "
                f"commits/s is the ceiling for one durable commit per task."
            )
        else:
            notes.append(
                f"SQLite (WAL, synchronous=NORMAL): {b['ms_per_task']:.2f} ms per task, of "
                f"which {s['median_round']['floor_ms_per_task']:.2f} ms "
                f"({s['floor_share']:.0%}) is the {c['succeed'] + c['claim']:.3f} bare write "
                f"transactions per task ("
                f"{b['interleaved_floor']['durable_commit_ms']:.3f} ms each between our tasks; "
                f"no fsync at commit in this mode; "
                f"{fl['full_fsync_commit_ms']:.2f} ms each with synchronous=FULL). SQL "
                f"{t['sql_statements']:.2f} ms, COMMITs {t['commits']:.2f} ms, BEGIN IMMEDIATE "
                f"{t['begin_immediate']:.2f} ms, Python {t['python_and_rest']:.2f} ms."
            )
    for s in summaries:
        b = s["median_round"]["breakdown"]
        cpu = b["cpu_ms_per_task"]
        cores = os.cpu_count() or 1
        if cpu["server"] is not None:
            total = cpu["client"] + cpu["server"]
            notes.append(
                f"{s['backend']}: CPU per task {cpu['client']:.2f} ms in the worker process + "
                f"{cpu['server']:.2f} ms in PostgreSQL = {total:.2f} ms, so {cores} cores doing "
                f"nothing else top out near {cores * 1000 / total:.0f} tasks/s. With several "
                "handler threads (bench_queue.py) this CPU, not the commit, is the bound: "
                "a durable commit's wait overlaps with other tasks' work."
            )
        else:
            in_txn = b["phases"]["claim"]["ms_per_task"] + b["phases"]["succeed"]["ms_per_task"]
            notes.append(
                f"{s['backend']}: one write transaction at a time; on one thread a task spends "
                f"{in_txn:.2f} ms inside its claim and outcome transactions, mostly Python "
                "(SQLAlchemy) run while holding the write lock, which more threads or "
                f"processes cannot overlap (CPU per task {cpu['client']:.2f} ms)."
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "queue_profile",
                "title": "Queue: where a task's time goes, and the commit floor",
                "method": (
                    "The worker's code path (claim in batches of "
                    f"{args.claim_batch}, Worker._execute, succeed) run serially in one "
                    f"process on {args.tasks} no-op tasks per round, {args.repeat} round(s), "
                    "timed per phase, per SQL statement (cursor execute) and per COMMIT; the "
                    "floor is bare BEGIN+INSERT+COMMIT on the same driver, run between our "
                    "claim batches "
                    "(PostgreSQL synchronous_commit on; SQLite WAL synchronous=NORMAL), times "
                    "the commits a task needs. Median round shown; ranges over rounds. "
                    "Columns in ms per task."
                ),
                "tasks": args.tasks,
                "rounds": args.repeat,
                "claim_batch": args.claim_batch,
                "machine": machine(),
                "summaries": summaries,
                "rounds_detail": per_backend,
                "notes": notes,
                "table": {
                    "columns": [
                        "backend",
                        "ms/task",
                        "range",
                        "claim",
                        "handler",
                        "succeed w/o commit",
                        "commits",
                        "floor",
                        "floor share",
                    ],
                    "rows": rows,
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
