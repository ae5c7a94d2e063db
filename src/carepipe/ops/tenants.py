"""Tenant policies: the per-tenant settings pipelines obey, read and changed (audited).

``TenantSettings`` is the one list of settings: each has a type, a default and
says what it changes. Pipelines read them from the ``tenants`` row of the job's
tenant (``carepipe.pipelines.common.tenant_settings``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
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


class TenantSettings(BaseModel):
    """Every tenant setting, with its default."""

    model_config = ConfigDict(extra="forbid")

    review_required: bool = Field(
        False, description="Scribe notes wait for a clinician's review before the FHIR stage."
    )
    allow_unidentified_patients: bool = Field(
        False,
        description="Push bundles to the EMR even when the job named no patient (a per-job "
        "stand-in patient); otherwise such jobs end as dead letters patient_unidentified.",
    )
    abha_required: bool = Field(
        False, description="Nothing reaches the EMR for a patient whose ABHA number is unknown."
    )
    date_locale: Literal["IN", "US"] = Field(
        "IN", description="How dd/mm dates in documents are read: IN (day first), US (month first)."
    )
    ingest_rate_per_second: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Intake requests per second this tenant may send to each API process "
        "(none: no limit); beyond it, 429 rate_limited with Retry-After.",
    )
    ingest_burst: int | None = Field(
        None, ge=1, le=100_000, description="Requests above the rate allowed in a burst."
    )


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


class TenantView(BaseModel):
    id: str
    name: str
    settings: TenantSettings


def _settings(stored: dict[str, Any] | None) -> TenantSettings:
    """Stored settings with defaults filled in (settings no longer known are ignored)."""
    known = TenantSettings.model_fields
    return TenantSettings.model_validate({k: v for k, v in (stored or {}).items() if k in known})


def tenant_settings(session: Session, tenant: str) -> TenantSettings:
    """A tenant's effective settings (defaults for a tenant without a row); no permission."""
    row = session.get(Tenant, tenant)
    return _settings(row.settings if row is not None else None)


def view(row: Tenant) -> TenantView:
    return TenantView(id=row.id, name=row.name, settings=_settings(row.settings))


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
        merged = TenantSettings.model_validate({**_settings(before).model_dump(), **changes})
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
