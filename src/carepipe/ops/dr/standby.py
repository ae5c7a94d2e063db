"""The standby a drill builds: the latest backup restored somewhere new, CarePipe started on it.

One implementation per layout: ``sqlite_standby`` (Litestream restore into a new data
directory) and ``pg_standby`` (pgBackRest restore into a new PostgreSQL data directory,
started on another port). Both run a real ``carepipe up`` on other HTTP and MLLP ports,
with backups off (a standby must never write into the primary's replica).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from carepipe.ops.backup.status import RestoreResult


@dataclass(frozen=True)
class StandbyEndpoints:
    """Where a started standby answers, and how to run ``carepipe`` against it."""

    base_url: str
    mllp_port: int
    database_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0


class Standby(Protocol):
    """A standby for one drill; ``stop`` and ``discard`` are safe to call at any point."""

    layout: str
    work_dir: Path

    def restore(self) -> RestoreResult:
        """Restore the newest backup into the standby's own place (never the primary's)."""
        ...

    def start(self, *, timeout: float = 120.0) -> StandbyEndpoints:
        """Start the standby (its database if it has its own server, then ``carepipe up``)
        and return once ``/healthz`` answers; ``standby_failed`` otherwise."""
        ...

    def stop(self) -> None:
        """Stop what ``start`` started (SIGTERM, then SIGKILL after a grace)."""
        ...

    def discard(self) -> None:
        """Remove the standby's files (after ``stop``)."""
        ...
