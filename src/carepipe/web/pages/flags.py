"""Console: feature flags (``/console/flags``): list, create, edit with a preview of who
gets what, kill switch, change log with rollback, four-eyes approval, adoption and errors.

An adapter over :mod:`carepipe.flags.service` and :mod:`carepipe.flags.adoption`: the
routes guard the pages (``flags.read`` to look, ``flags.manage`` to change,
``flags.approve`` for the second pair of eyes); the services check again and own every
rule (four eyes, ``flags.break_glass``, optimistic locking).
Forms are plain POSTs with the CSRF token; the editor's "Preview" and "Save" buttons post
the same form, so a preview shows exactly what "Save" would store. Charts are SVG drawn
on the server by the model reports' chart helper (no script: the console's CSP holds).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError, PermissionDenied
from carepipe.flags import adoption, service
from carepipe.flags.adoption import Adoption
from carepipe.flags.definition import FlagDefinition
from carepipe.flags.views import PreviewRow
from carepipe.mlops import report_charts
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.pages.flag_form import (
    FlagForm,
    FormError,
    definition_from,
    form_for,
    pretty,
    split_list,
)
from carepipe.web.templating import render

router = APIRouter(prefix="/console/flags", include_in_schema=False)
read_flags = require_permission("flags.read")
# The forms are the managers' (the services check again, and own the finer rules).
manage_flags = require_permission("flags.manage")
approve_flags = require_permission("flags.approve")
PREVIEW_SAMPLE = 1000
CHART_WIDTH = 900
# A tenant id no rule can name (ids have no spaces): the preview's "everyone else" row.
OTHER_TENANT = "(any other tenant)"
WINDOWS = {"24h": (24, "hour"), "6h": (6, "hour"), "1h": (1, "minute")}
FLASHES = {
    "created": "Flag created.",
    "saved": "Change saved.",
    "pending": "Change stored; it waits for a second person's approval.",
    "killed": "Flag killed: every evaluation returns the default variant.",
    "enabled": "Flag enabled again.",
    "rolled-back": "Rolled back: a new version with the earlier definition.",
    "approved": "Change approved: it is live.",
    "rejected": "Change rejected.",
}


def _form(
    mode: str = Form("simple"),
    definition_json: str = Form(""),
    kind: str = Form("boolean"),
    variants: str = Form('{"on": true, "off": false}'),
    default_variant: str = Form("off"),
    rollout_variant: str = Form("on"),
    percent: str = Form("10"),
    tenants: str = Form(""),
    bucket_by: str = Form("targetingKey"),
    description: str = Form(""),
    enabled: str = Form("true"),
    preview_tenants: str = Form(""),
) -> FlagForm:
    """The editor's fields (a dependency, shared by create and edit)."""
    return FlagForm(
        mode=mode,
        definition_json=definition_json,
        kind=kind,
        variants=variants,
        default_variant=default_variant,
        rollout_variant=rollout_variant,
        percent=percent,
        tenants=tenants,
        bucket_by=bucket_by,
        description=description,
        enabled=enabled,
        preview_tenants=preview_tenants,
    )


def _done(key: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/console/flags/{quote(key, safe='')}?done={what}", status_code=303)


def _preview_tenants(form: FlagForm, definition: FlagDefinition) -> list[str] | None:
    """The tenants to preview: those typed in, every tenant the rules name, and one they
    do not name (what everyone else gets)."""
    named = [
        str(v)
        for rule in definition.rules
        for c in rule.conditions
        if c.attribute == "tenant" and c.op in ("in", "equals")
        for v in c.values
    ]
    chosen = list(dict.fromkeys(split_list(form.preview_tenants) + named))
    if named:
        chosen.append(OTHER_TENANT)
    return chosen or None  # None: the service picks the known tenants


# What to show when the form or a service refused it, and the page's HTTP status.
Refusal = tuple[str, int]


def _try_preview(
    request: Request, principal: Principal, key: str, form: FlagForm
) -> tuple[FlagDefinition | None, list[PreviewRow], Refusal | None]:
    """``(definition, preview rows, refusal)``: the definition the form describes and who
    would get what under it, or why not."""
    try:
        definition = definition_from(form)
    except FormError as exc:
        return None, [], (str(exc), 422)
    try:
        with app_state(request).db.session() as s:
            rows = service.preview(
                s,
                principal,
                key,
                definition,
                tenants=_preview_tenants(form, definition),
                sample=PREVIEW_SAMPLE,
            )
    except PermissionDenied:
        raise
    except CarePipeError as exc:
        return definition, [], (exc.message, exc.http_status)
    return definition, rows, None


def _editor(form: FlagForm, definition: FlagDefinition | None) -> dict[str, Any]:
    """Template fields of the editor: the posted form, with the JSON kept in step."""
    if definition is not None:
        form.definition_json = pretty(definition)
    return {"form": form}


@router.get("")
def flag_list(request: Request, principal: Principal = Depends(read_flags)) -> Response:
    """Every flag, and (for managers) the form that creates one."""
    return _list_page(request, principal, FlagForm(), {})


def _list_page(
    request: Request,
    principal: Principal,
    form: FlagForm,
    extra: dict[str, Any],
    status: int = 200,
) -> Response:
    with app_state(request).db.session() as s:
        flags = service.list_flags(s, principal)
    ctx = {
        "flags": flags,
        "form": form,
        "can_manage": principal.can("flags.manage"),
        "can_break_glass": principal.can("flags.break_glass"),
        "new_key": "",
        "requires_approval": False,
        **extra,
    }
    return render(request, "flags/list.html", ctx, status=status)


@router.post("", dependencies=[Depends(verify_csrf)])
def create(
    request: Request,
    key: str = Form(""),
    justification: str = Form(""),
    requires_approval: bool = Form(False),
    do: str = Form("save"),
    form: FlagForm = Depends(_form),
    principal: Principal = Depends(manage_flags),
) -> Response:
    """Create a flag, or (``do=preview``) show who would get what under it first."""
    key = key.strip()
    definition, rows, error = _try_preview(request, principal, key, form)
    extra = {
        **_editor(form, definition),
        "new_key": key,
        "justification": justification,
        "requires_approval": requires_approval,
        "preview": rows,
        "previewed": do == "preview",
    }
    if error is None and do == "save":
        assert definition is not None
        try:
            with app_state(request).db.transaction() as s:
                change = service.create_flag(
                    s,
                    principal,
                    key,
                    definition,
                    justification=justification,
                    requires_approval=requires_approval,
                )
            return _done(change.key, "created")
        except PermissionDenied:
            raise
        except CarePipeError as exc:
            error = (exc.message, exc.http_status)
    if error is not None:
        extra["flashes"] = [("error", error[0])]
    return _list_page(request, principal, form, extra, status=error[1] if error else 200)


def _detail(
    request: Request, principal: Principal, key: str, window: str = "24h"
) -> dict[str, Any]:
    hours, bucket = WINDOWS.get(window, WINDOWS["24h"])
    with app_state(request).db.session() as s:
        flag = service.get_flag(s, principal, key)
        log = service.change_log(s, principal, key)
        seen = adoption.adoption(s, principal, key, hours=hours, bucket=bucket)  # type: ignore[arg-type]
    pending = flag.pending_change
    # Four eyes: the service refuses the requester; the page does not offer it to them.
    second_person = pending is not None and pending.requested_by != principal.actor
    return {
        "flag": flag,
        "log": log,
        "definition_json": pretty(flag.definition),
        "adoption": seen,
        "chart": _chart(seen),
        "window": window if window in WINDOWS else "24h",
        "windows": list(WINDOWS),
        "can_manage": principal.can("flags.manage"),
        "can_approve": principal.can("flags.approve") and second_person,
        "can_break_glass": principal.can("flags.break_glass"),
        "justification": "",
        "preview": [],
    }


def _chart(seen: Adoption) -> Markup | None:
    """Evaluations per variant per bucket as a line chart (None: nothing evaluated)."""
    series = seen.evaluations
    if series.empty:
        return None
    # The time of day only: 24 labels must fit under the chart (the window is at most 24 h).
    label = "%H:%M" if series.bucket == "minute" else "%H:00"
    figure = {
        "type": "line",
        "title": f"Evaluations per {series.bucket}, by variant",
        "categories": [s.strftime(label) for s in series.starts],
        "series": [{"name": v, "values": [float(c) for c in n]} for v, n in series.counts.items()],
        "format": "num",
    }
    return Markup(report_charts.svg(figure, width=CHART_WIDTH))  # noqa: S704  (escaped inside)


@router.get("/{key}")
def flag_detail(
    request: Request, key: str, window: str = "24h", principal: Principal = Depends(read_flags)
) -> Response:
    """One flag: status, editor, pending change, change log, adoption and errors."""
    ctx = _detail(request, principal, key, window)
    ctx["form"] = form_for(ctx["flag"].definition)
    done = FLASHES.get(request.query_params.get("done", ""))
    ctx["flashes"] = [("ok", done)] if done else []
    return render(request, "flags/detail.html", ctx)


@router.post("/{key}", dependencies=[Depends(verify_csrf)])
def edit(
    request: Request,
    key: str,
    justification: str = Form(""),
    based_on: int = Form(...),
    break_glass: bool = Form(False),
    do: str = Form("save"),
    form: FlagForm = Depends(_form),
    principal: Principal = Depends(manage_flags),
) -> Response:
    """Change a flag's definition, or (``do=preview``) show who would get what first."""
    definition, rows, error = _try_preview(request, principal, key, form)
    if error is None and do == "save":
        assert definition is not None
        try:
            with app_state(request).db.transaction() as s:
                change = service.update_flag(
                    s,
                    principal,
                    key,
                    definition,
                    justification=justification,
                    based_on=based_on,
                    break_glass=break_glass,
                )
            return _done(key, "pending" if change.status == "pending" else "saved")
        except PermissionDenied:
            raise
        except CarePipeError as exc:
            error = (exc.message, exc.http_status)
    ctx = _detail(request, principal, key)
    ctx.update(_editor(form, definition))
    ctx.update({"preview": rows, "previewed": do == "preview", "justification": justification})
    ctx["preview_open"] = True
    ctx["flashes"] = [("error", error[0])] if error else []
    return render(request, "flags/detail.html", ctx, status=error[1] if error else 200)


def _act(request: Request, principal: Principal, key: str, action: Any) -> Response | None:
    """Run one change; on refusal, the flag page again with the reason (else None)."""
    try:
        with app_state(request).db.transaction() as s:
            action(s)
    except PermissionDenied:
        raise  # the console's 403 page, with its code (four eyes, break glass)
    except CarePipeError as exc:
        ctx = _detail(request, principal, key)
        ctx["form"] = form_for(ctx["flag"].definition)
        ctx["flashes"] = [("error", exc.message)]
        return render(request, "flags/detail.html", ctx, status=exc.http_status)
    return None


@router.post("/{key}/enabled", dependencies=[Depends(verify_csrf)])
def set_enabled(
    request: Request,
    key: str,
    enabled: bool = Form(...),
    justification: str = Form(""),
    break_glass: bool = Form(False),
    principal: Principal = Depends(manage_flags),
) -> Response:
    """The kill switch (``enabled=false``, always immediate) and turning a flag back on."""
    refused = _act(
        request,
        principal,
        key,
        lambda s: service.set_enabled(
            s, principal, key, enabled, justification=justification, break_glass=break_glass
        ),
    )
    return refused or _done(key, "enabled" if enabled else "killed")


@router.post("/{key}/rollback", dependencies=[Depends(verify_csrf)])
def rollback(
    request: Request,
    key: str,
    to_version: int = Form(...),
    justification: str = Form(""),
    break_glass: bool = Form(False),
    principal: Principal = Depends(manage_flags),
) -> Response:
    """A new version whose definition is ``to_version``'s, exactly."""
    outcome: dict[str, str] = {}

    def run(s: Any) -> None:
        change = service.rollback_flag(
            s, principal, key, to_version, justification=justification, break_glass=break_glass
        )
        outcome["status"] = change.status

    refused = _act(request, principal, key, run)
    return refused or _done(key, "pending" if outcome["status"] == "pending" else "rolled-back")


@router.post("/{key}/approve", dependencies=[Depends(verify_csrf)])
def approve(
    request: Request,
    key: str,
    version: int = Form(...),
    principal: Principal = Depends(approve_flags),
) -> Response:
    """A second person makes a pending change live."""
    refused = _act(
        request, principal, key, lambda s: service.approve_change(s, principal, key, version)
    )
    return refused or _done(key, "approved")


@router.post("/{key}/reject", dependencies=[Depends(verify_csrf)])
def reject(
    request: Request,
    key: str,
    version: int = Form(...),
    justification: str = Form(""),
    principal: Principal = Depends(read_flags),
) -> Response:
    """A second person turns a pending change down (the live version stays)."""
    refused = _act(
        request,
        principal,
        key,
        lambda s: service.reject_change(s, principal, key, version, justification=justification),
    )
    return refused or _done(key, "rejected")
