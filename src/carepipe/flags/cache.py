"""The in-process flag snapshot every API and worker process evaluates from.

A daemon thread reads ``flag_state.revision`` (one primary-key read) every
``poll_seconds`` and reloads the snapshot when it moved; on PostgreSQL a second thread
LISTENs on ``carepipe_flags`` so a change (above all a kill switch) is reloaded as soon
as it commits. ``max_age`` is the hard ceiling (issue 16: in-process evaluation caches at
most 30 s or until notified): a snapshot not confirmed current for that long is reloaded
by the caller of ``snapshot()`` itself, so a stuck poller cannot serve old flags.
"""

from __future__ import annotations

import threading
import time
import weakref

from carepipe.core.config import get_settings
from carepipe.core.db import Database
from carepipe.core.errors import FlagsUnavailable
from carepipe.flags.store import CHANNEL, Snapshot, load_snapshot, read_revision
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.flags.cache")
POLL_THREAD = "carepipe-flag-poll"


class FlagCache:
    """A snapshot of all live flags, refreshed by polling and (PostgreSQL) notification."""

    def __init__(self, db: Database, *, max_age: float = 30.0, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.max_age = max_age
        self.poll_seconds = poll_seconds
        self._snapshot: Snapshot | None = None
        # Monotonic time the snapshot was last known current (loaded, or its revision
        # polled unchanged): what ``max_age`` is measured from.
        self._confirmed = 0.0
        self._dirty = False
        self._failed_at = -float("inf")  # monotonic time of the last failed read
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- reading ---------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot: never older than ``max_age``, reloaded at once after
        ``invalidate()`` or a notification."""
        snap = self._snapshot
        if snap is not None and self._fresh():
            return snap
        with self._lock:
            # Another thread may have reloaded while this one waited for the lock.
            snap = self._snapshot
            if snap is not None and self._fresh():
                return snap
            # After a failed read, evaluations do not each wait for the database again:
            # they fail fast (callers get their defaults) until the next poll's turn.
            if time.monotonic() - self._failed_at < self.poll_seconds:
                raise FlagsUnavailable("flags cannot be read from the database")
            try:
                return self._load()
            except Exception as exc:
                self._failed_at = time.monotonic()
                log.warning("flag_cache_load_failed", error=type(exc).__name__)
                raise FlagsUnavailable("flags cannot be read from the database") from exc

    def invalidate(self) -> None:
        """Forget the snapshot: the next ``snapshot()`` reads the database again."""
        self._dirty = True
        self._wake.set()

    def _fresh(self) -> bool:
        return not self._dirty and time.monotonic() - self._confirmed <= self.max_age

    def _load(self) -> Snapshot:
        """Read the snapshot (the caller holds ``_lock``)."""
        started = time.monotonic()
        # Cleared before the read: a notification arriving during it marks it stale again.
        self._dirty = False
        try:
            with self.db.session() as session:
                snap = load_snapshot(session)
        except Exception:
            self._dirty = True  # still stale: the next evaluation or poll tries again
            raise
        self._snapshot, self._confirmed = snap, started
        return snap

    def _poll_once(self) -> None:
        snap = self._snapshot
        started = time.monotonic()
        with self.db.session() as session:
            revision = read_revision(session)
        if snap is None or self._dirty or revision != snap.revision:
            with self._lock:
                self._load()
        else:
            self._confirmed = max(self._confirmed, started)

    # --- background refresh ----------------------------------------------------------

    def start(self) -> FlagCache:
        """Load the snapshot and start the poller (and on PostgreSQL the listener)."""
        if self._threads:
            return self
        # A new event per start: a listener of an earlier start, still inside its last
        # second of waiting, must keep seeing its own stop.
        self._stop = stop = threading.Event()
        with self._lock:
            self._load()
        poller = threading.Thread(
            target=self._poll_loop, args=(stop,), name=POLL_THREAD, daemon=True
        )
        self._threads.append(poller)
        if self.db.is_postgres:
            listener = threading.Thread(
                target=self._listen_loop, args=(stop,), name="carepipe-flag-listen", daemon=True
            )
            self._threads.append(listener)
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop the background threads. The poller is woken and joined; the listener is
        not waited for: it sees the stop within a second (its notification wait) and
        closes its connection, and a stopping worker need not spend that second."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread.name == POLL_THREAD:
                thread.join(timeout=2.0)
        self._threads = []

    def _poll_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if stop.is_set():
                return
            try:
                self._poll_once()
            except Exception as exc:  # the database may be briefly away: poll again
                log.warning("flag_cache_poll_failed", error=type(exc).__name__)

    def _listen_loop(self, stop: threading.Event) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Changes made while we were not listening: check once now.
                    self._wake.set()
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.invalidate()
            except Exception as exc:
                log.warning("flag_cache_listen_failed", error=type(exc).__name__)
                stop.wait(1.0)


_caches: weakref.WeakKeyDictionary[Database, FlagCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def flag_cache(db: Database) -> FlagCache:
    """The one started cache of ``db`` in this process (settings ``flags_cache_seconds``
    and ``flags_poll_seconds``)."""
    with _caches_lock:
        cache = _caches.get(db)
        if cache is None:
            settings = get_settings()
            cache = FlagCache(
                db,
                max_age=settings.flags_cache_seconds,
                poll_seconds=settings.flags_poll_seconds,
            )
            _caches[db] = cache
        return cache.start()


def release_flag_cache(db: Database) -> None:
    """Stop and forget ``db``'s cache (a database being disposed; tests)."""
    with _caches_lock:
        cache = _caches.pop(db, None)
    if cache is not None:
        cache.stop()
