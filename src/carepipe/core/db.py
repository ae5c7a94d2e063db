"""Database engines and sessions.

SQLite (WAL) is the embedded default, PostgreSQL (psycopg 3) the production
database. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` so
that a read-then-write never fails to upgrade its lock; on PostgreSQL claims use
``FOR UPDATE SKIP LOCKED`` instead (see ``carepipe.core.queue``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from carepipe.core.clock import utcnow
from carepipe.core.errors import ValidationFailed

_SQLITE_BEGIN = "carepipe_sqlite_begin"
# ``Session.info`` key holding the ``Database`` a session came from: the queue's
# in-process wake-up (``carepipe.core.queue.wakeup``) signals it when the session commits.
SESSION_DATABASE = "carepipe_database"
BUSY_TIMEOUT_SECONDS = 30.0
# A write that waited this long for the lock means writes stalled (they take milliseconds).
STALL_SECONDS = 1.0


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below): pysqlite's own implicit
        # transactions cannot be made IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        if mode == "IMMEDIATE":
            begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql(f"BEGIN {mode}")


def begin_immediate(dbapi_conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write lock in short steps.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries;
    against another process that holds the lock for a millisecond at a time it
    sleeps far longer than the lock is held, and the two processes' throughput
    collapses (measured: an API process beside a worker process fell to 76 of 200
    req/s). Here the connection does not wait inside SQLite (``busy_timeout=0``
    for the BEGIN only) and retries after 50 us, doubling to at most 2 ms.
    Statements inside the transaction keep the normal busy timeout.
    """
    deadline = time.monotonic() + timeout
    delay = 0.00005
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")


_lanes = threading.local()


def mark_worker_thread() -> None:
    """Put the calling thread's write transactions in the workers' lane (``WriterTurns``)."""
    _lanes.work = True


class WriterTurns:
    """The one SQLite writer of this process, taken in turns: reentrant, fair, two lanes.

    Threads wait in arrival order within their lane (a ``threading.RLock`` lets
    whichever thread the OS wakes first jump the queue), and when both lanes wait
    the lock alternates between them: the workers' transactions (claim, stage
    handoff, heartbeat) and everyone else's (API intake, console). Under heavy
    intake an embedded worker still gets every other turn, so the backlog drains
    instead of starving behind dozens of request threads (issue 10: 44 tasks/s idle
    fell to 9 tasks/s at 100 req/s of intake).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._lanes: tuple[deque[tuple[int, threading.Event]], ...] = (deque(), deque())
        self._last_lane = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not (self._lanes[0] or self._lanes[1]):
                self._owner, self._depth = me, 1
                return
            turn = threading.Event()
            lane = 1 if getattr(_lanes, "work", False) else 0
            self._lanes[lane].append((me, turn))
        turn.wait()  # the releasing thread made us the owner before setting the event

    def release(self) -> None:
        with self._guard:
            self._depth -= 1
            if self._depth:
                return
            first, second = (1, 0) if self._last_lane == 0 else (0, 1)
            for lane in (first, second):
                if self._lanes[lane]:
                    owner, turn = self._lanes[lane].popleft()
                    self._owner, self._depth, self._last_lane = owner, 1, lane
                    turn.set()
                    return
            self._owner = None

    def __enter__(self) -> WriterTurns:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Database:
    """An engine plus session factories, and the in-process wake-up signal for workers."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
            kwargs["pool_size"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
            self._write_engine = self.engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        else:
            self._write_engine = self.engine
        info = {SESSION_DATABASE: self}
        self._read_factory = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._write_factory = sessionmaker(self._write_engine, expire_on_commit=False, info=info)
        # SQLite has one writer at a time. Serialising this process's writers here
        # keeps them out of SQLite's busy handler, whose sleeps (up to 100 ms each)
        # would otherwise dominate tail latency; other processes still use it.
        self._write_lock = WriterTurns() if self.dialect == "sqlite" else None
        # Embedded wake-up: set when tasks become ready in this process.
        self.wakeup = threading.Condition()
        self.wakeup_generation = 0
        # The last time this process's writers all waited: (began, ended), clock time.
        self._stall: tuple[datetime, datetime] | None = None
        # What must stop before the engine goes (pollers on threads of their own).
        self._on_dispose: list[Callable[[], None]] = []

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads (and writes that need no upgrade-safe lock); rolled back on error."""
        with self._read_factory() as s:
            try:
                yield s
            except DataError as exc:
                s.rollback()
                if _holds_nul(exc):
                    raise ValidationFailed("text may not contain U+0000 (NUL)") from exc
                raise
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        lock = self._write_lock
        asked = time.monotonic()
        asked_at = utcnow()
        if lock is not None:
            lock.acquire()
        try:
            with self._write_factory() as s:
                try:
                    if lock is not None:
                        s.connection()  # BEGIN IMMEDIATE now, so its wait is measured
                        self._note_wait(asked, asked_at)
                    yield s
                    s.commit()
                except DataError as exc:
                    s.rollback()
                    if _holds_nul(exc):
                        raise ValidationFailed("text may not contain U+0000 (NUL)") from exc
                    raise
                except BaseException:
                    s.rollback()
                    raise
        finally:
            if lock is not None:
                lock.release()

    def _note_wait(self, asked: float, asked_at: datetime) -> None:
        if time.monotonic() - asked >= STALL_SECONDS:
            self._stall = (asked_at, utcnow())

    def write_stall(self, within: float) -> datetime | None:
        """When writes last stalled, if that stall ended less than ``within`` seconds ago.

        A stall is a write transaction of this process that waited ``STALL_SECONDS``
        or more for SQLite's lock (another process held it: a long transaction, or a
        process stopped while holding it). Leases could not be renewed meanwhile.
        """
        stall = self._stall
        if stall is None or (utcnow() - stall[1]).total_seconds() > within:
            return None
        return stall[0]

    def signal(self) -> None:
        """Wake workers of this process (tasks became ready)."""
        with self.wakeup:
            self.wakeup_generation += 1
            self.wakeup.notify_all()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def on_dispose(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when this database is disposed, before its engine goes.

        A poller holding this database on its own thread (the maintenance fence watch)
        registers its stop here: otherwise a poll between a caller's dispose and its
        deleting the SQLite file re-creates the file (a benchmark's temporary directory
        then fails to go).
        """
        self._on_dispose.append(callback)

    def dispose(self) -> None:
        """Stop what registered with :meth:`on_dispose`, then close the engine's pool."""
        callbacks, self._on_dispose = self._on_dispose, []
        try:
            for callback in callbacks:
                callback()
        finally:
            self.engine.dispose()


def _holds_nul(exc: DataError) -> bool:
    """True if PostgreSQL refused a value for holding U+0000: the input's fault, not ours.

    Every door checks text for NUL (OpenAPI patterns, the storable-JSON rule);
    this is the net under all of them (and under any door added later), so that
    a NUL is ``validation_failed`` on both databases, never a 500.
    """
    return "NUL (0x00)" in str(exc.orig)
