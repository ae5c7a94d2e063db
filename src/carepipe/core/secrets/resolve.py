"""``secret://<name>`` references in settings, resolved from the store for the consumers.

Any string or ``SecretStr`` setting may hold ``secret://<name>`` instead of a value
(``CAREPIPE_LLM_API_KEY=secret://llm.openai``, ``CAREPIPE_EMR_AUTH_TOKEN=secret://emr.token``).
The worker resolves them before a stage runs (``resolve_settings``), so engines and the
FHIR client receive plain values and stay free of the database. A value is cached for
``secrets_cache_seconds`` (30 s by default): a new version reaches every worker within
that time; a value set directly in the environment keeps working as before.
"""

from __future__ import annotations

import threading
import time
from typing import Any, get_args

from pydantic import BaseModel, SecretStr

from carepipe.core.db import Database
from carepipe.core.secrets.envelope import keyring_from_settings
from carepipe.core.secrets.store import reveal

REFERENCE = "secret://"

_lock = threading.Lock()
# (database url, secret name) -> (value, monotonic expiry). Values are in memory anyway
# (the engines hold them); this only spares a database read per stage.
_cache: dict[tuple[str, str], tuple[str, float]] = {}


def reference_name(value: Any) -> str | None:
    """The secret name ``value`` refers to, or None when it is not a ``secret://`` reference."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, str) and raw.startswith(REFERENCE):
        return raw[len(REFERENCE) :]
    return None


def resolve_secret(db: Database, settings: Any, name: str) -> str:
    """The current value of secret ``name`` (cached ``secrets_cache_seconds``)."""
    ttl = float(getattr(settings, "secrets_cache_seconds", 30.0))
    key = (db.url, name)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    with db.session() as s:
        value = reveal(s, keyring_from_settings(settings), name)
    with _lock:
        _cache[key] = (value, now + ttl)
    return value


def resolve_settings(db: Database, settings: Any) -> Any:
    """``settings`` with every ``secret://`` reference replaced by the stored value (the
    same object when there are none). Raises ``SecretNotFound``/``SecretKekMismatch``."""
    if not isinstance(settings, BaseModel):  # a test's stand-in settings: nothing to resolve
        return settings
    update: dict[str, Any] = {}
    fields = type(settings).model_fields
    for field, value in settings:
        name = reference_name(value)
        if name is None:
            continue
        resolved = resolve_secret(db, settings, name)
        # By the field's type, not the value's: ``model_copy(update=...)`` does not validate,
        # so a copied-in reference may be a plain str where consumers expect a SecretStr.
        annotation = fields[field].annotation if field in fields else None
        secret = isinstance(value, SecretStr) or SecretStr in (annotation, *get_args(annotation))
        update[field] = SecretStr(resolved) if secret else resolved
    return settings.model_copy(update=update) if update else settings


def clear_cache() -> None:
    """Forget cached values (tests; after a rotation when waiting is not wanted)."""
    with _lock:
        _cache.clear()
