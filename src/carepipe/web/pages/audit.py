"""The audit log: filter, page, export (CSV/JSON), verify the hash chain."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from carepipe.core.auth import Principal
from carepipe.ops import audit_export
from carepipe.web import timefmt
from carepipe.web.auth import app_state, require_permission
from carepipe.web.templating import render

router = APIRouter(prefix="/console/audit", include_in_schema=False)
read_audit = require_permission("audit.read")
FIELDS = ("actor", "action", "target_type", "target_id", "tenant", "since", "until")


def _filter(request: Request) -> tuple[audit_export.AuditFilter, dict[str, str]]:
    q = request.query_params
    values = {k: q[k] for k in FIELDS if q.get(k)}
    since = timefmt.parse_utc(values.get("since"), "from")
    until = timefmt.parse_utc(values.get("until"), "until")
    # Shown back as UTC in the inputs' one format, whatever form was typed.
    for key, ts in (("since", since), ("until", until)):
        if ts is not None:
            values[key] = timefmt.input_value(ts)
    f = audit_export.AuditFilter(
        actor=values.get("actor"),
        action=values.get("action"),
        target_type=values.get("target_type"),
        target_id=values.get("target_id"),
        tenant=values.get("tenant"),
        since=since,
        until=until,
    )
    return f, values


@router.get("")
def audit_log(
    request: Request, before_id: int | None = None, principal: Principal = Depends(read_audit)
) -> Response:
    f, values = _filter(request)
    with app_state(request).db.session() as s:
        page = audit_export.list_events(s, principal, f, before_id=before_id, limit=100)
    qs = urlencode(values)
    return render(
        request,
        "audit/list.html",
        {
            "items": page.items,
            "filter": values,
            "qs": qs,
            "next_href": "?" + urlencode({**values, "before_id": page.next_before_id})
            if page.next_before_id
            else None,
            "first_href": "?" + qs if before_id else None,
        },
    )


@router.get("/verify")
def verify(request: Request, principal: Principal = Depends(read_audit)) -> Response:
    with app_state(request).db.session() as s:
        report = audit_export.check_chain(s, principal)
    return render(request, "audit/verify.html", {"report": report})


@router.get("/export.{fmt}")
def export(request: Request, fmt: str, principal: Principal = Depends(read_audit)) -> Response:
    """Download the filtered log (the download is itself audited; ``record_export``
    refuses a format other than csv or json)."""
    f, _values = _filter(request)
    state = app_state(request)
    with state.db.transaction() as s:
        audit_export.record_export(s, principal, f, fmt)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    body = (audit_export.export_csv if fmt == "csv" else audit_export.export_json)(
        state.db, principal, f
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
