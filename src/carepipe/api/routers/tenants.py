"""``/v1/tenants``: tenant policies for staff (``tenants.read`` / ``tenants.manage``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE, PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.ops import tenants as service

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
TENANT = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class TenantChange(BaseModel):
    """What to change: some settings, the display name, or both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["name"], "properties": {"name": {"type": "string"}}},
                {
                    "required": ["settings"],
                    "properties": {"settings": {"type": "object", "minProperties": 1}},
                },
            ]
        },
    )

    settings: service.TenantSettingsChange | None = None  # type: ignore[valid-type]
    name: str | None = Field(None, min_length=1, max_length=128, pattern=PRINTABLE)
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification."
    )


@router.get("/{tenant}", response_model=service.TenantView, responses=error_responses(404))
def get_tenant(
    tenant: str = TENANT,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.TenantView:
    """A tenant's policies, every known setting with its effective value."""
    with state.db.session() as s:
        return service.get_tenant(s, principal, tenant)


@router.patch("/{tenant}", response_model=service.TenantView)
def patch_tenant(
    body: TenantChange,
    tenant: str = TENANT,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.TenantView:
    """Change settings (audited with the reason); creates the tenant if it is new."""
    changes = body.settings.model_dump(exclude_none=True) if body.settings else {}
    with state.db.transaction() as s:
        return service.set_tenant_settings(
            s, principal, tenant, changes, reason=body.reason, name=body.name
        )
