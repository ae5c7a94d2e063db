"""Rules that turn OCR output into structured fields: document type, patient, labs, meds.

The rows and columns of the page are rebuilt from the word boxes (:mod:`rows`);
lab values come from table rows (:mod:`labs`), identity from labelled fields
(:mod:`identity`), medication lines from the medication lists (:mod:`medications`).
Every field keeps its span in the OCR text and a confidence built from the OCR
confidences of the words it came from, lowered when we had to repair the text
(letters read as digits, a garbled unit). Implausible values are held; fields
below the threshold are marked ``low_confidence``; either sends the document to
review (:attr:`ExtractedDocument.needs_review`).
"""

from __future__ import annotations

import bisect
import math
import re

from carepipe.engines.documents.identity import decide_date_order, extract_patient
from carepipe.engines.documents.labs import extract_labs
from carepipe.engines.documents.medications import extract_medications
from carepipe.engines.documents.rows import CELL_SEPARATOR, build_rows
from carepipe.engines.documents.types import DocumentType, ExtractedDocument
from carepipe.engines.ocr.types import OcrResult

MODEL_VERSION = "documents-rules-3"
DEFAULT_LOW_CONFIDENCE = 0.70


# --- word confidences by character offset -------------------------------------------------


class _ConfidenceIndex:
    """Maps character spans of ``ocr.text`` to the confidences of the words there."""

    def __init__(self, ocr: OcrResult) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.confs: list[float] = []
        self.default = ocr.mean_confidence
        cursor = 0
        for word in ocr.words:
            at = ocr.text.find(word.text, cursor)
            if at < 0:
                continue
            self.starts.append(at)
            self.ends.append(at + len(word.text))
            self.confs.append(word.confidence)
            cursor = at + len(word.text)

    def span(self, start: int, end: int) -> float:
        """Lowest confidence of the words overlapping ``[start, end)``."""
        i = bisect.bisect_right(self.ends, start)
        found = []
        while i < len(self.starts) and self.starts[i] < end:
            found.append(self.confs[i])
            i += 1
        return min(found) if found else self.default


# --- document type ------------------------------------------------------------------------

_TYPE_CUES: dict[str, list[tuple[str, float]]] = {
    "lab_report": [
        (r"\blab(?:oratory)?\s+report\b", 3), (r"\blaboratory\b", 1.5), (r"\bpath(?:ology)?\b", 1),
        (r"\breference\s+(?:range|interval)\b", 2), (r"\bbiological\s+ref", 2),
        (r"\bspecimen\b|\bsample\b", 1), (r"\bcomplete\s+blood\s+count\b|\bcbc\b", 1.5),
        (r"\blipid\s+profile\b", 2), (r"\bbiochemistry\b|\bhaematology\b|\bhematology\b", 1.5),
        (r"\bresult\b", 0.5), (r"\bunits?\b", 0.5),
    ],
    "prescription": [
        (r"^\s*rx\b|\brx\s*$|℞", 3), (r"\bprescription\b", 3),
        (r"\b(?:tab|tablet|cap|capsule|syp|syrup|inj)\b\.?", 1.5),
        (r"\b\d-\d-\d\b", 1), (r"\b(?:od|bd|bid|tds|tid|qid|hs|sos)\b", 0.5),
        (r"\bafter\s+food\b|\bbefore\s+food\b", 1), (r"\bx\s*\d+\s*days\b", 1),
        (r"\bdr\.\s", 0.5), (r"\breg\.?\s*no\b", 0.5), (r"\badvice\b", 0.5),
    ],
    "discharge_summary": [
        (r"\bdischarge\s+summary\b", 5), (r"\bdate\s+of\s+admission\b", 2),
        (r"\bdate\s+of\s+discharge\b", 2), (r"\bhospital\s+course\b", 2),
        (r"\bcondition\s+(?:at|on)\s+discharge\b", 2), (r"\bdiagnosis\b", 1),
        (r"\bfollow[\s-]*up\b", 0.5), (r"\badmitted\b|\badmission\b", 1),
        (r"\bdischarge\s+medications?\b", 1.5),
    ],
}  # fmt: skip
_TYPE_PATTERNS = {
    kind: [(re.compile(p, re.IGNORECASE | re.MULTILINE), w) for p, w in cues]
    for kind, cues in _TYPE_CUES.items()
}
_MIN_TYPE_SCORE = 3.0


def classify(text: str, *, lab_count: int = 0) -> tuple[DocumentType, float]:
    """Document type by weighted cues, and a confidence in 0..1.

    Cues are counted once each (a prescription lists many tablets, but one "Tab"
    cue is enough evidence); recognised lab values add to ``lab_report``.
    """
    scores = {
        kind: sum(w for pattern, w in cues if pattern.search(text))
        for kind, cues in _TYPE_PATTERNS.items()
    }
    scores["lab_report"] += min(4.0, lab_count * 1.0)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < _MIN_TYPE_SCORE:
        return "other", round(1.0 - top / (_MIN_TYPE_SCORE * 2), 3)
    # Margin over the runner-up, saturating: 1 - exp(-margin / 3).
    confidence = 0.5 + 0.5 * (1.0 - math.exp(-(top - second) / 3.0))
    return best, round(min(0.99, confidence), 3)  # type: ignore[return-value]


# --- entry point --------------------------------------------------------------------------


def extract_document(
    ocr: OcrResult,
    *,
    low_confidence_threshold: float = DEFAULT_LOW_CONFIDENCE,
    date_order: str | None = None,
    default_date_order: str = "DMY",
) -> ExtractedDocument:
    """Structured fields from an OCR result (pure: no I/O, deterministic).

    ``date_order`` ("DMY" | "MDY") is the tenant's setting, if it has one;
    ``default_date_order`` applies when neither the document nor the tenant decides.
    """
    index = _ConfidenceIndex(ocr)
    rows = build_rows(ocr)
    # The OCR text with a tab at every column gap: same length, same offsets.
    chars = list(ocr.text)
    for row in rows:
        for i, ch in enumerate(row.text):
            if ch == CELL_SEPARATOR:
                chars[row.start + i] = CELL_SEPARATOR
    layout_text = "".join(chars)
    labs, unparsed = extract_labs(rows, index.span, low_confidence_threshold)
    document_type, type_confidence = classify(ocr.text, lab_count=len(labs))
    order, source = decide_date_order(ocr.text, date_order, default_date_order)
    return ExtractedDocument(
        document_type=document_type,
        document_type_confidence=type_confidence,
        patient=extract_patient(
            layout_text,
            index.span,
            low_confidence_threshold,
            date_order=order,
            date_order_source=source,
        ),
        lab_results=labs,
        medications=extract_medications(rows, index.span, low_confidence_threshold, document_type),
        unparsed_rows=unparsed,
        date_order=order,  # type: ignore[arg-type]
        date_order_source=source,  # type: ignore[arg-type]
        low_confidence_threshold=low_confidence_threshold,
        model_version=MODEL_VERSION,
        ocr_engine=ocr.engine,
        ocr_model_version=ocr.model_version,
        ocr_mean_confidence=ocr.mean_confidence,
    )
