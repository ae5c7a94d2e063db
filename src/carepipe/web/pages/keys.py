"""Console "API keys" (``keys.manage``: admin, ops): partner keys masked, their state and
use; request a new key under a ticket (its secret shown once, or a one-time link for the
partner), activate, extend grace, revoke now. Every action is a CSRF-checked POST to a
service that audits it. The one-time link's pages (``/console/keys/handover/...``) need
no sign-in: the link's token is the credential."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from carepipe.api.auth import forget_verified_keys, source_address
from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError
from carepipe.ops import api_keys, key_handover, key_rotation
from carepipe.ops.api_keys import IssuedKey
from carepipe.ops.key_handover import HandoverLink
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/keys", include_in_schema=False)
manage = require_permission("keys.manage")


def _page(
    request: Request,
    principal: Principal,
    *,
    tenant: str | None = None,
    issued: IssuedKey | None = None,
    link: str | None = None,
    error: CarePipeError | None = None,
) -> Response:
    with app_state(request).db.session() as s:
        keys = api_keys.list_keys(s, principal, tenant=tenant or None)
    return render(
        request,
        "keys/list.html",
        {
            "keys": keys,
            "tenant": tenant or "",
            "issued": issued,
            "link": link,
            "flashes": [("error", error.message)] if error else [],
        },
        status=error.http_status if error else 200,
    )


@router.get("")
def key_list(
    request: Request, tenant: str = "", principal: Principal = Depends(manage)
) -> Response:
    """Keys of every tenant (or one), newest use and counts included; never a secret."""
    return _page(request, principal, tenant=tenant)


@router.post("", dependencies=[Depends(verify_csrf)])
def request_new(
    request: Request,
    tenant: str = Form(...),
    name: str = Form(...),
    ticket: str = Form(""),
    handover: str = Form("show"),
    principal: Principal = Depends(manage),
) -> Response:
    """Request a staged key; the answer shows its secret once (the page is ``no-store``),
    or, with ``handover=link``, a one-time link for the partner instead of the secret."""
    link: HandoverLink | None = None
    try:
        with app_state(request).db.transaction() as s:
            issued = key_rotation.request_key(
                s,
                principal,
                tenant=tenant,
                name=name,
                env=app_state(request).settings.env,
                ticket=ticket,
            )
            if handover == "link":
                link = key_handover.create_link(s, principal, issued)
    except CarePipeError as exc:
        return _page(request, principal, tenant=tenant, error=exc)
    if link is not None:
        base = app_state(request).settings.public_url or str(request.base_url)
        return _page(request, principal, tenant=tenant, link=base.rstrip("/") + link.path)
    return _page(request, principal, tenant=tenant, issued=issued)


def _back(tenant: str) -> RedirectResponse:
    return RedirectResponse(f"/console/keys?tenant={quote(tenant, safe='')}", status_code=303)


@router.post("/{key_id}/activate", dependencies=[Depends(verify_csrf)])
def activate(
    request: Request,
    key_id: str,
    reason: str = Form(""),
    principal: Principal = Depends(manage),
) -> Response:
    """Staff-side activation (the partner could not call ``/api/keys/activate``)."""
    with app_state(request).db.transaction() as s:
        done = key_rotation.activate_key(
            s, principal, key_id, reason=reason or None, settings=app_state(request).settings
        )
    return _back(done.tenant)


@router.post("/{key_id}/extend-grace", dependencies=[Depends(verify_csrf)])
def extend_grace(
    request: Request,
    key_id: str,
    hours: float = Form(24),
    reason: str = Form(""),
    principal: Principal = Depends(manage),
) -> Response:
    """More time for a key in grace (a reason is required)."""
    with app_state(request).db.transaction() as s:
        key = key_rotation.extend_grace(s, principal, key_id, hours=hours, reason=reason)
    return _back(key.tenant)


@router.post("/{key_id}/revoke", dependencies=[Depends(verify_csrf)])
async def revoke(
    request: Request,
    key_id: str,
    reason: str = Form(""),
    principal: Principal = Depends(manage),
) -> Response:
    """Revoke at once; this process forgets the key now, others within the cache time."""

    def _do() -> str:
        with app_state(request).db.transaction() as s:
            return api_keys.revoke_key(s, principal, key_id, reason=reason or None).tenant

    tenant = await run_in_threadpool(_do)
    forget_verified_keys()
    return _back(tenant)


@router.get("/handover/{token}")
def handover_page(request: Request, token: str) -> Response:
    """The partner's one-time link: a "Reveal" button (link previews do not use it up)."""
    with app_state(request).db.session() as s:
        key_id = key_handover.check_link(s, token)
    return render(request, "keys/handover.html", {"key_id": key_id, "token": token})


@router.post("/handover/{token}", dependencies=[Depends(verify_csrf)])
def handover_reveal(request: Request, token: str) -> Response:
    """Show the key once; the link is used up in the same transaction (audited)."""
    with app_state(request).db.transaction() as s:
        plaintext = key_handover.open_link(s, token, source=source_address(request))
    return render(request, "keys/handover.html", {"plaintext": plaintext, "token": token})
