"""Each process's view of the fence: one row read every ``maintenance_poll_seconds``.

The API middleware asks on every request and the worker before every claim, so
``FenceWatch.current`` is a plain attribute, kept fresh by a daemon thread; no request
waits for the database to learn whether it may write. A fence reaches every process
within one poll (1 s by default); ``carepipe maintenance fence --wait`` waits that long.

A read that fails keeps the last known state (logged once per outage): a database
that is briefly away must neither lift a fence nor invent one. The thread holds only a
weak reference to its ``Database`` and ends when the database is disposed or gone, so apps
and workers built by tests do not leave pollers behind.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path

from prometheus_client import Gauge

from carepipe.core.config import get_settings
from carepipe.core.db import Database
from carepipe.core.maintenance.state import FenceState, current_fence
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import REGISTRY

log = get_logger("carepipe.maintenance")

MAINTENANCE_FENCED = Gauge(
    "carepipe_maintenance_fenced",
    "1 while this process sees the platform fenced (writes paused for a failover or a "
    "disaster-recovery drill), else 0.",
    registry=REGISTRY,
)

Listener = Callable[[FenceState | None], None]
# The poller's thread name (tests that count a request's SQL statements leave it out).
THREAD_NAME = "carepipe-fence-watch"


class FenceWatch:
    """The fence as this process last read it (``current``), re-read on a thread."""

    def __init__(self, db: Database, *, poll_seconds: float) -> None:
        self.url = db.url
        self.poll_seconds = poll_seconds
        self.current: FenceState | None = None
        self._db = weakref.ref(db)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # the listeners
        self._start_lock = threading.Lock()
        # One read-and-apply at a time (the poll thread, a service in this process): an
        # older read must not be applied after a newer one.
        self._refresh_lock = threading.Lock()
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def fenced(self) -> bool:
        """Whether writes are paused (no I/O)."""
        return self.current is not None

    def database(self) -> Database | None:
        """The database watched (None once it has been garbage-collected)."""
        return self._db()

    def refresh(self) -> FenceState | None:
        """Read the fence now (listeners hear of a change); returns what is known."""
        with self._refresh_lock:
            return self._refresh()

    def _refresh(self) -> FenceState | None:
        db = self._db()
        if db is None:
            return self.current
        try:
            _check_present(db)
            with db.session() as session:
                state = current_fence(session)
        except Exception as exc:
            if not self._failing:
                self._failing = True
                log.warning("maintenance.fence_read_failed", error=type(exc).__name__)
            return self.current
        if self._failing:
            self._failing = False
            log.info("maintenance.fence_read_recovered")
        self._apply(state)
        return state

    def _apply(self, state: FenceState | None) -> None:
        previous, self.current = self.current, state
        MAINTENANCE_FENCED.set(1 if state is not None else 0)
        if state == previous:
            return
        if state is not None:
            log.info("maintenance.fenced", since=state.fenced_at.isoformat(), drill=state.drill_id)
        else:
            log.info("maintenance.lifted")
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception as exc:  # one listener's failure must not silence the others
                log.error("maintenance.listener_failed", error=type(exc).__name__)

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(state)`` on the watch thread whenever the fence is set or lifted
        (not for the state already known: read ``current``). Returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def start(self) -> FenceWatch:
        """Read the fence once (so ``current`` is right from the start), then poll."""
        with self._start_lock:
            if self.running:
                return self
            self._stop = stop = threading.Event()
            self.refresh()
            self._thread = threading.Thread(
                target=self._run, args=(stop,), name=THREAD_NAME, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (``current`` keeps the last state read)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.poll_seconds + 5)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.poll_seconds):
            if self._db() is None:
                return
            self.refresh()


def _check_present(db: Database) -> None:
    """A SQLite file that is gone is not re-created empty by the poll (a restore may be
    about to put a database there)."""
    name = db.engine.url.database
    if db.is_sqlite and name and name != ":memory:" and not Path(name).exists():
        raise FileNotFoundError("the SQLite database file is gone")


# One watch per Database object: a process opens one per URL (``carepipe up`` hands the
# same one to the API, workers and listener); keyed weakly, so a database that is gone
# takes its watch with it.
_watches: weakref.WeakKeyDictionary[Database, FenceWatch] = weakref.WeakKeyDictionary()
_watches_lock = threading.Lock()


def fence_watch(db: Database) -> FenceWatch:
    """The started watch of ``db`` in this process (poll: ``maintenance_poll_seconds``)."""
    with _watches_lock:
        watch = _watches.get(db)
        if watch is None:
            watch = FenceWatch(db, poll_seconds=get_settings().maintenance_poll_seconds)
            _watches[db] = watch
            # The watch holds the database weakly; the database stops it when disposed, so
            # no poll touches a database (or re-creates a SQLite file) after its dispose.
            db.on_dispose(partial(_release, weakref.ref(db)))
    if not watch.running:
        watch.start()
    return watch


def release_fence_watch(db: Database) -> None:
    """Stop and forget ``db``'s watch (a process shutting down; tests)."""
    with _watches_lock:
        watch = _watches.pop(db, None)
    if watch is not None:
        watch.stop()


def _release(ref: weakref.ref[Database]) -> None:
    db = ref()
    if db is not None:
        release_fence_watch(db)


def refresh_local(db: Database) -> None:
    """Re-read the fence now in this process's watch of ``db`` (if it has one), so a
    fence set or lifted here takes effect here at once rather than at the next poll."""
    with _watches_lock:
        watch = _watches.get(db)
    if watch is not None:
        watch.refresh()
