"""Which standby a drill builds for the configured database (one per layout).

Apart from ``standby.py`` (the protocol both implement), so the implementations can
import the protocol's types without a circle.
"""

from __future__ import annotations

from pathlib import Path

from carepipe.core.config import Settings
from carepipe.core.errors import BackupNotConfigured
from carepipe.ops.dr.standby import Standby


def standby_for(settings: Settings, work_dir: Path) -> Standby:
    """The standby for the configured database's layout, built under ``work_dir``."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        from carepipe.ops.dr.sqlite_standby import SqliteStandby

        return SqliteStandby(settings, work_dir)
    if url.startswith("postgresql"):
        from carepipe.ops.dr.pg_standby import PostgresStandby

        return PostgresStandby(settings, work_dir)
    raise BackupNotConfigured("no standby for this database")
