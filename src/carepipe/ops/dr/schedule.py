"""When a drill is due, and starting one: by the scheduler (``dr.schedule``) or by a
person (the console's "Run drill now", ``dr.manage``).

A drill fences the platform it runs on, so it never runs inside ``carepipe up``: it is
started as its own process, ``carepipe dr drill --trigger schedule|console``, detached,
its output in ``<dr work dir>/launch-<time>.log``.

Due (``drill_due``): backups are configured, ``dr_drill_interval_days`` > 0, no drill is
running, and the newest drill that ran to the end (passed or failed) finished more than
the interval ago. A fresh install (no such drill yet) is NOT due: the first drill fences
writes, so a person picks its time ("Run drill now" or ``carepipe dr drill``); until then
CarePipeDrDrillOverdue opens a ticket. Retries: at most one attempt per day, counted
from the newest drill row of any status and from the launch marker (a launch that died
before writing a row counts too).
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import BackupNotConfigured, DrillRunning
from carepipe.core.executables import find_executable
from carepipe.observability.logging import get_logger
from carepipe.ops.backup.metrics import backups_configured
from carepipe.ops.dr.models import DrDrill

log = get_logger("carepipe.dr.schedule")
MANAGE = "dr.manage"
RETRY_AFTER = timedelta(days=1)
MARKER = "last-launch"


@dataclass(frozen=True)
class DrillHistory:
    """What the due decision needs from the database."""

    last_completed_at: datetime | None  # newest passed/failed drill's finish
    last_attempt_at: datetime | None  # newest drill row's start, any status
    running: bool


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str


def work_dir(settings: Settings) -> Path:
    """Where drills build their standby and the launcher keeps its marker and logs."""
    return settings.dr_work_dir or settings.data_dir / "dr"


def drill_due(
    history: DrillHistory,
    *,
    now: datetime,
    interval_days: int,
    configured: bool,
    last_launch_at: datetime | None = None,
) -> Decision:
    """The scheduler's decision (pure: the clock and the facts are given)."""
    if interval_days <= 0:
        return Decision(False, "scheduled drills are off (dr_drill_interval_days = 0)")
    if not configured:
        return Decision(False, "backups are not configured")
    if history.running:
        return Decision(False, "a drill is running")
    if history.last_completed_at is None:
        return Decision(False, "no drill yet: run the first one by hand")
    if now - history.last_completed_at < timedelta(days=interval_days):
        return Decision(False, "the last drill is recent enough")
    attempts = [t for t in (history.last_attempt_at, last_launch_at) if t is not None]
    if attempts and now - max(attempts) < RETRY_AFTER:
        return Decision(False, "attempted less than a day ago")
    return Decision(True, "the last drill is older than the interval")


def drill_history(db: Database) -> DrillHistory:
    """The facts ``drill_due`` needs, read from ``dr_drills``."""
    with db.session() as s:
        completed = s.scalar(
            select(func.max(DrDrill.finished_at)).where(DrDrill.status.in_(("passed", "failed")))
        )
        attempt = s.scalar(select(func.max(DrDrill.started_at)))
        running = s.scalar(select(DrDrill.id).where(DrDrill.status == "running").limit(1))
    return DrillHistory(completed, attempt, running is not None)


def _read_marker(root: Path) -> datetime | None:
    try:
        return datetime.fromisoformat((root / MARKER).read_text().strip())
    except (OSError, ValueError):
        return None


def carepipe_executable() -> str:
    """The ``carepipe`` of this interpreter's environment (else the one on PATH)."""
    found = find_executable("carepipe")
    if found is None:
        raise FileNotFoundError("no carepipe executable beside the interpreter or on PATH")
    return found


def launch_drill(
    settings: Settings, *, trigger: str, requested_by: str | None = None
) -> subprocess.Popen[bytes]:
    """Start ``carepipe dr drill --trigger <trigger>`` detached (its own session, so a fence
    or a restart of this process does not touch it); its output goes to a log file in the
    work dir. A thread reaps it so no zombie is left behind. ``requested_by`` (the console
    user) is passed on, so the drill row names the person and not only the CLI identity."""
    root = work_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    (root / MARKER).write_text(now.isoformat())
    log_path = root / f"launch-{now.strftime('%Y%m%dT%H%M%SZ')}-{trigger}.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [
                carepipe_executable(),
                "dr",
                "drill",
                "--trigger",
                trigger,
                *(["--requested-by", requested_by] if requested_by else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=os.environ.copy(),
        )
    threading.Thread(target=proc.wait, name="carepipe-dr-reaper", daemon=True).start()
    log.info("dr.drill_launched", trigger=trigger, pid=proc.pid, log=str(log_path))
    return proc


def scheduled_drill(db: Database, settings: Settings) -> Decision:
    """The ``dr.schedule`` job: start a drill when one is due; returns the decision."""
    now = utcnow()
    decision = drill_due(
        drill_history(db),
        now=now,
        interval_days=settings.dr_drill_interval_days,
        configured=backups_configured(settings),
        last_launch_at=_read_marker(work_dir(settings)),
    )
    if decision.due:
        launch_drill(settings, trigger="schedule")
    return decision


def request_drill(db: Database, settings: Settings, principal: Principal) -> int:
    """``dr.manage``: start a drill now (the console's button); audited
    ``dr.drill.request``. Refused when backups are not configured or a drill runs;
    returns the launched process id (the drill row appears once it has started)."""
    require(principal, MANAGE)
    if not backups_configured(settings):
        raise BackupNotConfigured("backups are not configured: a drill restores the latest one")
    history = drill_history(db)
    if history.running:
        raise DrillRunning("a drill is running")
    with db.transaction() as s:
        audit.record(
            s,
            actor=principal.actor,
            actor_role=principal.role,
            action="dr.drill.request",
            target_type="dr_drill",
            after={"trigger": "console", "requested_at": utcnow().astimezone(UTC).isoformat()},
        )
    return launch_drill(settings, trigger="console", requested_by=principal.actor).pid
