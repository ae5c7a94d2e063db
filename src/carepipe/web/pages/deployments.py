"""Console: deployments, the live canary view and rollbacks.

Adapters over :mod:`carepipe.mlops.deployments`, ``canary`` and ``rollback``: the services
check ``models.read`` / ``models.deploy`` and own every rule. The canary figures refresh by
HTMX polling (no inline script: the console's CSP forbids it); the buttons are plain forms
with the CSRF token, so they work without JavaScript.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from carepipe.core.auth import Principal
from carepipe.mlops import canary, deployments, rollback
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/deployments", include_in_schema=False)
POLL_SECONDS = 2
read_models = require_permission("models.read")
FLASHES = {
    "pause": "Canary paused: the share holds and the analysis waits.",
    "resume": "Canary resumed.",
    "abort": "Canary aborted: every job goes to the stable version.",
    "promote": "Canary promoted: it is the stable version now.",
    "rollback": "Rolled back; an incident was recorded.",
}


@router.get("")
def deployment_list(request: Request, principal: Principal = Depends(read_models)) -> Response:
    with app_state(request).db.session() as s:
        items = deployments.list_deployments(s, principal)
    return render(request, "deployments.html", {"items": items})


def _detail(request: Request, principal: Principal, deployment_id: str) -> dict[str, Any]:
    with app_state(request).db.session() as s:
        status = canary.status(s, principal, deployment_id)
        events = deployments.history(s, principal, deployment_id, limit=20)
        targets = rollback.targets(s, principal, deployment_id)
    return {
        "st": status,
        "d": status.deployment,
        "arms": {a.arm: a for a in status.arms},
        "events": events,
        "targets": targets,
        "can_deploy": principal.can("models.deploy"),
        "live": status.deployment.canary is not None,
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/{deployment_id}")
def deployment_detail(
    request: Request, deployment_id: str, principal: Principal = Depends(read_models)
) -> Response:
    ctx = _detail(request, principal, deployment_id)
    done = FLASHES.get(request.query_params.get("done", ""))
    ctx["flashes"] = [("ok", done)] if done else []
    return render(request, "deployments_detail.html", ctx)


@router.get("/{deployment_id}/live")
def live_fragment(
    request: Request, deployment_id: str, principal: Principal = Depends(read_models)
) -> Response:
    """The canary figures (HTMX polls them while a canary runs)."""
    return render(request, "deployments_live.html", _detail(request, principal, deployment_id))


@router.post("/{deployment_id}/canary/{action}", dependencies=[Depends(verify_csrf)])
def canary_action(
    request: Request,
    deployment_id: str,
    action: str,
    reason: str = Form(""),
    principal: Principal = Depends(read_models),
) -> Response:
    change = {
        "pause": canary.pause,
        "resume": canary.resume,
        "abort": canary.abort,
        "promote": canary.promote_now,
    }.get(action)
    if change is None:
        return RedirectResponse(f"/console/deployments/{deployment_id}", status_code=303)
    state = app_state(request)
    with state.db.transaction() as s:
        change(s, principal, state.settings, deployment_id, reason=reason or None)
    return RedirectResponse(f"/console/deployments/{deployment_id}?done={action}", status_code=303)


@router.post("/{deployment_id}/rollback", dependencies=[Depends(verify_csrf)])
def do_rollback(
    request: Request,
    deployment_id: str,
    to: str = Form(""),
    reason: str = Form(""),
    principal: Principal = Depends(read_models),
) -> Response:
    state = app_state(request)
    rollback.rollback(
        state.db,
        state.settings,
        principal,
        deployment_id,
        to=to or None,
        reason=reason or None,
        blobs=state.blobs,
    )
    return RedirectResponse(f"/console/deployments/{deployment_id}?done=rollback", status_code=303)
