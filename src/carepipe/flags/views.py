"""Typed views of feature flags: what the API (``response_model``), the console and the
CLI (``--json``) render. Same contract as the other areas' views: frozen, no unknown
fields, every field always present.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from carepipe.flags.definition import FlagDefinition, FlagKind, Segment


class View(BaseModel):
    """A flags answer: read-only, no unknown fields, every field always present."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


class FlagSummary(View):
    """One flag in the list: its live version and whether a change waits for approval."""

    key: str
    kind: FlagKind
    version: int = Field(description="The live version; name it as based_on to change it.")
    enabled: bool = Field(description="False: killed, every evaluation gets the default.")
    description: str
    requires_approval: bool = Field(description="Changes need a second person (four eyes).")
    pending: bool = Field(description="A change waits for approval.")
    updated_at: datetime
    updated_by: str


class FlagChange(View):
    """What a change did: the version it made, live at once or pending approval."""

    key: str
    version: int
    status: Literal["live", "pending", "rejected"]
    action: str


class FlagVersionView(View):
    """One version of a flag in its change log, with the diff against the one before."""

    key: str
    version: int
    action: str = Field(description="create, update, kill, enable, rollback")
    status: str = Field(description="live, pending, rejected or superseded")
    requested_by: str
    requested_at: datetime
    justification: str
    approved_by: str | None
    approved_at: datetime | None
    break_glass: bool
    based_on: int | None = Field(description="The live version this change was made against.")
    definition: FlagDefinition
    diff: list[str] = Field(description="Unified diff of the JSON against the version before.")


class FlagDetail(FlagSummary):
    """A flag with its live definition and the change waiting for approval, if any."""

    definition: FlagDefinition
    pending_change: FlagVersionView | None


class PreviewRow(View):
    """Who gets what under a (proposed) definition, for one tenant or one given context."""

    label: str = Field(description="The tenant, or the context's targetingKey/attributes.")
    context: dict[str, Any] = Field(description="Attributes every sampled context shares.")
    sample: int = Field(description="Synthetic targeting keys evaluated.")
    shares: dict[str, float] = Field(description="Variant -> share of the sample (0..1).")
    role_rules: list[str] = Field(
        description="Rules that target roles (their share depends on who is asking)."
    )


class SegmentView(View):
    """A named segment rules refer to."""

    key: str
    segment: Segment
    description: str
    updated_at: datetime
    updated_by: str
    used_by: list[str] = Field(description="Flags whose live definition names this segment.")
