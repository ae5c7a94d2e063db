"""What every standby shares, whatever its database: the blob backup copied into its data
directory, the primary's keys put in place, and a real ``carepipe up`` on free HTTP and
MLLP ports with backups off. ``sqlite_standby`` and ``pg_standby`` add the restore.

Keys: the restored database needs the primary's key material (blob key, secrets KEK,
audit key, session key). Keys given as settings (``CAREPIPE_BLOB_ENCRYPTION_KEY``,
``CAREPIPE_SECRETS_KEK`` / ``_FILE``, ``CAREPIPE_AUDIT_HMAC_KEY`` ...) are passed on
as the same settings; file-kept keys (``data_dir/secrets/*``) are copied into the
standby's ``secrets`` directory (0600). A real failover takes them from the vault.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import httpx

from carepipe.core.config import Settings
from carepipe.core.errors import BackupNotConfigured, StandbyFailed
from carepipe.ops.backup.blobs import MANIFEST, backup_dir, source_dir
from carepipe.ops.dr.ports import free_port
from carepipe.ops.dr.standby import StandbyEndpoints

# Settings that name the primary's places or ports: never inherited by the standby.
PRIMARY_PLACES = (
    "CAREPIPE_DATA_DIR",
    "CAREPIPE_DATABASE_URL",
    "CAREPIPE_BLOB_URL",
    "CAREPIPE_BACKUP_URL",
    "CAREPIPE_HOST",
    "CAREPIPE_PORT",
    "CAREPIPE_MLLP_HOST",
    "CAREPIPE_MLLP_PORT",
    "CAREPIPE_AUDIT_CHECKPOINT_DIR",
    "CAREPIPE_DR_WORK_DIR",
)
# Key settings carried over from the primary's settings object (not only its environment).
KEY_SETTINGS = {
    "blob_encryption_key": "CAREPIPE_BLOB_ENCRYPTION_KEY",
    "secrets_kek": "CAREPIPE_SECRETS_KEK",
    "secrets_kek_file": "CAREPIPE_SECRETS_KEK_FILE",
    "secrets_old_kek_file": "CAREPIPE_SECRETS_OLD_KEK_FILE",
    "audit_hmac_key": "CAREPIPE_AUDIT_HMAC_KEY",
    "audit_hmac_old_keys": "CAREPIPE_AUDIT_HMAC_OLD_KEYS",
    "session_secret": "CAREPIPE_SESSION_SECRET",
}
STOP_GRACE_SECONDS = 20.0


def _setting_value(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


class CarePipeStandby(ABC):
    """The CarePipe half of a standby under ``work_dir`` (``var/`` is its data dir);
    subclasses restore the database and name it (``standby_database_url``)."""

    layout = ""

    def __init__(self, settings: Settings, work_dir: Path) -> None:
        self.settings = settings
        self.work_dir = work_dir
        self.data_dir = work_dir / "var"
        self.blob_dir = self.data_dir / "blobs"
        self.details: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = work_dir / "standby.log"

    @abstractmethod
    def standby_database_url(self) -> str:
        """The restored database's URL (the layout knows it)."""

    def _copy_blobs_and_keys(self) -> None:
        self.details["blobs_copied"] = self._copy_blobs()
        self.details["key_files_copied"] = self._copy_keys()

    def _copy_blobs(self) -> int:
        """Copy ``<backup_url>/blobs`` (the blob store's backup, not the live store)."""
        try:
            source = backup_dir(self.settings)
            source_dir(self.settings)  # an S3 blob store is not backed up by CarePipe
        except BackupNotConfigured as exc:
            self.details["blobs_note"] = exc.message
            return 0
        copied = 0
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if path.name == MANIFEST or path.name.endswith(".part"):
                continue
            target = self.blob_dir / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied += 1
        return copied

    def _copy_keys(self) -> list[str]:
        """File-kept keys of the primary into the standby's ``secrets`` (names only returned)."""
        source = self.settings.data_dir / "secrets"
        target = self.data_dir / "secrets"
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        names = []
        for path in sorted(source.glob("*")) if source.is_dir() else []:
            if path.is_file():
                shutil.copyfile(path, target / path.name)
                os.chmod(target / path.name, 0o600)
                names.append(path.name)
        return names

    def environment(self, http_port: int, mllp_port: int) -> dict[str, str]:
        """The standby's process environment: the primary's settings minus its places."""
        env = {k: v for k, v in os.environ.items() if k not in PRIMARY_PLACES}
        for name, variable in KEY_SETTINGS.items():
            value = _setting_value(getattr(self.settings, name, None))
            if value is not None:
                env[variable] = value
        env |= {
            "CAREPIPE_DATA_DIR": str(self.data_dir),
            "CAREPIPE_DATABASE_URL": self.standby_database_url(),
            "CAREPIPE_BLOB_URL": self.blob_dir.as_uri(),
            # A standby must never write into the primary's replica.
            "CAREPIPE_BACKUP_URL": "",
            "CAREPIPE_HOST": "127.0.0.1",
            "CAREPIPE_PORT": str(http_port),
            "CAREPIPE_MLLP_HOST": "127.0.0.1",
            "CAREPIPE_MLLP_PORT": str(mllp_port),
        }
        return env

    def start(self, *, timeout: float = 120.0) -> StandbyEndpoints:
        """``carepipe up`` (API, console, workers, MLLP) on the restored data directory."""
        http_port, mllp_port = free_port(), free_port()
        env = self.environment(http_port, mllp_port)
        cmd = [sys.executable, "-m", "carepipe.cli", "up", "--port", str(http_port), "--mllp"]
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.work_dir,  # no .env of the primary's checkout
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # a first start would print a one-time password
                stderr=log,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise StandbyFailed(
                    f"standby carepipe up exited with {self._proc.returncode}",
                    details={"output": self._log_tail()},
                )
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise StandbyFailed(
                    f"standby did not answer /healthz within {timeout:.0f} s",
                    details={"output": self._log_tail()},
                )
            time.sleep(0.2)
        return StandbyEndpoints(
            base_url=base,
            mllp_port=mllp_port,
            database_url=env["CAREPIPE_DATABASE_URL"],
            data_dir=self.data_dir,
            env=env,
            pid=self._proc.pid,
        )

    def _log_tail(self) -> list[str]:
        try:
            return self._log.read_text(errors="replace").splitlines()[-20:]
        except OSError:
            return []

    def stop(self) -> None:
        """SIGTERM the standby's process group, SIGKILL after a grace."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass

    def discard(self) -> None:
        """Remove the standby's files (it holds a copy of production data)."""
        self.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)
