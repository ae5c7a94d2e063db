"""Console users (``users.manage``): list, create with a one-time password, lock, unlock."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.ops import users
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/users", include_in_schema=False)
manage = require_permission("users.manage")


def _page(request: Request, principal: Principal, **extra: object) -> Response:
    with app_state(request).db.session() as s:
        rows = users.list_users(s, principal)
    status = int(extra.pop("status", 200))  # type: ignore[call-overload]
    return render(
        request,
        "users/list.html",
        {"users": rows, "roles": users.STAFF_ROLES, **extra},
        status=status,
    )


@router.get("")
def user_list(request: Request, principal: Principal = Depends(manage)) -> Response:
    return _page(request, principal)


@router.post("", dependencies=[Depends(verify_csrf)])
async def create(request: Request, principal: Principal = Depends(manage)) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")
    roles = [str(r) for r in form.getlist("role")]
    from starlette.concurrency import run_in_threadpool

    def _do() -> Response:
        try:
            with app_state(request).db.transaction() as s:
                created = users.create_user(
                    s,
                    principal,
                    username=username,
                    roles=roles,
                    display_name=str(form.get("display_name") or ""),
                )
        except CarePipeError as exc:
            return _page(
                request, principal, flashes=[("error", exc.message)], status=exc.http_status
            )
        return _page(request, principal, created=created)

    return await run_in_threadpool(_do)


@router.post("/{username}/lock", dependencies=[Depends(verify_csrf)])
def lock(
    request: Request, username: str, reason: str = Form(""), principal: Principal = Depends(manage)
) -> Response:
    with app_state(request).db.transaction() as s:
        users.lock_user(s, principal, username, reason=reason or None)
    return RedirectResponse("/console/users", status_code=303)


@router.post("/{username}/unlock", dependencies=[Depends(verify_csrf)])
def unlock(
    request: Request, username: str, reason: str = Form(""), principal: Principal = Depends(manage)
) -> Response:
    with app_state(request).db.transaction() as s:
        users.unlock_user(s, principal, username, reason=reason or None)
    return RedirectResponse("/console/users", status_code=303)
