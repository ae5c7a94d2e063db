"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint says "at time T the log held ``count`` rows through id ``last_id``,
ending in hash ``head``", and is HMAC-signed with the audit key. Checkpoints are
appended, one JSON object a line, to ``<checkpoint dir>/checkpoints.jsonl``
(opened ``O_APPEND``, under an exclusive ``flock``, fsynced) and each also goes
to the structured log as ``audit.checkpoint``, so a log shipper keeps a second
copy off the host. Each names the previous one's signature (``prev``) and
carries a sequence number, so a line removed from the middle of the file shows.

``chain`` is the hash of the log's first row and ``db`` a fingerprint of the
database location (no credentials): a checkpoint applies to a database when
either matches, so one checkpoint directory never confuses two databases, and
a log emptied completely is still recognised by its ``db``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from carepipe.core.audit.keys import AuditKey, Keyring

FILE_NAME = "checkpoints.jsonl"
VERSION = 1
# An unchanged log is checkpointed again after this long, so the newest checkpoint's
# age tells whether the writer runs (and whether the newest lines were removed).
HEARTBEAT_SECONDS = 3600.0
_DOMAIN = b"carepipe audit checkpoint\x00"  # never a valid row's canonical JSON ("{...")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    at: str  # ISO 8601 UTC
    chain: str  # hash of the log's first row
    db: str  # database fingerprint
    last_id: int
    head: str
    count: int
    key_id: str  # the key that signed this checkpoint
    prev: str | None  # the previous checkpoint's mac
    mac: str = ""
    v: int = VERSION

    def body(self) -> bytes:
        d = asdict(self)
        d.pop("mac")
        return _DOMAIN + json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

    def signed(self, key: AuditKey) -> Checkpoint:
        unsigned = Checkpoint(**{**asdict(self), "key_id": key.id, "mac": ""})
        return Checkpoint(**{**asdict(unsigned), "mac": key.mac(unsigned.body())})

    def signature_ok(self, keyring: Keyring) -> bool | None:
        """True/False; None when ``key_id`` is not in the keyring."""
        import hmac

        key = keyring.by_id(self.key_id)
        if key is None:
            return None
        return hmac.compare_digest(key.mac(self.body()), self.mac)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def database_fingerprint(url: str | URL) -> str:
    """A stable name for where a database lives (backend, host, port, name, schema path);
    credentials are left out so rotating a password changes nothing."""
    u = make_url(url) if isinstance(url, str) else url
    database = u.database or ""
    if u.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        database = str(Path(database).resolve())
    options = u.query.get("options", "")
    if isinstance(options, tuple):
        options = ",".join(options)
    ident = "|".join([u.get_backend_name(), u.host or "", str(u.port or ""), database, options])
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StoredLine:
    number: int  # 1-based line number in the file
    checkpoint: Checkpoint | None
    error: str | None = None


class CheckpointStore:
    """An append-only JSON-lines file of checkpoints in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME

    def read(self) -> list[StoredLine]:
        """Every line, parsed; unreadable lines are returned with an ``error``."""
        if not self.path.exists():
            return []
        out = []
        with self.path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                out.append(_parse(n, raw))
        return out

    def append(self, make: Callable[[list[Checkpoint]], Checkpoint | None]) -> Checkpoint | None:
        """Append ``make(existing)`` (``existing``: every readable line, in order) under an
        exclusive lock, so concurrent writers never reuse a sequence number.
        ``make`` may return None to write nothing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                f.seek(0)
                existing = []
                for n, raw in enumerate(f, 1):
                    if raw.strip():
                        line = _parse(n, raw)
                        if line.checkpoint is not None:
                            existing.append(line.checkpoint)
                cp = make(existing)
                if cp is None:
                    return None
                data = json.dumps(cp.to_dict(), sort_keys=True, separators=(",", ":"))
                f.seek(0, os.SEEK_END)
                f.write(data.encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
                return cp
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _parse(number: int, raw: bytes) -> StoredLine:
    try:
        d = json.loads(raw)
        if not isinstance(d, dict) or d.get("v") != VERSION:
            raise ValueError("unknown checkpoint version")
        cp = Checkpoint(
            seq=int(d["seq"]),
            at=str(d["at"]),
            chain=str(d["chain"]),
            db=str(d["db"]),
            last_id=int(d["last_id"]),
            head=str(d["head"]),
            count=int(d["count"]),
            key_id=str(d["key_id"]),
            prev=None if d["prev"] is None else str(d["prev"]),
            mac=str(d["mac"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        return StoredLine(number, None, f"unreadable ({type(exc).__name__})")
    return StoredLine(number, cp)
