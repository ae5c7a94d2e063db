"""Partner authentication: ``Authorization: Bearer cpk_<env>_<keyid>_<secret><checksum>``
(or an older ``cp_<env>_<keyid>_<secret>`` key)."""

from __future__ import annotations

import hashlib
import time

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.core.errors import AuthenticationRequired, InvalidApiKey
from carepipe.ops import key_usage
from carepipe.ops.api_keys import VerifiedKey, identify_key, parse_key, raise_refusal, refusal

# Verified keys are remembered briefly (by the SHA-256 of what was presented), so a
# busy partner does not cost a database round trip per request. A revocation is
# seen by every API process within ``api_key_cache_seconds``. Only usable keys are
# remembered: a staged key is looked up (and refused) on every request, so activating
# it through ``POST /api/keys/activate`` takes effect at once.
_verified: dict[str, tuple[float, Principal]] = {}
_VERIFIED_MAX = 10_000


def source_address(request: Request) -> str | None:
    """The peer address (a proxy's ``X-Forwarded-For`` is not trusted)."""
    return request.client.host if request.client else None


def bearer(request: Request) -> str:
    """The bearer credential, or 401 ``auth_required``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationRequired("missing bearer API key")
    return value.strip()


def identify(state: AppState, presented: str) -> VerifiedKey:
    """The key whose secret was presented, whatever its state (refusals counted)."""
    try:
        parse_key(presented)  # the checksum: no database for a mistyped or forged key
    except InvalidApiKey:
        key_usage.record_refusal(state.db, None, "malformed", None, None)
        raise
    with state.db.session() as s:
        try:
            return identify_key(s, presented)
        except InvalidApiKey:
            key_usage.record_refusal(state.db, None, "invalid", None, None)
            raise


def _verify(state: AppState, presented: str, source: str | None) -> Principal:
    key = identify(state, presented)
    reason = refusal(key, utcnow())
    if reason is not None:
        key_usage.record_refusal(state.db, key, reason, source, state.settings.key_webhook_url)
        raise_refusal(reason)
    return Principal(
        kind="api_key", id=key.id, roles=("partner",), tenant=key.tenant, name=key.name
    )


async def api_key_principal(request: Request, state: AppState = Depends(get_state)) -> Principal:
    """The partner calling, or 401 with a stable code."""
    presented = bearer(request)
    source = source_address(request)
    digest = hashlib.sha256(presented.encode()).hexdigest()
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is not None and hit[0] > now:
        principal = hit[1]
    else:
        principal = await run_in_threadpool(_verify, state, presented, source)
        ttl = state.settings.api_key_cache_seconds
        if ttl > 0:
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()
            _verified[digest] = (now + ttl, principal)
    if key_usage.record_use(principal.id, source, state.settings.api_key_usage_flush_seconds):
        await run_in_threadpool(key_usage.flush_usage, state.db)
    return principal


def forget_verified_keys() -> None:
    """Drop remembered keys (after a revocation in this process, and in tests)."""
    _verified.clear()
