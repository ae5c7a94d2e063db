"""Structured data from scanned clinical documents (the ``extract`` stage of ``ocr``).

``extract_document(ocr_result)`` rebuilds the page's rows and columns from the word
boxes, classifies the document and pulls out patient identity, lab values (LOINC +
UCUM, checked for plausibility; implausible ones held) and medication lines, each
with a span into the OCR text and a confidence derived from the OCR word
confidences. Rows that look like results but cannot be read are listed, never dropped.
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
    UnparsedRow,
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
    "UnparsedRow",
    "classify",
    "extract_document",
    "match_test",
]
