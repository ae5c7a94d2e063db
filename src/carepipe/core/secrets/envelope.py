"""Envelope encryption of secret values: a fresh data key per version, wrapped by the KEK.

* The value is encrypted with its own random 256-bit data key (DEK) with AES-256-GCM
  (``carepipe.core.crypto.Cipher``); the secret's name and version are the associated
  data, so a ciphertext copied onto another row does not decrypt.
* The DEK is encrypted ("wrapped") with the key-encryption key (KEK), again AES-256-GCM
  with the name and version bound. Only wrapped DEKs are stored.
* The KEK never enters the database: ``CAREPIPE_SECRETS_KEK`` (base64, 32 bytes), else the
  file ``CAREPIPE_SECRETS_KEK_FILE``, else ``<data_dir>/secrets/kek.key`` (created 0600 on
  first use, as the blob key is). Its fingerprint (``Kek.id``) is stored with each
  wrapped DEK, so a rewrap knows what is left to do and a wrong KEK is named, not guessed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag

from carepipe.core.crypto import Cipher, load_or_create_key
from carepipe.core.errors import InvalidRequest, SecretKekMismatch

DEFAULT_KEK_FILE = "secrets/kek.key"


@dataclass(frozen=True)
class Kek:
    """A key-encryption key and its fingerprint (the first 12 hex digits of a SHA-256)."""

    key: bytes = field(repr=False)
    id: str

    @classmethod
    def from_bytes(cls, key: bytes) -> Kek:
        """The KEK for 32 raw bytes."""
        if len(key) != 32:
            raise InvalidRequest("a secrets KEK must be 32 bytes (base64 in its file or variable)")
        digest = hashlib.sha256(b"carepipe-secrets-kek\x00" + key).hexdigest()
        return cls(key=key, id=digest[:12])

    @classmethod
    def from_base64(cls, text: str | bytes, *, source: str) -> Kek:
        """The KEK written as base64 in ``source`` (named in the error, never quoted)."""
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest(f"{source} is not base64") from exc
        if len(raw) != 32:
            raise InvalidRequest(f"{source} must decode to 32 bytes")
        return cls.from_bytes(raw)


def kek_from_file(path: Path) -> Kek:
    """The KEK in ``path`` (which must exist: rewrap targets are made by the operator)."""
    if not path.is_file():
        raise InvalidRequest(f"KEK file {path} does not exist")
    return Kek.from_base64(path.read_bytes().strip(), source=f"KEK file {path}")


def kek_from_settings(settings: Any) -> Kek:
    """The configured KEK: the environment's, else its file's, else the default file."""
    configured = getattr(settings, "secrets_kek", None)
    if configured is not None and configured.get_secret_value():
        return Kek.from_base64(configured.get_secret_value(), source="CAREPIPE_SECRETS_KEK")
    path = getattr(settings, "secrets_kek_file", None)
    if path:
        return kek_from_file(Path(path))
    default = Path(settings.data_dir) / DEFAULT_KEK_FILE
    return Kek.from_bytes(load_or_create_key(None, default))


@dataclass(frozen=True)
class Keyring:
    """The current KEK (new versions are wrapped under it) and previous ones, read only
    while a rotation is rolled out (``CAREPIPE_SECRETS_OLD_KEK_FILE``)."""

    current: Kek
    previous: tuple[Kek, ...] = ()

    def for_id(self, kek_id: str) -> Kek:
        """The KEK with fingerprint ``kek_id``; else the current one (which then fails
        with ``SecretKekMismatch`` naming both fingerprints)."""
        return next((k for k in (self.current, *self.previous) if k.id == kek_id), self.current)


def keyring_from_settings(settings: Any) -> Keyring:
    """The configured KEK, plus the old one when a rotation is being rolled out."""
    old = getattr(settings, "secrets_old_kek_file", None)
    return Keyring(kek_from_settings(settings), (kek_from_file(Path(old)),) if old else ())


def write_kek_file(path: Path) -> Kek:
    """Create ``path`` (0600, must not exist) holding a new random KEK; for rotations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key))
    return Kek.from_bytes(key)


def _aad(purpose: bytes, name: str, version: int) -> bytes:
    return purpose + b"\x00" + name.encode() + b"\x00" + str(version).encode()


@dataclass(frozen=True)
class Sealed:
    """What is stored for one version: the value's ciphertext and its wrapped DEK."""

    ciphertext: bytes
    wrapped_dek: bytes
    kek_id: str


def seal(kek: Kek, name: str, version: int, value: str) -> Sealed:
    """Encrypt ``value`` under a fresh DEK and wrap that DEK under ``kek``."""
    dek = os.urandom(32)
    ciphertext = Cipher(dek).encrypt(value.encode(), aad=_aad(b"value", name, version))
    wrapped = Cipher(kek.key).encrypt(dek, aad=_aad(b"dek", name, version))
    return Sealed(ciphertext=ciphertext, wrapped_dek=wrapped, kek_id=kek.id)


def _unwrap(kek: Kek, name: str, version: int, wrapped_dek: bytes, kek_id: str) -> bytes:
    if kek_id != kek.id:
        raise SecretKekMismatch(
            f"secret {name!r} v{version} is wrapped under KEK {kek_id}, not {kek.id}",
            details={"name": name, "version": version, "stored": kek_id, "configured": kek.id},
        )
    try:
        return Cipher(kek.key).decrypt(wrapped_dek, aad=_aad(b"dek", name, version))
    except (InvalidTag, ValueError) as exc:
        raise SecretKekMismatch(
            f"secret {name!r} v{version}: the data key does not unwrap (tampered row?)",
            details={"name": name, "version": version},
        ) from exc


def unseal(kek: Kek, name: str, version: int, sealed: Sealed) -> str:
    """The value of a stored version (``SecretKekMismatch`` if ``kek`` is not its KEK)."""
    dek = _unwrap(kek, name, version, sealed.wrapped_dek, sealed.kek_id)
    try:
        plain = Cipher(dek).decrypt(sealed.ciphertext, aad=_aad(b"value", name, version))
    except (InvalidTag, ValueError) as exc:
        raise SecretKekMismatch(
            f"secret {name!r} v{version}: the value does not decrypt (tampered row?)",
            details={"name": name, "version": version},
        ) from exc
    return plain.decode()


def rewrap(old: Kek, new: Kek, name: str, version: int, wrapped_dek: bytes, kek_id: str) -> bytes:
    """The DEK of one version wrapped under ``new`` instead of ``old`` (ciphertext unchanged)."""
    dek = _unwrap(old, name, version, wrapped_dek, kek_id)
    return Cipher(new.key).encrypt(dek, aad=_aad(b"dek", name, version))
