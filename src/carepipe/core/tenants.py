"""What each tenant's policies are: one model, with defaults, read by every layer.

``TenantSettings`` lists every per-tenant setting (its type, default and what it
changes); pipelines and services read a tenant's with ``tenant_settings``. People
change them through ``carepipe.ops.tenants`` (permission-checked, audited).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

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
    date_order: Literal["DMY", "MDY"] | None = Field(
        None,
        description="How nn/nn/yyyy dates in scanned documents are read: DMY (day first) or "
        "MDY (month first); none: the document's own cues, then CAREPIPE_OCR_DATE_ORDER.",
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
    dialect: str | None = Field(
        None,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$",
        max_length=16,
        description="The tenant's usual dialect (BCP 47, e.g. en-IN) for model quality "
        "metrics and corrections when a job's context names none.",
    )
    api_key_grace_hours: float | None = Field(
        None,
        gt=0,
        le=24 * 90,
        description="Hours a replaced API key keeps working after its successor is activated "
        "(none: CAREPIPE_API_KEY_GRACE_HOURS).",
    )
    api_key_rotation_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Days after activation an API key is due for rotation "
        "(none: CAREPIPE_API_KEY_ROTATION_DAYS).",
    )


def settings_of(stored: dict[str, Any] | None) -> TenantSettings:
    """Stored settings with defaults filled in (settings no longer known are ignored)."""
    known = TenantSettings.model_fields
    return TenantSettings.model_validate({k: v for k, v in (stored or {}).items() if k in known})


def tenant_settings(session: Session, tenant: str) -> TenantSettings:
    """A tenant's effective settings (the defaults for a tenant without a row)."""
    row = session.get(Tenant, tenant)
    return settings_of(row.settings if row is not None else None)
