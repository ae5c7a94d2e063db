"""CSRF protection for every console POST (dependency ``verify_csrf``).

Signed in: the token is bound to the server-side session (a new session, so a
new token, at every sign-in). Not signed in (the sign-in form itself): a
double-submit token, kept in a signed HttpOnly cookie and echoed by the form.
Forms send it as the ``csrf_token`` field; HTMX requests as the ``X-CSRF-Token``
header (``base.html`` sets it on ``<body hx-headers>``). A refusal is a 403 with
the code ``csrf_failed``. A cross-site ``Origin`` header is refused as well.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool

from carepipe.core.crypto import constant_time_equal
from carepipe.ops.users import CsrfFailed, check_csrf, cookie_serializer
from carepipe.web.auth import app_state, current_session, is_https
from carepipe.web.form_text import refuse_nul_in_form

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_COOKIE = "cp_csrf"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _anonymous_token(request: Request) -> str | None:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw:
        return None
    try:
        value = cookie_serializer(app_state(request).settings).loads(raw, salt="csrf")
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def csrf_token(request: Request) -> str:
    """The token forms on this page must carry (session-bound, or the anonymous one)."""
    active = current_session(request)
    if active is not None:
        return active.csrf_token
    token = _anonymous_token(request) or getattr(request.state, "new_csrf_token", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = token  # ``render`` sets the cookie on the response
    return token


def attach_anonymous_cookie(request: Request, response: Response) -> None:
    """Set the double-submit cookie when this request minted a new anonymous token."""
    token = getattr(request.state, "new_csrf_token", None)
    if token is None:
        return
    value = cookie_serializer(app_state(request).settings).dumps(token, salt="csrf")
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfFailed("cross-site request refused")


async def presented_token(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # parsed once; Starlette caches it for the endpoint
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def verify_csrf(request: Request) -> None:
    """Dependency for every state-changing console route (refusal: 403 ``csrf_failed``).

    Being on every such route, it also refuses a form holding a NUL (422), once
    the request is known to come from the console itself.
    """
    if request.method in _SAFE:
        return
    _check_origin(request)
    presented = await presented_token(request)
    active = await run_in_threadpool(current_session, request)
    if active is not None:
        check_csrf(active, presented)
    else:
        expected = _anonymous_token(request)
        if not expected or not presented or not constant_time_equal(presented, expected):
            raise CsrfFailed("missing or wrong CSRF token; reload the page and try again")
    await refuse_nul_in_form(request)
