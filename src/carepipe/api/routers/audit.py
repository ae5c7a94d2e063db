"""``/v1/audit``: the audit log for compliance and admin (``audit.read``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from carepipe.api.openapi import error_responses
from carepipe.api.params import MAX_ID, AwareTime, Text
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops import audit_export

router = APIRouter(prefix="/v1/audit", tags=["audit"])
# The JSON export is streamed, not returned as a model: its schema is stated here
# (the models it names move into the document's components).
_EXPORT_SCHEMA = audit_export.AuditExportDocument.model_json_schema(
    mode="serialization", ref_template="#/components/schemas/{model}"
)


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


@router.get(
    "",
    operation_id="listAuditEvents",
    response_model=audit_export.AuditPage,
    responses=error_responses(400),
)
def list_events(
    f: audit_export.AuditFilter = Depends(_filter),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(100, ge=1, le=audit_export.MAX_PAGE),
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> audit_export.AuditPage:
    """Newest first; ``next_before_id`` pages to older events."""
    with state.db.session() as s:
        return audit_export.list_events(s, principal, f, before_id=before_id, limit=limit)


@router.get(
    "/export",
    operation_id="exportAuditLog",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The filtered log in id order, with each row's hash and the hash "
            "before it, as CSV (a header row, then one row per event) or one JSON document.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": _EXPORT_SCHEMA},
            },
        },
        **error_responses(400),
    },
)
def export(
    format: audit_export.ExportFormat = "csv",
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


@router.get("/verify", operation_id="verifyAuditChain", response_model=audit_export.ChainCheck)
def verify(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> audit_export.ChainCheck:
    """Walk the hash chain: ``ok`` false names the first edited or missing row."""
    with state.db.session() as s:
        return audit_export.check_chain(s, principal)
