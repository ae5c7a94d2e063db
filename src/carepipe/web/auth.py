"""Console sign-in state: the session cookie, and the FastAPI dependencies pages use.

- ``console_user(request) -> Principal``: the signed-in person, or a redirect to
  ``/console/login`` (a ``LoginRequired`` the console's error handler turns into 303).
- ``require_permission("backfill.run")``: the same, plus a 403 page with the code
  ``permission_denied`` when the roles table does not grant it.

The cookie carries a random session secret, signed (itsdangerous); the database
keeps only its SHA-256, so a database copy holds no usable session.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature

from carepipe.api.state import AppState
from carepipe.core.auth import Principal, require
from carepipe.core.errors import LoginRequired
from carepipe.ops.users import (
    SESSION_COOKIE,
    ActiveSession,
    PasswordChangeRequired,
    cookie_serializer,
    resolve_session,
    touch_session,
)

LOGIN_PATH = "/console/login"
LOGOUT_PATH = "/console/logout"
PASSWORD_PATH = "/console/password"  # noqa: S105 (a path, not a secret)


def app_state(request: Request) -> AppState:
    return request.app.state.carepipe  # type: ignore[no-any-return]


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def read_session_secret(request: Request) -> str | None:
    """The session secret from the signed cookie, or None (absent or forged)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = cookie_serializer(app_state(request).settings).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def current_session(request: Request) -> ActiveSession | None:
    """The request's live session (looked up once per request, then cached)."""
    if hasattr(request.state, "console_session"):
        return request.state.console_session  # type: ignore[no-any-return]
    active: ActiveSession | None = None
    secret = read_session_secret(request)
    if secret:
        state = app_state(request)
        with state.db.session() as s:
            active = resolve_session(s, secret)
        if active is not None and active.stale:
            with state.db.transaction() as s:
                touch_session(s, active.session_id)
    request.state.console_session = active
    return active


def console_user(request: Request) -> Principal:
    """Dependency: the signed-in user's ``Principal`` (redirects to sign-in otherwise).

    While the user still has a one-time password, every page but "change
    password" and "sign out" answers ``password_change_required``.
    """
    active = current_session(request)
    if active is None:
        raise LoginRequired("sign in first")
    if active.password_must_change and request.url.path not in (PASSWORD_PATH, LOGOUT_PATH):
        raise PasswordChangeRequired("choose a new password first")
    return active.principal


def require_permission(permission: str) -> Callable[..., Principal]:
    """Dependency factory: the signed-in user, who must hold ``permission`` (else 403 page)."""

    def _dependency(principal: Principal = Depends(console_user)) -> Principal:
        require(principal, permission)
        return principal

    _dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return _dependency


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """HttpOnly, SameSite=Lax, Secure when the request came over HTTPS; a browser session."""
    value = cookie_serializer(app_state(request).settings).dumps(secret)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
