"""Partner authentication: ``Authorization: Bearer cp_<env>_<keyid>_<secret>``."""

from __future__ import annotations

import hashlib
import threading
import time

from fastapi import Depends, Request
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool

from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.core.errors import AuthenticationRequired
from carepipe.core.models import ApiKey
from carepipe.ops.api_keys import verify_key

_last_used: dict[str, float] = {}
_last_used_lock = threading.Lock()
_LAST_USED_EVERY = 60.0  # seconds: a write per request would cost more than it tells


def _touch(state: AppState, key_id: str) -> None:
    now = time.monotonic()
    with _last_used_lock:
        if now - _last_used.get(key_id, -1e9) < _LAST_USED_EVERY:
            return
        _last_used[key_id] = now
    with state.db.transaction() as s:
        s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))


# Verified keys are remembered briefly (by the SHA-256 of what was presented), so a
# busy partner does not cost a database round trip per request. A revocation is
# seen by every API process within ``api_key_cache_seconds``.
_verified: dict[str, tuple[float, Principal]] = {}
_VERIFIED_MAX = 10_000


def _verify(state: AppState, presented: str) -> Principal:
    with state.db.session() as s:
        key = verify_key(s, presented)
        principal = Principal(
            kind="api_key", id=key.id, roles=("partner",), tenant=key.tenant, name=key.name
        )
    _touch(state, key.id)
    return principal


async def api_key_principal(request: Request, state: AppState = Depends(get_state)) -> Principal:
    """The partner calling, or 401 with a stable code."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationRequired("missing bearer API key")
    presented = value.strip()
    digest = hashlib.sha256(presented.encode()).hexdigest()
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await run_in_threadpool(_verify, state, presented)
    ttl = state.settings.api_key_cache_seconds
    if ttl > 0:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (now + ttl, principal)
    return principal


def forget_verified_keys() -> None:
    """Drop remembered keys (after a revocation in this process, and in tests)."""
    _verified.clear()
