"""Console "Secrets" (``secrets.manage``, admin): the masked list and a form for a new
version. Values go in and never come back out (docs/secrets.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.core.secrets import kek_from_settings
from carepipe.ops import secrets as service
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/secrets", include_in_schema=False)
manage = require_permission(service.PERMISSION)


def _page(
    request: Request,
    principal: Principal,
    *,
    flashes: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    with app_state(request).db.session() as s:
        rows = service.list_secrets(s, principal)
    return render(request, "secrets/list.html", {"secrets": rows, "flashes": flashes}, status)


@router.get("")
def secret_list(request: Request, principal: Principal = Depends(manage)) -> Response:
    """The masked list and the form for a new version."""
    return _page(request, principal)


@router.post("", dependencies=[Depends(verify_csrf)])
def secret_put(
    request: Request,
    name: str = Form(""),
    value: str = Form(""),
    reason: str = Form(""),
    principal: Principal = Depends(manage),
) -> Response:
    """Store a new version; the page answers with the masked list (never the value)."""
    state = app_state(request)
    try:
        kek = kek_from_settings(state.settings)
        with state.db.transaction() as s:
            view = service.put_secret(s, principal, kek, name, value, reason=reason or None)
    except CarePipeError as exc:
        return _page(request, principal, flashes=[("error", exc.message)], status=exc.http_status)
    done = f"{view.name} v{view.version} stored ({view.masked})."
    return _page(request, principal, flashes=[("ok", done)])
