"""The SOAP note every note engine returns (pydantic, so it serialises and validates).

Every item points at the transcript (``start``/``end`` character offsets; None only when a
remote model produced something that cannot be found in the transcript) and carries a
confidence in 0..1. ``low_confidence`` is derived from the confidence and
``LOW_CONFIDENCE_THRESHOLD`` by the model itself, so no engine can claim otherwise, and
``low_confidence_count`` counts them for the review queue.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Items below this confidence are flagged for a clinician's eye.
LOW_CONFIDENCE_THRESHOLD = 0.6
# Items at or above this (calibrated) confidence are trusted; below it, or with any flag,
# an item ``needs_review`` (docs/scribe.md: >= 97 % of trusted items were right on the
# held-out evaluation).
REVIEW_THRESHOLD = 0.9

SectionName = Literal["subjective", "objective", "assessment", "plan"]
SECTION_NAMES: tuple[SectionName, ...] = ("subjective", "objective", "assessment", "plan")


class Grounded(BaseModel):
    """Something taken from the transcript: where, and how sure we are."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The words as they appear in the transcript.")
    start: int | None = Field(None, ge=0, description="Offset of the first character.")
    end: int | None = Field(None, ge=0, description="Offset after the last character.")
    confidence: float = Field(ge=0.0, le=1.0)
    low_confidence: bool = False
    flags: list[str] = Field(
        default_factory=list,
        description="Why a reviewer should look: asr_corrected, dose_above_usual_range...",
    )
    needs_review: bool = False

    @model_validator(mode="after")
    def _derive_flag(self) -> Grounded:
        self.low_confidence = self.confidence < LOW_CONFIDENCE_THRESHOLD
        self.needs_review = self.confidence < REVIEW_THRESHOLD or bool(self.flags)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("end before start")
        return self


class Sentence(Grounded):
    """One sentence of the note, placed in a section."""

    section: SectionName
    speaker: str | None = None  # "doctor" | "patient" | None when not labelled


class Section(BaseModel):
    """A SOAP section: its sentences and how sure the engine is about the placement."""

    model_config = ConfigDict(extra="forbid")

    sentences: list[Sentence] = Field(default_factory=list)
    confidence: float = Field(0.0, ge=0.0, le=1.0)

    @property
    def text(self) -> str:
        """The section as prose."""
        return " ".join(s.text for s in self.sentences)


class Sections(BaseModel):
    """The four SOAP sections."""

    model_config = ConfigDict(extra="forbid")

    subjective: Section = Field(default_factory=Section)
    objective: Section = Field(default_factory=Section)
    assessment: Section = Field(default_factory=Section)
    plan: Section = Field(default_factory=Section)

    def get(self, name: SectionName) -> Section:
        """The section called ``name``."""
        return getattr(self, name)  # type: ignore[no-any-return]


class Quantity(BaseModel):
    """A value with a unit (durations, intervals)."""

    model_config = ConfigDict(extra="forbid")

    value: float
    unit: str  # min | h | d | wk | mo | a


class TimingRepeat(BaseModel):
    """Like FHIR ``Timing.repeat``."""

    model_config = ConfigDict(extra="forbid")

    frequency: int = Field(ge=1)
    period: float = Field(gt=0)
    period_unit: Literal["min", "h", "d", "wk", "mo", "a"]
    when: list[str] = Field(default_factory=list)


class VitalItem(Grounded):
    """A vital sign (LOINC-coded, UCUM unit as said)."""

    kind: str
    value: float | None = None  # None for blood pressure: see components
    value_text: str
    unit: str
    loinc: str
    components: dict[str, float] = Field(default_factory=dict)
    plausible: bool = True
    unit_inferred: bool = False
    subject: Literal["patient", "fetus"] = "patient"


class MedicationItem(Grounded):
    """A medication with its signature."""

    name: str
    rxnorm: str | None = None
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    form: str | None = None
    frequency_text: str | None = None
    timing: TimingRepeat | None = None
    as_needed: bool = False
    duration: Quantity | None = None
    action: str | None = None  # start | stop | continue | increase | decrease


class LabItem(Grounded):
    """A laboratory result said aloud ("HbA1c seven point eight percent")."""

    kind: str  # glucose | hba1c | tsh | hemoglobin | creatinine | potassium | sodium ...
    value: float
    unit: str | None = None  # UCUM, as said or the test's usual unit
    loinc: str
    display: str
    plausible: bool = True


class SymptomItem(Grounded):
    """A symptom the patient has (negated ones go to ``pertinent_negatives``)."""

    name: str
    snomed: str | None = None
    duration: Quantity | None = None
    severity: str | None = None


class DiagnosisItem(Grounded):
    """A condition: ``verification`` as FHIR Condition.verificationStatus."""

    name: str
    icd10: str | None = None
    snomed: str | None = None
    verification: Literal["confirmed", "provisional"] = "confirmed"
    chronic: bool = False


class AllergyItem(Grounded):
    """An allergy or intolerance."""

    substance: str
    category: Literal["medication", "food", "environment", "biologic", "other"] = "other"
    type: Literal["allergy", "intolerance"] = "allergy"
    reaction: str | None = None
    rxnorm: str | None = None


class FollowUpItem(Grounded):
    """When to come back; ``conditional`` for safety-net advice ("come back if ...")."""

    interval: Quantity | None = None
    conditional: bool = False
    condition: str | None = None


class NegativeFinding(Grounded):
    """A pertinent negative: "denies chest pain"."""

    name: str
    kind: Literal["symptom", "diagnosis", "medication"]


class UnreadMention(Grounded):
    """Words that were an order or a finding the engine could not read ("start f3xone 500
    milligrams twice daily": a strength and a schedule, no drug it knows). Always for
    review: nothing structured is made of it, and the clinician is told it was said."""

    kind: Literal["medication"] = "medication"


class Usage(BaseModel):
    """Tokens and money a remote model cost for this note."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    cost_usd: float | None = Field(None, ge=0)


class SoapNote(BaseModel):
    """A draft SOAP note from a consultation transcript."""

    model_config = ConfigDict(extra="forbid")

    sections: Sections = Field(default_factory=Sections)
    vitals: list[VitalItem] = Field(default_factory=list)
    medications: list[MedicationItem] = Field(default_factory=list)
    symptoms: list[SymptomItem] = Field(default_factory=list)
    diagnoses: list[DiagnosisItem] = Field(default_factory=list)
    allergies: list[AllergyItem] = Field(default_factory=list)
    no_known_allergies: bool = False
    follow_up: list[FollowUpItem] = Field(default_factory=list)
    pertinent_negatives: list[NegativeFinding] = Field(default_factory=list)
    labs: list[LabItem] = Field(default_factory=list)
    unread: list[UnreadMention] = Field(
        default_factory=list, description="What was said as an order and could not be read."
    )
    text: str | None = Field(
        None, description="The text the spans point into (the corrected transcript)."
    )
    corrections: list[dict[str, Any]] = Field(
        default_factory=list, description="Changes made to the recognised text, with evidence."
    )
    flags: list[str] = Field(
        default_factory=list, description="Note-level problems: asr_suspect:*, contradiction:*."
    )
    asr_quality: dict[str, Any] | None = None
    low_confidence_count: int = 0
    review_count: int = 0
    engine: str
    model_version: str
    usage: Usage | None = None

    @model_validator(mode="after")
    def _count_low_confidence(self) -> SoapNote:
        items: list[Grounded] = [
            *self.vitals,
            *self.medications,
            *self.symptoms,
            *self.diagnoses,
            *self.allergies,
            *self.follow_up,
        ]
        for name in SECTION_NAMES:
            items.extend(self.sections.get(name).sentences)
        self.low_confidence_count = sum(1 for i in items if i.low_confidence)
        facts: list[Grounded] = [
            *self.vitals,
            *self.labs,
            *self.medications,
            *self.diagnoses,
            *self.allergies,
        ]
        self.review_count = sum(1 for i in facts if i.needs_review) + len(self.unread)
        return self

    def sentences(self) -> list[Sentence]:
        """All sentences in transcript order."""
        out = [s for n in SECTION_NAMES for s in self.sections.get(n).sentences]
        return sorted(out, key=lambda s: (s.start is None, s.start or 0))
