"""Tenant policies for people: read a tenant's settings, change them (checked, audited).

The settings themselves (``TenantSettings``: types, defaults, meaning) are in
``carepipe.core.tenants``, where every layer reads them.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    ConfigDict,
    StrictBool,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic.fields import FieldInfo
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import NotFound, ValidationFailed
from carepipe.core.json_schema import omit_null
from carepipe.core.models import Tenant
from carepipe.core.tenants import TenantSettings, settings_of
from carepipe.ops.views import View


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("leave the setting out instead of sending null")
    return value


# The same settings, each optional: the body of a change over the API. Booleans are
# strict there (``0`` or ``"no"`` is refused, as the document says), numbers are not
# (JSON's ``1.0`` is an integer).
TenantSettingsChange = create_model(  # type: ignore[call-overload]
    "TenantSettingsChange",
    __config__=ConfigDict(extra="forbid"),
    __validators__={"not_null": field_validator("*", mode="before")(_not_null)},
    **{
        name: (
            (StrictBool if info.annotation is bool else info.annotation) | None,
            FieldInfo.merge_field_infos(info, default=None, json_schema_extra=omit_null),
        )
        for name, info in TenantSettings.model_fields.items()
    },
)


class TenantView(View):
    id: str
    name: str
    settings: TenantSettings


def view(row: Tenant) -> TenantView:
    return TenantView(id=row.id, name=row.name, settings=settings_of(row.settings))


def get_tenant(session: Session, principal: Principal, tenant: str) -> TenantView:
    """A tenant's settings (staff with ``tenants.read``)."""
    require(principal, "tenants.read")
    row = session.get(Tenant, tenant)
    if row is None or not principal.sees_tenant(tenant):
        raise NotFound("no such tenant")
    return view(row)


def set_tenant_settings(
    session: Session,
    principal: Principal,
    tenant: str,
    changes: dict[str, Any],
    *,
    reason: str | None = None,
    name: str | None = None,
) -> TenantView:
    """Change settings (creating the tenant row if needed); one audit event per call."""
    require(principal, "tenants.manage")
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes and name is None:
        raise ValidationFailed("nothing to change: give settings or a name")
    row = session.get(Tenant, tenant)
    before = dict(row.settings or {}) if row is not None else None
    try:
        merged = TenantSettings.model_validate({**settings_of(before).model_dump(), **changes})
    except ValidationError as exc:
        raise ValidationFailed(
            "tenant settings are not valid",
            details=[
                {"loc": ["settings", *(str(p) for p in e["loc"])], "msg": e["msg"]}
                for e in exc.errors()
            ],
        ) from None
    if row is None:
        row = Tenant(id=tenant, name=name or tenant, settings={}, created_at=utcnow())
        session.add(row)
    elif name is not None:
        row.name = name
    row.settings = merged.model_dump()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=tenant,
        action="tenant.settings",
        target_type="tenant",
        target_id=tenant,
        before=before,
        after=dict(row.settings),
        reason=reason,
    )
    session.flush()
    return view(row)
