"""Rules that turn OCR text into structured fields: document type, patient, labs, meds.

Every field keeps its span in the OCR text and a confidence built from the OCR
confidences of the words it came from, lowered when we had to repair the text
(letters read as digits, a garbled unit) or the value looks implausible. Fields
below the threshold are marked ``low_confidence`` for clinician review.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from carepipe.engines.documents import normalize as norm
from carepipe.engines.documents.catalog import LDL_CALCULATED, LDL_DIRECT, LabTest, match_test
from carepipe.engines.documents.types import (
    DocumentType,
    ExtractedDocument,
    ExtractedField,
    LabResult,
    MedicationLine,
    PatientIdentifiers,
    Span,
)
from carepipe.engines.ocr.types import OcrResult

MODEL_VERSION = "documents-rules-1"
DEFAULT_LOW_CONFIDENCE = 0.70

# Confidence multipliers: why a field is less sure than its OCR words.
_REPAIRED = 0.85
_FUZZY = 0.85
_AMBIGUOUS = 0.8
_NO_UNIT = 0.6  # a value without a unit must not flow on unreviewed
_IMPLAUSIBLE = 0.5


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


@dataclass
class _Line:
    text: str
    start: int  # offset of the line in ocr.text


def _lines(text: str) -> Iterator[_Line]:
    offset = 0
    for raw in re.split(r"(\n|\f)", text):
        if raw in ("\n", "\f"):
            offset += 1
            continue
        yield _Line(raw, offset)
        offset += len(raw)


def _field(
    index: _ConfidenceIndex,
    value: str,
    raw: str,
    start: int,
    end: int,
    threshold: float,
    *,
    factor: float = 1.0,
    label: str | None = None,
) -> ExtractedField:
    confidence = round(max(0.0, min(1.0, index.span(start, end) * factor)), 4)
    return ExtractedField(
        value=value,
        raw=raw,
        span=Span(start=start, end=end),
        confidence=confidence,
        low_confidence=confidence < threshold,
        label=label,
    )


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


# --- patient identifiers ------------------------------------------------------------------

_SEP = r"\s*[:;.\-=]*\s*"
_STOP_WORDS = (
    r"(?:Age|Sex|Gender|DOB|D\.?O\.?B|Date|MRN|UHID|ID|Patient|ABHA|Ref|Reg|Sample|Mobile"
    r"|Phone|Ward|Bed|IP|OP)\b"
)
_NAME = re.compile(
    r"(?:Patient'?s?\.?\s*Name|Pt\.?\s*Name|Name\s+of\s+(?:the\s+)?Patient|Patient(?=\s*[:;]))"
    + _SEP
    + r"(?:(?:Mr|Mrs|Ms|Miss|Master|Baby|Smt|Shri|Sri)\.?\s+)?"
    r"(?P<name>(?!" + _STOP_WORDS + r")[A-Z][A-Za-z.'\-]*"
    r"(?:[ ](?!" + _STOP_WORDS + r")[A-Z][A-Za-z.'\-]*){0,3})",
    re.IGNORECASE,
)
_MRN = re.compile(
    r"(?P<label>UHID|MRN|M\.\s?R\.\s?N\.?|MR\s*No|Medical\s+Record\s+(?:No|Number)"
    r"|Patient\s*ID|Pt\.?\s*ID|PID|Hospital\s+No|Reg(?:istration)?\.?\s*No|IP\s*No|OP\s*No)"
    r"\.?" + _SEP + r"(?P<value>[A-Z0-9][A-Z0-9\-/]{2,})",
    re.IGNORECASE,
)
_ABHA_LABELLED = re.compile(
    r"(?P<label>ABHA)(?:\s*(?:No|Number|Num|ID))?\.?"
    + _SEP
    + r"(?P<value>{d}{{2}}{s}{d}{{4}}{s}{d}{{4}}{s}{d}{{4}})".format(
        d="[0-9OoIlS]", s=r"[\s\-\u2013]?"
    )
    + r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_ABHA_BARE = re.compile(r"(?<![\d\-])(?P<value>\d{2}-\d{4}-\d{4}-\d{4})(?![\d\-])")
_DOB_LABEL = re.compile(r"(?:DOB|D\.\s?O\.\s?B\.?|Date\s+of\s+Birth|Birth\s*Date)" + _SEP,
                        re.IGNORECASE)  # fmt: skip
_SEX = re.compile(r"(?:(?<![A-Za-z])Sex|Gender)\s*[:;.\-=]+\s*(?P<value>[A-Za-z]+)", re.IGNORECASE)
_AGE_SEX = re.compile(
    r"Age\s*/\s*(?:Sex|Gender)" + _SEP + r"(?P<age>\d{1,3})\s*(?:Y|Yrs?|Years?)?\.?\s*[/,]\s*"
    r"(?P<sex>[A-Za-z]+)",
    re.IGNORECASE,
)
_AGE = re.compile(r"(?<![A-Za-z])Age" + _SEP + r"(?P<age>\d{1,3})\s*(?:Y|Yrs?|Years?)\b",
                  re.IGNORECASE)  # fmt: skip


def _sex(token: str) -> tuple[str, bool] | None:
    """(male|female|other, exact?) from an OCR token like ``F``, ``Female``, ``Fernale``."""
    lowered = token.lower()
    exact = {"m": "male", "male": "male", "f": "female", "female": "female",
             "o": "other", "other": "other", "t": "other", "transgender": "other"}  # fmt: skip
    if lowered in exact:
        return exact[lowered], True
    for word in ("female", "male", "other"):
        if difflib.SequenceMatcher(None, lowered, word).ratio() >= 0.75:
            return word, False
    return None


def _clean_name(raw: str) -> tuple[str, bool]:
    """A printed name tidied: OCR dots between words become spaces, a leading
    lowercase ``l`` of a word becomes ``I`` (names are capitalised)."""
    name = re.sub(r"(?<=[a-z])\.(?=[A-Z])", " ", raw)
    name = " ".join(name.split()).strip(" .-")
    fixed = re.sub(r"\bl(?=[a-z])", "I", name)
    return fixed, fixed != " ".join(raw.split()).strip(" .-")


def extract_patient(text: str, index: _ConfidenceIndex, threshold: float) -> PatientIdentifiers:
    """Patient identifiers printed on the document (first occurrence of each)."""
    found: dict[str, ExtractedField] = {}

    if match := _NAME.search(text):
        name, repaired = _clean_name(match.group("name"))
        found["name"] = _field(index, name, match.group("name"), match.start("name"),
                               match.end("name"), threshold,
                               factor=_REPAIRED if repaired else 1.0)  # fmt: skip

    mrn_matches = [m for m in _MRN.finditer(text) if any(c.isdigit() for c in m.group("value"))]
    if mrn_matches:
        # A registration number is often the doctor's (on prescriptions): last resort.
        match = min(mrn_matches, key=lambda m: (m.group("label").lower().startswith("reg"),
                                                m.start()))  # fmt: skip
        label = " ".join(match.group("label").split()).upper()
        value = match.group("value").strip("-/").upper()
        # OCR may drop the space before the next label: "CP-100234Sex:".
        cut = re.sub(r"(?<=\d)(?:SEX|DOB|AGE|GENDER|ABHA|NAME|DATE)$", "", value)
        found["mrn"] = _field(index, cut, match.group("value"), match.start("value"),
                              match.end("value"), threshold, label=label,
                              factor=_REPAIRED if cut != value else 1.0)  # fmt: skip

    if match := _ABHA_LABELLED.search(text):
        raw = match.group("value")
        digits = re.sub(r"[\s\-\u2013]", "", raw).translate(norm.DIGIT_LOOKALIKES)
        repaired = digits != re.sub(r"[\s\-\u2013]", "", raw)
        if len(digits) == 14 and digits.isdigit():
            value = f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"
            found["abha_number"] = _field(
                index, value, raw, match.start("value"), match.end("value"), threshold,
                factor=_REPAIRED if repaired else 1.0, label="ABHA",
            )  # fmt: skip
    if "abha_number" not in found and (match := _ABHA_BARE.search(text)):
        # Unlabelled: shaped like an ABHA number, but less sure it is one.
        found["abha_number"] = _field(index, match.group("value"), match.group("value"),
                                      match.start("value"), match.end("value"), threshold,
                                      factor=_AMBIGUOUS)  # fmt: skip

    for match in _DOB_LABEL.finditer(text):
        window = text[match.end() : match.end() + 24]
        parsed = norm.parse_date(window)
        if parsed and parsed[1] <= 2:
            when, start, end = parsed
            start, end = match.end() + start, match.end() + end
            raw = text[start:end]
            repaired = any(c in raw for c in "OoIl")
            found["birth_date"] = _field(index, when.isoformat(), raw, start, end, threshold,
                                         factor=_REPAIRED if repaired else 1.0)  # fmt: skip
            break

    age_sex = _AGE_SEX.search(text)
    sex_match = age_sex or _SEX.search(text)
    if sex_match is not None:
        group = "sex" if age_sex else "value"
        parsed_sex = _sex(sex_match.group(group))
        if parsed_sex:
            value, exact = parsed_sex
            found["sex"] = _field(index, value, sex_match.group(group), sex_match.start(group),
                                  sex_match.end(group), threshold,
                                  factor=1.0 if exact else _FUZZY)  # fmt: skip
    age_match = age_sex or _AGE.search(text)
    if age_match is not None:
        found["age_years"] = _field(index, str(int(age_match.group("age"))),
                                    age_match.group("age"), age_match.start("age"),
                                    age_match.end("age"), threshold)  # fmt: skip
    return PatientIdentifiers(**found)


# --- lab values ---------------------------------------------------------------------------

_FLAG_WORDS = {"H": "H", "HIGH": "H", "L": "L", "LOW": "L", "HI": "H", "LO": "L"}
_TOKEN = re.compile(r"\S+")


def _flag(token: str) -> tuple[str, bool] | None:
    """(H|L, exact?) for a printed abnormal flag token like ``H``, ``[L]``, ``JL.``."""
    letters = re.sub(r"[^A-Za-z]", "", token)
    if letters.upper() in _FLAG_WORDS and (len(letters) > 1 or letters.isupper()):
        return _FLAG_WORDS[letters.upper()], True
    if token.strip() in ("↑", "*↑"):
        return "H", True
    if token.strip() == "↓":
        return "L", True
    if len(letters) == 2 and letters[0] in "IJl" and letters[1] in "HL":
        return letters[1], False
    return None


def _distance_to_range(value: float, low: float | None, high: float | None) -> float:
    if value <= 0:
        return math.inf
    if low is not None and low > 0 and value < low:
        return math.log(low / value)
    if high is not None and high > 0 and value > high:
        return math.log(value / high)
    return 0.0


def _parse_lab_line(
    line: _Line, test: LabTest, name_start: int, name_end: int,
    index: _ConfidenceIndex, threshold: float,
) -> LabResult | None:  # fmt: skip
    text = line.text
    rest_offset = name_end
    rest = text[name_end:]
    # Method notes in brackets after the name, e.g. "(calc)", "(Photometry)": skip them.
    bracket = re.match(r"\s*[(\[][A-Za-z .,/\-]*[)\]]", rest)
    if bracket:
        rest_offset += bracket.end()
        rest = text[rest_offset:]

    unit = norm.find_unit(rest)
    ref = norm.find_range(rest)
    notes: list[str] = []
    factor = 1.0

    # Value candidates: numbers before the reference range, outside the unit.
    candidates: list[tuple[norm.ParsedNumber, int, int]] = []
    for token in _TOKEN.finditer(rest):
        if ref is not None and token.start() >= ref.start:
            break
        if unit is not None and unit.start <= token.start() < unit.end:
            continue
        parsed = norm.parse_number(token.group())
        if parsed is not None:
            candidates.append((parsed, token.start(), token.end()))
    if not candidates:
        return None

    low = ref.low if ref else None
    high = ref.high if ref else None
    chosen = candidates[0]
    if len(candidates) > 1:
        notes.append("several numbers before the range")
        factor *= _AMBIGUOUS
        if ref is not None:
            chosen = min(candidates, key=lambda c: _distance_to_range(c[0].value, low, high))
    number, v_start, v_end = chosen
    if number.repaired:
        notes.append("digits repaired")
        factor *= _REPAIRED

    # A printed flag: a token after the value that is H/L (outside unit and range).
    printed_flag: str | None = None
    for token in _TOKEN.finditer(rest, v_end):
        if unit is not None and unit.start <= token.start() < unit.end:
            continue
        if ref is not None and token.start() >= ref.start:
            break
        flag = _flag(token.group())
        if flag is not None:
            printed_flag = flag[0]
            if not flag[1]:
                notes.append("flag repaired")
                factor *= _REPAIRED
            break

    scale = unit.factor if unit else 1.0
    value = number.value * scale
    if ref is not None:
        low = ref.low * scale if ref.low is not None else None
        high = ref.high * scale if ref.high is not None else None
    if unit is None:
        notes.append("no unit")
        factor *= _NO_UNIT
    elif unit.fuzzy:
        notes.append("unit repaired")
        factor *= _FUZZY
    # Ten times outside the range is more likely a lost decimal point than a result.
    if _distance_to_range(value, low, high) > math.log(5):
        notes.append("implausible against the reference range")
        factor *= _IMPLAUSIBLE

    computed: str | None = None
    if low is not None or high is not None:
        computed = "N"
        if low is not None and value < low:
            computed = "L"
        elif high is not None and value > high:
            computed = "H"
    flag_value = printed_flag or computed
    flag_source = "document" if printed_flag else ("range" if computed else None)

    loinc = test.loinc
    if test.key == "ldl_cholesterol":
        lowered = text.lower()
        if "direct" in lowered:
            loinc = LDL_DIRECT
        elif "calc" in lowered or "friedewald" in lowered:
            loinc = LDL_CALCULATED
    unit_code = unit.unit if unit else None
    if loinc is not None and unit_code not in test.units:
        notes.append("unit does not match the LOINC code; code withheld")
        loinc = None

    end = max(v_end, unit.end if unit else 0, ref.end if ref else 0)
    span_start = line.start + name_start
    span_end = line.start + rest_offset + end
    ocr_conf = min(
        index.span(line.start + name_start, line.start + name_end),
        index.span(line.start + rest_offset + v_start, line.start + rest_offset + v_end),
        index.span(line.start + rest_offset + unit.start, line.start + rest_offset + unit.end)
        if unit
        else 1.0,
    )
    confidence = round(max(0.0, min(1.0, ocr_conf * factor)), 4)
    return LabResult(
        test=test.key,
        display=test.display,
        loinc=loinc,
        raw_name=text[name_start:name_end],
        value=round(value, 6),
        comparator=number.comparator,  # type: ignore[arg-type]
        unit=unit_code,
        raw_value=number.text,
        raw_unit=unit.raw if unit else None,
        ref_low=round(low, 6) if low is not None else None,
        ref_high=round(high, 6) if high is not None else None,
        flag=flag_value,  # type: ignore[arg-type]
        flag_source=flag_source,  # type: ignore[arg-type]
        span=Span(start=span_start, end=span_end),
        confidence=confidence,
        low_confidence=confidence < threshold,
        notes=notes,
    )


def extract_labs(ocr_text: str, index: _ConfidenceIndex, threshold: float) -> list[LabResult]:
    """One result per line that starts with a known test name and carries a value."""
    results = []
    for line in _lines(ocr_text):
        matched = match_test(line.text)
        if matched is None:
            continue
        test, start, end = matched
        result = _parse_lab_line(line, test, start, end, index, threshold)
        if result is not None:
            results.append(result)
    return results


# --- medications --------------------------------------------------------------------------

_MED_LINE = re.compile(
    r"^\s*(?:\d{1,2}\s*[.)]\s*)?(?:tab|tablet|cap|capsule|syp|syrup|inj|injection|oint"
    r"|ointment|drops?|susp|suspension|gel|cream|inhaler|sachet)\b\.?\s+\S",
    re.IGNORECASE,
)
_DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|g|ml|iu|units?)\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*\d{1,2}\s*[.)]\s*[A-Za-z]")


def extract_medications(
    ocr_text: str, index: _ConfidenceIndex, threshold: float, document_type: str
) -> list[MedicationLine]:
    """Medication lines as printed: a dosage form first, or numbered with a dose."""
    items = []
    for line in _lines(ocr_text):
        stripped = line.text.strip()
        if not stripped:
            continue
        is_med = bool(_MED_LINE.match(stripped))
        if not is_med and document_type in ("prescription", "discharge_summary"):
            is_med = bool(_NUMBERED.match(stripped) and _DOSE.search(stripped))
        if not is_med:
            continue
        lead = len(line.text) - len(line.text.lstrip())
        start = line.start + lead
        end = start + len(stripped)
        confidence = round(index.span(start, end), 4)
        items.append(
            MedicationLine(
                text=stripped,
                span=Span(start=start, end=end),
                confidence=confidence,
                low_confidence=confidence < threshold,
            )
        )
    return items


# --- entry point --------------------------------------------------------------------------


def extract_document(
    ocr: OcrResult, *, low_confidence_threshold: float = DEFAULT_LOW_CONFIDENCE
) -> ExtractedDocument:
    """Structured fields from an OCR result (pure: no I/O, deterministic)."""
    index = _ConfidenceIndex(ocr)
    labs = extract_labs(ocr.text, index, low_confidence_threshold)
    document_type, type_confidence = classify(ocr.text, lab_count=len(labs))
    return ExtractedDocument(
        document_type=document_type,
        document_type_confidence=type_confidence,
        patient=extract_patient(ocr.text, index, low_confidence_threshold),
        lab_results=labs,
        medications=extract_medications(ocr.text, index, low_confidence_threshold, document_type),
        low_confidence_threshold=low_confidence_threshold,
        model_version=MODEL_VERSION,
        ocr_engine=ocr.engine,
        ocr_model_version=ocr.model_version,
        ocr_mean_confidence=ocr.mean_confidence,
    )
