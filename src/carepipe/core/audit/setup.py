"""Where the audit chain's keys and checkpoint log live for this process.

Services call ``audit.record(session, ...)`` with a session only, so the keys
come from the process settings (``get_settings()``), cached per configuration.
Tests and embedders may pin another set-up with ``configure``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from carepipe.core.audit.keys import Keyring, decode_key, load_or_create_key_file
from carepipe.core.audit.keys import read_retired_file as _read_retired
from carepipe.core.config import Settings, get_settings

KEY_FILE = "audit.key"
RETIRED_FILE = "audit-old.keys"
CHECKPOINT_SUBDIR = "audit-checkpoints"


@dataclass(frozen=True)
class AuditSetup:
    """The keyring, the checkpoint directory, and whether the current key is file-kept."""

    keyring: Keyring
    checkpoint_dir: Path
    key_file: Path | None  # None when the key comes from CAREPIPE_AUDIT_HMAC_KEY
    retired_file: Path
    checkpoint_interval_seconds: float = 60.0


def setup_from_settings(settings: Settings) -> AuditSetup:
    """Read (or, on first use, generate) the audit keys named by ``settings``."""
    secrets_dir = settings.data_dir / "secrets"
    retired_file = secrets_dir / RETIRED_FILE
    if settings.audit_hmac_key is not None and settings.audit_hmac_key.get_secret_value():
        current = decode_key(
            settings.audit_hmac_key.get_secret_value(), what="CAREPIPE_AUDIT_HMAC_KEY"
        )
        key_file: Path | None = None
    else:
        key_file = secrets_dir / KEY_FILE
        current = load_or_create_key_file(key_file)
    retired = []
    if settings.audit_hmac_old_keys is not None:
        for n, part in enumerate(settings.audit_hmac_old_keys.get_secret_value().split(","), 1):
            if part.strip():
                retired.append(decode_key(part, what=f"CAREPIPE_AUDIT_HMAC_OLD_KEYS item {n}"))
    retired.extend(_read_retired(retired_file))
    return AuditSetup(
        keyring=Keyring(current, tuple(retired)),
        checkpoint_dir=settings.audit_checkpoint_dir or settings.data_dir / CHECKPOINT_SUBDIR,
        key_file=key_file,
        retired_file=retired_file,
        checkpoint_interval_seconds=settings.audit_checkpoint_interval_seconds,
    )


_lock = threading.Lock()
_pinned: AuditSetup | None = None
_cache: dict[tuple[object, ...], AuditSetup] = {}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _cache_key(s: Settings) -> tuple[object, ...]:
    def val(x: object) -> object:
        return x.get_secret_value() if hasattr(x, "get_secret_value") else x

    secrets_dir = s.data_dir / "secrets"
    return (
        s.data_dir,
        val(s.audit_hmac_key),
        val(s.audit_hmac_old_keys),
        s.audit_checkpoint_dir,
        s.audit_checkpoint_interval_seconds,
        # A key rotated by another process (``carepipe audit rotate-key``) is picked up
        # at this process's next audit write, not at its restart.
        _mtime(secrets_dir / KEY_FILE),
        _mtime(secrets_dir / RETIRED_FILE),
    )


def current_setup() -> AuditSetup:
    """The pinned set-up, else the one named by the process settings (cached)."""
    if _pinned is not None:
        return _pinned
    s = get_settings()
    key = _cache_key(s)
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = setup_from_settings(s)
        return found


def configure(setup: AuditSetup | None) -> AuditSetup | None:
    """Pin a set-up for this process (``None`` returns to the settings); returns the previous."""
    global _pinned
    with _lock:
        previous, _pinned = _pinned, setup
        _cache.clear()
    return previous


def forget_cached() -> None:
    """Re-read keys on next use (after a rotation in this process)."""
    with _lock:
        _cache.clear()
