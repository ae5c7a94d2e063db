"""SQLite write transactions wait for another connection's lock in short steps.

SQLite's own busy handler retries after 1, 2, 5 ... 100 ms, so a writer that finds
the lock taken usually waits tens of milliseconds past its release. Ours retries
within 2 ms. The other writer here is a second connection in a thread: to SQLite
that is the same as another process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from carepipe.core.db import BUSY_TIMEOUT_SECONDS, Database, begin_immediate


class LockHolder(threading.Thread):
    """Another writer: holds the database's write lock for ``hold`` seconds."""

    def __init__(self, path: Path, hold: float) -> None:
        super().__init__()
        self.path, self.hold = path, hold
        self.locked = threading.Event()
        self.released_at = 0.0

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        self.locked.set()
        time.sleep(self.hold)
        self.released_at = time.monotonic()  # before COMMIT: no one gets the lock earlier
        conn.execute("COMMIT")
        conn.close()

    def __enter__(self) -> LockHolder:
        self.start()
        assert self.locked.wait(5)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.join()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "lock.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    return path


@pytest.mark.parametrize("hold", [0.25, 0.35, 0.45])
def test_writer_gets_the_lock_soon_after_release(db_path: Path, hold: float) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
    with LockHolder(db_path, hold) as other:
        begin_immediate(conn)
        got = time.monotonic()
    # SQLite's handler would wake ~78 ms after these releases (1+2+5+...+25 ms steps).
    assert 0 <= got - other.released_at < 0.03
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("COMMIT")
    # Statements keep the normal busy timeout once the transaction is ours.
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == int(BUSY_TIMEOUT_SECONDS * 1000)
    conn.close()


def test_gives_up_after_the_timeout(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    with LockHolder(db_path, 0.5):
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            begin_immediate(conn, timeout=0.1)
        assert 0.1 <= time.monotonic() - started < 0.4
    begin_immediate(conn)  # free again
    conn.execute("ROLLBACK")
    conn.close()


def test_database_write_transactions_use_it(db_path: Path) -> None:
    db = Database(f"sqlite:///{db_path}")
    with LockHolder(db_path, 0.3) as other, db.transaction() as s:
        s.execute(text("INSERT INTO t VALUES (2)"))  # the session's BEGIN waits here
        got = time.monotonic()
    assert 0 <= got - other.released_at < 0.03
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    db.engine.dispose()
