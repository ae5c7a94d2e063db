"""The SQLite standby: the Litestream replica restored into a new data directory; the
blobs, keys and ``carepipe up`` are ``standby_process``'s."""

from __future__ import annotations

from pathlib import Path

from carepipe.core.config import Settings
from carepipe.ops.backup.sqlite_backend import LitestreamBackend
from carepipe.ops.backup.status import RestoreResult
from carepipe.ops.dr.standby_process import CarePipeStandby


class SqliteStandby(CarePipeStandby):
    """A standby of the embedded layout under ``work_dir``: ``var/carepipe.db`` restored
    from the Litestream replica, beside the blobs and keys."""

    layout = "sqlite"

    def __init__(self, settings: Settings, work_dir: Path) -> None:
        super().__init__(settings, work_dir)
        self.db_path = self.data_dir / "carepipe.db"

    def standby_database_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def restore(self) -> RestoreResult:
        """The newest replicated state to ``var/carepipe.db``, the blob backup to
        ``var/blobs``, the file-kept keys to ``var/secrets``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        result = LitestreamBackend(self.settings).restore(self.db_path, None)
        self._copy_blobs_and_keys()
        return result
