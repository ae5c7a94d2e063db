"""``/v1/audit``: the audit log for compliance and admin (``audit.read``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from carepipe.api.params import MAX_ID, AwareTime, Text
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.audit import verify_chain
from carepipe.core.auth import Principal, require
from carepipe.ops import audit_export

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _filter(
    actor: Text | None = None,
    action: Text | None = None,
    target_type: Text | None = None,
    target_id: Text | None = None,
    tenant: Text | None = None,
    since: AwareTime | None = None,
    until: AwareTime | None = None,
) -> audit_export.AuditFilter:
    return audit_export.AuditFilter(actor, action, target_type, target_id, tenant, since, until)


@router.get("")
def list_events(
    f: audit_export.AuditFilter = Depends(_filter),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(100, ge=1, le=audit_export.MAX_PAGE),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Newest first; ``next_before_id`` pages to older events."""
    with state.db.session() as s:
        page = audit_export.list_events(s, principal, f, before_id=before_id, limit=limit)
    return {"items": page.items, "next_before_id": page.next_before_id, "filter": f.to_dict()}


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The filtered log, as CSV or JSON.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "filter": {"type": "object"},
                            "events": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                },
            },
        }
    },
)
def export(
    format: Literal["csv", "json"] = "csv",
    reason: Text | None = None,
    f: audit_export.AuditFilter = Depends(_filter),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> StreamingResponse:
    """The filtered log as CSV or JSON (with hashes, to re-check the chain offline)."""
    with state.db.transaction() as s:
        audit_export.record_export(s, principal, f, format, reason=reason)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if format == "csv":
        body = audit_export.export_csv(state.db, principal, f)
        media = "text/csv; charset=utf-8"
    else:
        body = audit_export.export_json(state.db, principal, f)
        media = "application/json"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"'},
    )


@router.get("/verify")
def verify(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> dict[str, Any]:
    """Walk the hash chain: ``ok`` false names the first edited or missing row."""
    require(principal, "audit.read")
    with state.db.session() as s:
        r = verify_chain(s)
    return {"ok": r.ok, "checked": r.checked, "first_bad_id": r.first_bad_id, "problem": r.problem}
