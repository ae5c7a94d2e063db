"""Sign in, sign out, change password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from carepipe.core.errors import CarePipeError
from carepipe.ops import users
from carepipe.web.auth import (
    PASSWORD_PATH,
    app_state,
    clear_session_cookie,
    console_user,
    current_session,
    read_session_secret,
    set_session_cookie,
)
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local console paths: an open redirect after sign-in would be a phishing aid."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str = "/console/") -> Response:
    if current_session(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/console/"),
) -> Response:
    state = app_state(request)
    try:
        new = users.login(
            state.db,
            username=username,
            password=password,
            client=_client(request),
            previous=read_session_secret(request),
        )
    except CarePipeError as exc:
        request.state.console_session = None
        return render(
            request,
            "login.html",
            {
                "error": exc.message,
                "error_code": exc.code,
                "username": username,
                "next": _safe_next(next),
            },
            status=exc.http_status,
        )
    target = PASSWORD_PATH if new.password_must_change else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, new.secret)
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    secret = read_session_secret(request)
    if secret:
        with app_state(request).db.transaction() as s:
            users.end_session(s, secret)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/password")
def password_page(request: Request, _user: object = Depends(console_user)) -> Response:
    return render(request, "password.html", {"min_length": users.MIN_PASSWORD_LENGTH})


@router.post("/password", dependencies=[Depends(verify_csrf)])
def password_submit(
    request: Request,
    current: str = Form(""),
    new: str = Form(""),
    confirm: str = Form(""),
    _user: object = Depends(console_user),
) -> Response:
    active = current_session(request)
    assert active is not None
    ctx: dict[str, object] = {"min_length": users.MIN_PASSWORD_LENGTH}
    if new != confirm:
        ctx.update(error="the two new passwords differ", error_code="validation_failed")
        return render(request, "password.html", ctx, status=422)
    try:
        with app_state(request).db.transaction() as s:
            users.change_password(
                s, active.user_id, current=current, new=new, keep_session=active.session_id
            )
    except CarePipeError as exc:
        ctx.update(error=exc.message, error_code=exc.code)
        return render(request, "password.html", ctx, status=exc.http_status)
    return RedirectResponse("/console/", status_code=303)
