"""What extraction returns: a typed, JSON-serialisable view of one scanned document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carepipe.engines.orders.models import MedicationOrder

DocumentType = Literal["lab_report", "prescription", "discharge_summary", "other"]
Flag = Literal["H", "L", "N"]


class Span(BaseModel):
    """Character offsets ``[start, end)`` into :attr:`OcrResult.text`."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int


class ExtractedField(BaseModel):
    """One value found in the text: normalised value, raw text, where, how sure."""

    model_config = ConfigDict(frozen=True)

    value: str
    raw: str
    span: Span
    confidence: float = Field(ge=0.0, le=1.0)
    low_confidence: bool
    label: str | None = Field(None, description="The label it followed, e.g. MRN or UHID")


class PatientIdentifiers(BaseModel):
    """Identifiers printed on the document; ``None`` where not found."""

    model_config = ConfigDict(frozen=True)

    mrn: ExtractedField | None = Field(
        None, description="MRN / UHID / Patient ID / OPD or IP number (see label)"
    )
    abha_number: ExtractedField | None = Field(None, description="XX-XXXX-XXXX-XXXX")
    name: ExtractedField | None = None
    family_name: str | None = Field(None, description="From the name: LAST of 'LAST, FIRST M'")
    given_names: list[str] = Field(default_factory=list)
    birth_date: ExtractedField | None = Field(None, description="ISO date YYYY-MM-DD")
    sex: ExtractedField | None = Field(None, description="male | female | other")
    age_years: ExtractedField | None = None


class LabResult(BaseModel):
    """One lab value. ``unit`` is UCUM; ``value`` and range are in that unit."""

    model_config = ConfigDict(frozen=True)

    test: str = Field(description="Normalised test key, e.g. hemoglobin")
    display: str
    loinc: str | None = Field(description="Only for tests we map reliably, in a matching unit")
    raw_name: str
    value: float
    comparator: Literal["<", ">", "<=", ">="] | None = None
    unit: str | None
    raw_value: str
    raw_unit: str | None
    ref_low: float | None
    ref_high: float | None
    flag: Flag | None = Field(description="H/L/N: as printed, else computed from the range")
    flag_source: Literal["document", "range"] | None
    span: Span
    confidence: float = Field(ge=0.0, le=1.0)
    low_confidence: bool
    notes: list[str] = Field(default_factory=list, description="Why confidence was lowered")
    held: bool = Field(
        False,
        description="Implausible or incomplete (digit loss, misread range, no unit...): "
        "kept out of the bundle",
    )
    hold_reasons: list[str] = Field(default_factory=list)
    page: int = 1


class UnparsedRow(BaseModel):
    """A row that looks like a result but could not be read: it sends the document to review."""

    model_config = ConfigDict(frozen=True)

    text: str
    span: Span
    reason: str
    test: str | None = Field(None, description="The test named on the row, if recognised")


class MedicationLine(BaseModel):
    """A medication line as printed, and the orders engine's reading of it.

    ``orders`` is filled by the pipeline's extract stage (the orders engine is loaded
    from the settings there); the rules here only find and join the lines.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    span: Span
    confidence: float = Field(ge=0.0, le=1.0)
    low_confidence: bool
    orders: list[MedicationOrder] = Field(default_factory=list)
    understood: bool | None = Field(None, description="None until the orders engine has run")


class ExtractedDocument(BaseModel):
    """Everything extracted from one OCR result."""

    model_config = ConfigDict(frozen=True)

    document_type: DocumentType
    document_type_confidence: float = Field(ge=0.0, le=1.0)
    patient: PatientIdentifiers
    lab_results: list[LabResult]
    medications: list[MedicationLine]
    unparsed_rows: list[UnparsedRow] = Field(default_factory=list)
    date_order: Literal["DMY", "MDY"] = "DMY"
    date_order_source: Literal["document", "tenant", "cues", "default"] = "default"
    low_confidence_threshold: float
    engine: str = "rules"
    model_version: str
    ocr_engine: str
    ocr_model_version: str
    ocr_mean_confidence: float

    @property
    def held_results(self) -> list[LabResult]:
        """Values kept out of the bundle until a person has checked them."""
        return [r for r in self.lab_results if r.held]

    @property
    def review_reasons(self) -> list[str]:
        """Why the document needs a person (PHI-free: counts and kinds only)."""
        reasons = []
        if held := self.held_results:
            kinds = sorted({reason for r in held for reason in r.hold_reasons})
            reasons.append(
                f"{len(held)} value(s) held as implausible or incomplete: " + "; ".join(kinds)
            )
        if self.unparsed_rows:
            reasons.append(f"{len(self.unparsed_rows)} result row(s) could not be read")
        low_labs = [r for r in self.lab_results if r.low_confidence and not r.held]
        if low_labs:
            reasons.append(f"{len(low_labs)} value(s) below the confidence threshold")
        fields = [k for k, f in self.patient.__dict__.items()
                  if isinstance(f, ExtractedField) and f.low_confidence]  # fmt: skip
        if fields:
            reasons.append("patient field(s) unsure: " + ", ".join(sorted(fields)))
        low_meds = [m for m in self.medications if m.low_confidence or m.understood is False]
        if low_meds:
            reasons.append(f"{len(low_meds)} medication line(s) unsure or not understood")
        return reasons

    @property
    def needs_review(self) -> bool:
        """True if anything was held, unreadable, or below the confidence threshold."""
        return bool(self.review_reasons)
