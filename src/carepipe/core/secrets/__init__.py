"""The encrypted secrets store for outbound credentials (issue 16, docs/secrets.md).

``envelope``: AES-256-GCM envelope encryption (a data key per version, wrapped by the
key-encryption key); ``models``: the ``secret_versions`` table; ``store``: put, list,
reveal, delete, rewrap; ``resolve``: ``secret://<name>`` references in settings.
Every value the store decrypts is registered with ``carepipe.observability.redaction``
first, so it never appears in a log line.
"""

from __future__ import annotations

from carepipe.core.secrets.envelope import (
    Kek,
    Keyring,
    kek_from_file,
    kek_from_settings,
    keyring_from_settings,
    write_kek_file,
)
from carepipe.core.secrets.resolve import (
    REFERENCE,
    clear_cache,
    reference_name,
    resolve_secret,
    resolve_settings,
)
from carepipe.core.secrets.store import RewrapReport, mask

__all__ = [
    "REFERENCE",
    "Kek",
    "Keyring",
    "RewrapReport",
    "clear_cache",
    "kek_from_file",
    "kek_from_settings",
    "keyring_from_settings",
    "mask",
    "reference_name",
    "resolve_secret",
    "resolve_settings",
    "write_kek_file",
]
