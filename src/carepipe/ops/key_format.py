"""The text form of partner API keys, checked without any database.

New keys: ``cpk_<env>_<key id>_<secret><checksum>``, where the secret is 40 base62
characters and the checksum is the CRC32 of everything before it, written as 6
base62 characters (as GitHub's tokens do). A secret scanner can then recognise a
leaked key offline, and a mistyped or truncated key is refused before any look-up.

Keys issued before issue 16 (``cp_<env>_<key id>_<secret>``) carry no checksum and
are still accepted.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

from carepipe.core.errors import InvalidApiKey

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX = "cpk"
SECRET_CHARS = 40  # 40 x log2(62) = 238 bits
CHECKSUM_CHARS = 6  # 62**6 > 2**32: every CRC32 value fits
KEY_ID_CHARS = 12
_KEY_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

# The documented pattern (docs/api-keys.md) for secret scanners.
KEY_PATTERN = r"cpk_[a-z0-9]{1,16}_[a-z0-9]{12}_[0-9A-Za-z]{46}"
_KEY_RE = re.compile(r"^(cpk_([a-z0-9]{1,16})_([a-z0-9]{12})_([0-9A-Za-z]{40}))([0-9A-Za-z]{6})$")
_LEGACY_RE = re.compile(r"^cp_([a-z0-9]{1,16})_([a-z0-9]{12})_([A-Za-z0-9_\-]{32,128})$")


@dataclass(frozen=True)
class ParsedKey:
    """The parts of a presented key; ``secret`` is what the database keeps the SHA-256 of."""

    env: str
    key_id: str
    secret: str


def _base62(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(BASE62[digit])
    return "".join(reversed(out))


def checksum(body: str) -> str:
    """The 6-character base62 CRC32 of ``body`` (the key without its checksum)."""
    return _base62(zlib.crc32(body.encode()), CHECKSUM_CHARS)


def new_key_id() -> str:
    """A random public key id (12 lower-case letters or digits)."""
    return "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(KEY_ID_CHARS))


def new_secret() -> str:
    """A random 40-character base62 secret."""
    return "".join(secrets.choice(BASE62) for _ in range(SECRET_CHARS))


def format_key(env: str, key_id: str, secret: str) -> str:
    """The key a partner is given: body plus checksum."""
    body = f"{PREFIX}_{env}_{key_id}_{secret}"
    return body + checksum(body)


def parse_key(plaintext: str) -> ParsedKey:
    """The parts of a well-formed key, or ``InvalidApiKey``.

    A ``cpk_`` key whose checksum does not match is refused here, before anything
    touches the database: one changed character always changes the CRC32.
    """
    text = plaintext.strip()
    m = _KEY_RE.match(text)
    if m:
        if checksum(m.group(1)) != m.group(5):
            raise InvalidApiKey("malformed API key (checksum)")
        return ParsedKey(m.group(2), m.group(3), m.group(4))
    legacy = _LEGACY_RE.match(text)
    if legacy:
        return ParsedKey(legacy.group(1), legacy.group(2), legacy.group(3))
    raise InvalidApiKey("malformed API key")


def mask(env: str, key_id: str, last4: str | None) -> str:
    """How a key is shown: prefix, environment, key id and at most its last 4 characters
    (none for keys issued before issue 16, which were ``cp_`` keys and kept no last 4)."""
    if last4 is None:
        return f"cp_{env}_{key_id}_…"
    return f"{PREFIX}_{env}_{key_id}_…{last4}"
