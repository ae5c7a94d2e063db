"""What the queue does differently on PostgreSQL and on embedded SQLite, in one place.

Callers ask ``dialect_of(session)`` for the behaviour by name (wake the workers,
relax a claim's durability) instead of branching on the database's name, so a
third database would be one more class here, not a hunt through the services.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from carepipe.core.db import SESSION_DATABASE

CHANNEL = "carepipe_tasks"

# ``Session.info`` keys: the queues already notified in the current (sub)transaction
# (PostgreSQL), and "wake this process's workers at commit" (embedded).
_NOTIFIED = "carepipe_notified"
_WAKE_AT_COMMIT = "carepipe_wake_at_commit"

_NOTIFY = text("SELECT pg_notify(:c, :q)")
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


class QueueDialect(Protocol):
    name: str

    def wake_at_commit(self, session: Session, queue: str) -> None:
        """Make the workers of ``queue`` wake when the caller's transaction commits."""

    def relax_durability(self, session: Session) -> None:
        """Let this transaction commit without waiting for its log flush (claims only)."""


class _Postgres:
    """``NOTIFY`` inside the transaction (delivered at commit, to every process)."""

    name = "postgresql"

    def wake_at_commit(self, session: Session, queue: str) -> None:
        # Sent once per queue per (sub)transaction: PostgreSQL folds identical
        # notifications of one transaction into one anyway, so a bulk enqueue of
        # many tasks would otherwise pay a round trip per task for nothing. The
        # memo is keyed on the innermost transaction, so a rolled-back savepoint
        # (whose NOTIFY is discarded with it) never suppresses a later one.
        txn = session.get_nested_transaction() or session.get_transaction()
        memo = session.info.get(_NOTIFIED)
        if memo is None or memo[0] is not txn:
            memo = (txn, set())
            session.info[_NOTIFIED] = memo
        if queue in memo[1]:
            return
        session.execute(_NOTIFY, {"c": CHANNEL, "q": queue})
        memo[1].add(queue)

    def relax_durability(self, session: Session) -> None:
        session.execute(_ASYNC_COMMIT)


class _Embedded:
    """SQLite: workers live in this process; a condition variable wakes them after commit."""

    name = "sqlite"

    def wake_at_commit(self, session: Session, queue: str) -> None:
        session.info[_WAKE_AT_COMMIT] = True

    def relax_durability(self, session: Session) -> None:
        # One writer at a time and ``synchronous=NORMAL`` already: nothing to relax.
        return None


POSTGRES: QueueDialect = _Postgres()
EMBEDDED: QueueDialect = _Embedded()


def dialect_of(session: Session) -> QueueDialect:
    """The queue behaviour for the database ``session`` is bound to."""
    return POSTGRES if session.get_bind().dialect.name == "postgresql" else EMBEDDED


@event.listens_for(Session, "after_commit")
def _wake_embedded_workers(session: Session) -> None:
    # ``after_commit`` also fires when a savepoint is released; only the outermost
    # commit makes the tasks visible, so the signal waits for that one.
    if session.get_nested_transaction() is not None:
        return
    if session.info.pop(_WAKE_AT_COMMIT, False):
        db = session.info.get(SESSION_DATABASE)
        if db is not None:
            db.signal()


@event.listens_for(Session, "after_rollback")
def _forget_wakeup(session: Session) -> None:
    # Nothing became ready: a session used again after a rollback starts clean. A
    # savepoint's rollback keeps the flag: what the outer transaction queued still counts
    # (and a spare wake-up costs one empty claim, a missing one a poll interval).
    if session.get_nested_transaction() is None:
        session.info.pop(_WAKE_AT_COMMIT, None)
