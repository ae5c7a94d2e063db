"""Waking workers when tasks become ready.

PostgreSQL: ``NOTIFY carepipe_tasks, '<queue>'`` inside the enqueuing
transaction (delivered at commit) and a ``LISTEN`` connection per worker
process. Embedded: a condition variable on the ``Database`` object. Workers
also poll, so a lost notification only delays, never loses, work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from carepipe.core.db import Database

CHANNEL = "carepipe_tasks"


_NOTIFIED = "carepipe_notified"


def notify_in_transaction(session: Session, queue: str) -> None:
    """Queue a NOTIFY for commit (PostgreSQL); no-op elsewhere.

    Sent once per queue per (sub)transaction: PostgreSQL folds identical
    notifications of one transaction into one anyway, so a bulk enqueue of many
    tasks would otherwise pay a round trip per task for nothing. The memo is
    keyed on the innermost transaction, so a rolled-back savepoint (whose
    NOTIFY is discarded with it) never suppresses a later one.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    txn = session.get_nested_transaction() or session.get_transaction()
    memo = session.info.get(_NOTIFIED)
    if memo is None or memo[0] is not txn:
        memo = (txn, set())
        session.info[_NOTIFIED] = memo
    if queue in memo[1]:
        return
    session.execute(text("SELECT pg_notify(:c, :q)"), {"c": CHANNEL, "q": queue})
    memo[1].add(queue)


class PgListener(threading.Thread):
    """A daemon thread holding a LISTEN connection; calls ``on_notify(queue)``."""

    def __init__(self, db: Database, on_notify: Callable[[str], None]) -> None:
        super().__init__(name="carepipe-pg-listener", daemon=True)
        self.db = db
        self.on_notify = on_notify
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for n in conn.notifies(timeout=1.0):
                            self.on_notify(n.payload)
            except Exception:
                self._stop.wait(1.0)
