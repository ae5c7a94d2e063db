"""Encryption of PHI at rest (AES-256-GCM) and secret hashing helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE = 12


class Cipher:
    """AES-256-GCM with a random nonce per message; the blob key is bound as associated data."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, *, aad: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, *, aad: bytes = b"") -> bytes:
        if not blob.startswith(_VERSION):
            raise ValueError("unknown ciphertext version")
        nonce = blob[1 : 1 + _NONCE]
        return self._aead.decrypt(nonce, blob[1 + _NONCE :], aad)


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    """The configured base64 key, else one kept in ``key_file`` (created 0600 on first use)."""
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("CAREPIPE_BLOB_ENCRYPTION_KEY must decode to 32 bytes")
        return key
    if key_file.exists():
        return base64.b64decode(key_file.read_bytes().strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key))
    return key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def token(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)
