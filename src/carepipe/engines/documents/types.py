"""What extraction returns: a typed, JSON-serialisable view of one scanned document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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

    mrn: ExtractedField | None = Field(None, description="MRN / UHID / patient id (see label)")
    abha_number: ExtractedField | None = Field(None, description="XX-XXXX-XXXX-XXXX")
    name: ExtractedField | None = None
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


class MedicationLine(BaseModel):
    """A medication line as printed (not parsed into drug/dose/frequency)."""

    model_config = ConfigDict(frozen=True)

    text: str
    span: Span
    confidence: float = Field(ge=0.0, le=1.0)
    low_confidence: bool


class ExtractedDocument(BaseModel):
    """Everything extracted from one OCR result."""

    model_config = ConfigDict(frozen=True)

    document_type: DocumentType
    document_type_confidence: float = Field(ge=0.0, le=1.0)
    patient: PatientIdentifiers
    lab_results: list[LabResult]
    medications: list[MedicationLine]
    low_confidence_threshold: float
    engine: str = "rules"
    model_version: str
    ocr_engine: str
    ocr_model_version: str
    ocr_mean_confidence: float

    @property
    def needs_review(self) -> bool:
        """True if any extracted item is below the confidence threshold."""
        fields = [f for f in self.patient.__dict__.values() if f is not None]
        return any(item.low_confidence for item in [*fields, *self.lab_results, *self.medications])
