"""Staff authentication for the operations API (``/v1/dlq``, ``/v1/audit``).

Accepted, in order:
- ``Authorization: Bearer cpu_<id>_<secret>``: a user's personal token
  (``carepipe users token``), acting with that user's roles;
- ``Authorization: Bearer cpk_<env>_...`` (or an older ``cp_``): a partner API key
  (role ``partner``: the roles table decides what it may do — on these routes, nothing);
- the console session cookie; then every unsafe method must also send the
  session's CSRF token in ``X-CSRF-Token`` (a cookie alone never changes state).
"""

from __future__ import annotations

from fastapi import Depends, Request
from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import api_key_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.errors import AuthenticationRequired
from carepipe.ops.users import (
    SESSION_COOKIE,
    PasswordChangeRequired,
    check_csrf,
    cookie_serializer,
    looks_like_user_token,
    resolve_session,
    verify_token,
)

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


async def staff_principal(request: Request, state: AppState = Depends(get_state)) -> Principal:
    """The person (or partner) calling, or 401 ``auth_required``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value and not looks_like_user_token(value):
        # A partner key: authenticated here, refused by the roles table in the service (403).
        return await api_key_principal(request, state)
    return await run_in_threadpool(_person, request, state, scheme, value)


def _person(request: Request, state: AppState, scheme: str, value: str) -> Principal:
    """A personal token or a console session (database reads: run off the event loop)."""
    if scheme.lower() == "bearer" and value:
        with state.db.session() as s:
            return verify_token(s, value)
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            secret = cookie_serializer(state.settings).loads(raw)
        except BadSignature:
            secret = None
        if isinstance(secret, str):
            with state.db.session() as s:
                active = resolve_session(s, secret)
            if active is not None:
                if active.password_must_change:
                    raise PasswordChangeRequired("change the one-time password first")
                if request.method not in _SAFE:
                    check_csrf(active, request.headers.get("x-csrf-token"))
                return active.principal
    raise AuthenticationRequired("staff credentials required (personal token or console session)")
