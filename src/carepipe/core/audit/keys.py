"""The audit chain's HMAC keys: kept outside the database, rotatable, never logged.

The current key signs new rows and checkpoints; retired keys are kept only to
verify what they signed. A key is named by its id, ``HMAC(key, label)[:16]``
in hex: stable, public, and useless for recovering the key.

Where the keys come from (``Settings``):

- ``CAREPIPE_AUDIT_HMAC_KEY`` (base64 of 32 bytes), else ``<data dir>/secrets/audit.key``
  (created 0600 on first use, like the blob and session keys);
- ``CAREPIPE_AUDIT_HMAC_OLD_KEYS`` (comma-separated base64) and the lines of
  ``<data dir>/secrets/audit-old.keys``: retired keys, verification only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

KEY_BYTES = 32
_ID_LABEL = b"carepipe audit key id"


@dataclass(frozen=True)
class AuditKey:
    """One HMAC key; ``repr`` never shows the secret."""

    secret: bytes = field(repr=False)

    @property
    def id(self) -> str:
        return hmac.new(self.secret, _ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` in hex."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    """The current key and the retired ones still trusted for verification."""

    current: AuditKey
    retired: tuple[AuditKey, ...] = ()

    @property
    def keys(self) -> tuple[AuditKey, ...]:
        """Every trusted key, the current one first."""
        seen: dict[str, AuditKey] = {self.current.id: self.current}
        for k in self.retired:
            seen.setdefault(k.id, k)
        return tuple(seen.values())

    def by_id(self, key_id: str) -> AuditKey | None:
        for k in self.keys:
            if k.id == key_id:
                return k
        return None

    @property
    def ids(self) -> list[str]:
        return [k.id for k in self.keys]


def decode_key(text: str, *, what: str = "audit HMAC key") -> AuditKey:
    """A base64 32-byte key, or ``ValueError`` naming ``what`` (never the value)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{what} must decode to {KEY_BYTES} bytes")
    return AuditKey(raw)


def new_key() -> AuditKey:
    return AuditKey(secrets.token_bytes(KEY_BYTES))


def encode_key(key: AuditKey) -> str:
    return base64.b64encode(key.secret).decode()


def _write_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` (0600) atomically; False if it already exists.

    Written to a temporary file first and hard-linked into place, so a second
    process starting at the same moment never reads a half-written key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_or_create_key_file(path: Path) -> AuditKey:
    """The key kept in ``path``, generating it on first use."""
    if not path.exists():
        _write_exclusive(path, encode_key(new_key()).encode() + b"\n")
    return decode_key(path.read_text(encoding="ascii"), what=str(path))


def read_retired_file(path: Path) -> list[AuditKey]:
    """Retired keys, one base64 key a line (blank lines and ``#`` comments ignored)."""
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(decode_key(line, what=f"{path} line {n}"))
    return out


def retire_file_key(key_file: Path, retired_file: Path) -> tuple[AuditKey, AuditKey]:
    """Rotate a key kept in a file: append the current key to ``retired_file`` (0600),
    then replace ``key_file`` with a new key. Returns (old, new).

    The old key is written to the retired list *before* the new key replaces it, so
    a crash in between leaves a key that is both current and retired, never a lost one.
    """
    old = load_or_create_key_file(key_file)
    retired_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(retired_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as f:
        f.write(encode_key(old).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    new = new_key()
    fd, tmp = tempfile.mkstemp(dir=key_file.parent, prefix=".tmp-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(encode_key(new).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, key_file)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return old, new
