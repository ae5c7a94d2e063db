"""Partner authentication: ``Authorization: Bearer cp_<env>_<keyid>_<secret>``."""

from __future__ import annotations

import threading
import time

from fastapi import Depends, Request
from sqlalchemy import update

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


def api_key_principal(request: Request, state: AppState = Depends(get_state)) -> Principal:
    """The partner calling, or 401 with a stable code."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationRequired("missing bearer API key")
    with state.db.session() as s:
        key = verify_key(s, value.strip())
        principal = Principal(
            kind="api_key", id=key.id, roles=("partner",), tenant=key.tenant, name=key.name
        )
    _touch(state, key.id)
    return principal
