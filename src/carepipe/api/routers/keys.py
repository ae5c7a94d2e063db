"""``/api/keys``: what a partner does with its own keys (issue 16).

``POST /api/keys/activate`` is authenticated by the staged key itself, looked up on
every call (never through the verified-key cache, which holds only usable keys).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import bearer, identify, source_address
from carepipe.api.openapi import error_responses
from carepipe.api.state import AppState, get_state
from carepipe.core.clock import utcnow
from carepipe.ops import key_usage
from carepipe.ops.api_keys import raise_refusal, refusal
from carepipe.ops.key_rotation import Activation, activate_own_key

router = APIRouter(prefix="/api/keys", tags=["keys"])


def _activate(state: AppState, presented: str, source: str | None) -> Activation:
    key = identify(state, presented)
    reason = refusal(key, utcnow())
    if reason in ("revoked", "expired"):
        key_usage.record_refusal(state.db, key, reason, source, state.settings.key_webhook_url)
        raise_refusal(reason)
    with state.db.transaction() as s:
        return activate_own_key(s, key, settings=state.settings)


@router.post(
    "/activate",
    operation_id="activateApiKey",
    response_model=Activation,
    responses=error_responses(400, 401),
)
async def activate(request: Request, state: AppState = Depends(get_state)) -> Activation:
    """Confirm cut-over: the staged key sent as the bearer credential becomes active, and
    the key it replaces stays valid for the tenant's grace period (default 24 h), then is
    revoked. Calling it again with the now active key changes nothing."""
    return await run_in_threadpool(_activate, state, bearer(request), source_address(request))
