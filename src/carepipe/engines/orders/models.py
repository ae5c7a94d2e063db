"""Typed result of an orders engine: what the clinician asked for, item by item.

Field names of ``Timing`` follow FHIR R4 ``Timing.repeat`` (``frequency``, ``period``,
``periodUnit``...) so the FHIR stage can copy it as is. Every item keeps the span of the
original text it came from, so the console can highlight it and a reviewer can check it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# FHIR Timing.repeat.periodUnit / UCUM units of time.
TimeUnit = Literal["s", "min", "h", "d", "wk", "mo", "a"]
# "hold" pauses an order without ending it (FHIR MedicationRequest.status ``on-hold``).
Action = Literal["start", "stop", "continue", "change", "hold"]
ServiceCategory = Literal["laboratory", "imaging", "referral", "procedure"]

LOINC = "http://loinc.org"


class Span(BaseModel):
    """A ``[start, end)`` character range of the original text."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Timing(BaseModel):
    """The subset of FHIR ``Timing.repeat`` that free-text orders use."""

    frequency: int | None = Field(None, ge=1)
    period: float | None = Field(None, gt=0)
    periodMax: float | None = Field(None, gt=0)
    periodUnit: TimeUnit | None = None
    when: list[str] | None = Field(
        None, description="FHIR event-timing codes, e.g. HS (bedtime), MORN, C (with meals)."
    )
    count: int | None = Field(
        None, ge=1, description="Number of doses in all (FHIR repeat.count): 1 for 'stat'."
    )


class Quantity(BaseModel):
    """A value with a UCUM time unit (durations, follow-up intervals)."""

    value: float = Field(gt=0)
    unit: TimeUnit


class DoseStep(BaseModel):
    """One step of a dose that changes over time: a loading dose, a taper, a titration.

    Steps run in order; each lasts ``duration`` (the last may be open-ended).
    """

    dose: float | None = None
    dose_unit: str | None = None
    timing: Timing | None = None
    duration: Quantity | None = None
    text: str = ""


class MedicationOrder(BaseModel):
    """One medication instruction.

    ``dose`` is the amount given each time: a tablet count times the strength when both
    are known ("25 mg half tab" is 12.5 mg), else the count of dose forms (2 puff). When
    the dose changes over time, ``steps`` lists every step and ``dose``/``timing`` are
    the first one's.
    """

    name: str = Field(
        description="Lower-case generic name, e.g. 'metformin'; a combination is written "
        "'amoxicillin / clavulanate'."
    )
    dose: float | None = None
    dose_unit: str | None = Field(
        None, description="mg, g, mcg, mL, [iU], meq, mg/kg, puff, tablet, capsule, drop..."
    )
    strength: float | None = Field(None, description="Strength of one tablet/capsule, if given.")
    strength_unit: str | None = None
    form_count: float | None = Field(
        None, description="Dose forms per administration: 0.5 for 'half tab', 2 for '2 puffs'."
    )
    route: str | None = Field(None, description="oral, intravenous, subcutaneous, ...")
    timing: Timing | None = None
    as_needed: bool = False
    as_needed_for: str | None = None
    duration: Quantity | None = None
    action: Action = "start"
    steps: list[DoseStep] = Field(default_factory=list)
    brand: str | None = Field(None, description="The brand as written ('Crocin'), if any.")
    code: str | None = Field(None, description="RxNorm RxCUI (or a formulary code) if known.")
    system: str | None = None
    text: str = Field("", description="The words of the original text this order came from.")
    span: Span | None = None
    confidence: float = Field(ge=0.0, le=1.0)


class ServiceOrder(BaseModel):
    """A lab test, imaging study, procedure or referral."""

    display: str
    code: str | None = Field(None, description="Only codes we know reliably; never guessed.")
    system: str | None = None
    category: ServiceCategory
    text: str = ""
    span: Span | None = None
    confidence: float = Field(ge=0.0, le=1.0)


class FollowUp(BaseModel):
    """Follow up (see the patient again) after ``value`` ``unit``."""

    value: float = Field(gt=0)
    unit: TimeUnit
    text: str = ""
    span: Span | None = None
    confidence: float = Field(ge=0.0, le=1.0)


class Usage(BaseModel):
    """Tokens and cost of one remote model call (None for local engines)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


class OrderSet(BaseModel):
    """Everything an engine read from one free-text order."""

    medications: list[MedicationOrder] = Field(default_factory=list)
    services: list[ServiceOrder] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    negated: list[str] = Field(
        default_factory=list,
        description="Clauses read as explicitly NOT ordering something ('no need for a CXR').",
    )
    not_understood: list[str] = Field(
        default_factory=list, description="Clauses that produced no order and no negation."
    )
    engine: str
    model_version: str
    usage: Usage | None = None

    @property
    def order_count(self) -> int:
        """Number of orders of all kinds."""
        return len(self.medications) + len(self.services) + len(self.follow_ups)

    @property
    def is_empty(self) -> bool:
        """True when nothing at all was ordered (the pipeline reports this, never ships it)."""
        return self.order_count == 0
