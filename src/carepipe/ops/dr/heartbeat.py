"""The drill's RPO probe: a row written on the primary every second until the fence.

Each beat is its own transaction, so the newest beat the standby holds says how much
of the primary's last committed work reached the backup: fence time minus that beat
is the measured RPO (never better than one beat interval).
"""

from __future__ import annotations

import threading
from datetime import datetime

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.observability.logging import get_logger
from carepipe.ops.dr import store

log = get_logger("carepipe.dr")


class Heartbeat:
    """A thread that writes ``dr_heartbeats`` rows for one drill on ``db``."""

    def __init__(self, db: Database, drill_id: str, *, interval: float = 1.0) -> None:
        self.db = db
        self.drill_id = drill_id
        self.interval = interval
        self.beats = 0
        self.failures = 0
        self.last_at: datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carepipe-dr-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        """Write the first beat now, then one every ``interval`` seconds."""
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop beating (the beat in flight, if any, commits first); returns the count."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        return self.beats

    def _run(self) -> None:
        while not self._stop.is_set():
            at = utcnow()
            try:
                with self.db.transaction() as session:
                    store.write_heartbeat(session, self.drill_id, at)
                self.beats += 1
                self.last_at = at
            except Exception as exc:  # a missed beat widens the measured RPO; say so, go on
                self.failures += 1
                log.warning("dr.heartbeat_failed", drill_id=self.drill_id, error=type(exc).__name__)
            self._stop.wait(self.interval)
