"""Structured data from scanned clinical documents (the ``extract`` stage of ``ocr``).

``extract_document(ocr_result)`` classifies the document and pulls out patient
identifiers, lab values (LOINC + UCUM) and medication lines, each with a span into
the OCR text and a confidence derived from the OCR word confidences.
"""

from carepipe.engines.documents.catalog import CATALOG, LabTest, match_test
from carepipe.engines.documents.extract import (
    DEFAULT_LOW_CONFIDENCE,
    MODEL_VERSION,
    classify,
    extract_document,
)
from carepipe.engines.documents.types import (
    DocumentType,
    ExtractedDocument,
    ExtractedField,
    LabResult,
    MedicationLine,
    PatientIdentifiers,
    Span,
)

__all__ = [
    "CATALOG",
    "DEFAULT_LOW_CONFIDENCE",
    "MODEL_VERSION",
    "DocumentType",
    "ExtractedDocument",
    "ExtractedField",
    "LabResult",
    "LabTest",
    "MedicationLine",
    "PatientIdentifiers",
    "Span",
    "classify",
    "extract_document",
    "match_test",
]
