"""Waking workers when tasks become ready.

PostgreSQL: ``NOTIFY carepipe_tasks, '<queue>'`` inside the enqueuing
transaction (delivered at commit) and a ``LISTEN`` connection per worker
process. Embedded: a condition variable on the ``Database`` object, signalled
when the enqueuing transaction commits. Either way the wake-up is part of the
queue operation that made the task ready, so services never send it themselves
(``carepipe.core.queue.dialect``). Workers also poll, so a lost notification
only delays, never loses, work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from carepipe.core.db import Database
from carepipe.core.queue.dialect import CHANNEL, dialect_of

__all__ = ["CHANNEL", "PgListener", "notify_in_transaction"]


def notify_in_transaction(session: Session, queue: str) -> None:
    """Wake the workers of ``queue`` when the caller's transaction commits (not before)."""
    dialect_of(session).wake_at_commit(session, queue)


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
