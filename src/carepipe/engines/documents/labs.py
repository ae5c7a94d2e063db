"""Lab values from table rows: test | result [flag] | unit | reference range.

Each row rebuilt from the word boxes (:mod:`rows`) is read as: a test name at its
start (exact alias, or a close match of the first cell on a damaged page), then the
value (with a flag written against it, ``10.8L``, or in its own column), the unit,
and the reference range, in whatever column order the layout uses.

Every value is then checked (``plausibility``) against its printed range, the
test's typical range and its physiological limits, and against the printed flag;
a likely lost digit or a misread range is *held*: kept for review, never sent on.
So is a value whose unit can be neither read nor told from the row's own range, and
one that cannot be told from other numbers on a row without a readable range.
A row that names a test, or looks like a result, but gives no value is counted
as unparsed and sends the document to review: nothing is dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from rapidfuzz import fuzz

from carepipe.engines.documents import normalize as norm
from carepipe.engines.documents.catalog import (
    ALIASES,
    LDL_CALCULATED,
    LDL_DIRECT,
    LabTest,
    match_test,
)
from carepipe.engines.documents.rows import CELL_SEPARATOR, Row
from carepipe.engines.documents.types import LabResult, Span, UnparsedRow

# Confidence multipliers: why a value is less sure than its OCR words.
REPAIRED = 0.85
FUZZY = 0.85
AMBIGUOUS = 0.8
NO_UNIT = 0.6  # a value without a unit must not flow on unreviewed
IMPLAUSIBLE = 0.5

#: A first cell this similar (0-100) to a test name is taken for it on a damaged page.
FUZZY_NAME_SCORE = 88
#: A printed range this many times away from the test's typical range was misread.
RANGE_MISREAD_RATIO = 4.0
#: A value this many times outside its printed range has lost (or gained) a digit.
OUT_OF_RANGE_RATIO = 5.0
#: A printed range agrees with the test's typical one when each bound is within this
#: ratio of it: close enough to tell the unit apart from its alternatives (g/dL from
#: g/L, mg/dL from mmol/L or umol/L, cells/cumm from 10^3/uL), which differ 10x or more.
RANGE_AGREES_RATIO = 1.5

_TOKEN = re.compile(r"[^\s]+")
_FLAG_WORDS = {"H": "H", "HIGH": "H", "L": "L", "LOW": "L", "HI": "H", "LO": "L"}
_NOT_A_RESULT = re.compile(
    r"\b(?:ph|tel|phone|fax|mobile|road|street|st|nagar|sector|plot|floor|date|collected"
    r"|reported|received|registered|printed|page|age|dob|ref|lab\s*no|uhid|mrn|cin|gstin"
    r"|clia|cap|nabl|lic)\b|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}:\d{2}",
    re.IGNORECASE,
)

#: A dosage form or a dose without a "per" (500 mg, not mg/dL): medication rows.
_MEDICATION = re.compile(
    r"^\W{0,3}(?:\d{1,2}\s*[.)]\s*)?(?:tab|cap|syp|inj)\b|\b\d+(?:\.\d+)?\s*(?:mg|mcg|ml|g|iu)\b(?!\s*/)",
    re.IGNORECASE,
)

ConfidenceOf = Callable[[int, int], float]


def _flag_token(token: str) -> tuple[str, bool] | None:
    """(H|L, exact?) for a printed abnormal flag token like ``H``, ``[L]``, ``HIGH``."""
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


def distance_to_range(value: float, low: float | None, high: float | None) -> float:
    """How far (log ratio) ``value`` lies outside ``[low, high]``; 0 inside."""
    if value <= 0:
        return math.inf if (low or 0) > 0 else 0.0
    if low is not None and low > 0 and value < low:
        return math.log(low / value)
    if high is not None and high > 0 and value > high:
        return math.log(value / high)
    return 0.0


def _range_misread(test: LabTest, low: float | None, high: float | None) -> bool:
    """True when the printed range is far from the test's typical one (a digit lost)."""
    t_low, t_high = test.typical
    pairs = [(low, t_low), (high, t_high)]
    ratios = [p / t for p, t in pairs if p is not None and t is not None and p > 0 and t > 0]
    if not ratios:
        return False
    return all(r >= RANGE_MISREAD_RATIO for r in ratios) or all(
        r <= 1 / RANGE_MISREAD_RATIO for r in ratios
    )


def _range_agrees(test: LabTest, low: float | None, high: float | None) -> bool:
    """True when the printed range matches the test's typical range (see RANGE_AGREES_RATIO)."""
    t_low, t_high = test.typical
    compared = 0
    for printed, typical in ((low, t_low), (high, t_high)):
        if printed is None or typical is None:
            continue
        if printed == 0 and typical == 0:
            continue  # "0.00 - 0.30": a zero bound agrees but says nothing about the scale
        if printed <= 0 or typical <= 0:
            return False
        if max(printed / typical, typical / printed) > RANGE_AGREES_RATIO:
            return False
        compared += 1
    return compared > 0


def unit_from_range(test: LabTest, low: float | None, high: float | None) -> float | None:
    """The scale to the test's canonical unit that the printed range implies, or ``None``.

    Used when a row's unit cannot be read (blur, noise): the range printed on the same
    row, in the same unit as the value, says which unit that is when exactly one of the
    scales the unit is printed in (``unit_factors``) puts it on the test's typical range.
    """
    if test.unit is None or test.unitless or (low is None and high is None):
        return None
    if len(test.units) > 1:
        return None  # mmol/L or mEq/L: the same numbers, so the range cannot tell them apart
    fits = [
        factor
        for factor in sorted(norm.unit_factors(test.unit))
        if _range_agrees(
            test,
            low * factor if low is not None else None,
            high * factor if high is not None else None,
        )
    ]
    return fits[0] if len(fits) == 1 else None


def _fuzzy_test(row: Row) -> tuple[LabTest, int, int] | None:
    """A close match of the row's first cell to a test name (OCR-damaged names)."""
    if len(row.cells) < 2:
        return None
    first = row.cells[0]
    cleaned = re.sub(r"[^a-z0-9]+", " ", first.text.lower()).strip()
    if len(cleaned) < 4 or not re.search(r"[a-z]{3}", cleaned):
        return None
    best: tuple[float, LabTest] | None = None
    for alias, test in ALIASES:
        if abs(len(alias) - len(cleaned)) > max(3, len(alias) // 3):
            continue
        score = fuzz.ratio(cleaned, alias)
        if score >= FUZZY_NAME_SCORE and (best is None or score > best[0]):
            best = (score, test)
    if best is None:
        return None
    start = first.start - row.start
    return best[1], start, start + len(first.text)


def _looks_like_result(row: Row) -> bool:
    """A row shaped like a result (name, number, unit or range) that we could not name."""
    text = row.plain
    if _NOT_A_RESULT.search(text) or not re.match(r"^\W{0,3}[A-Za-z][A-Za-z .,()/\-]{2,}", text):
        return False
    if _MEDICATION.search(text):
        return False  # "Tab. Metformin 500 mg 1-0-1": a medication row, not a result
    numbers = [t for t in _TOKEN.findall(text) if norm.parse_value_token(t)]
    if not numbers:
        return False
    has_unit = norm.find_unit(text) is not None
    has_range = norm.find_range(text) is not None
    return has_unit or (has_range and len(row.cells) >= 3)


def _cells_after(row: Row, offset: int) -> str:
    return row.text[offset:]


def parse_row(
    row: Row,
    test: LabTest,
    name_start: int,
    name_end: int,
    confidence_of: ConfidenceOf,
    threshold: float,
    *,
    fuzzy_name: bool = False,
) -> LabResult | None:
    """The result on one row, or ``None`` when it carries no value."""
    text = row.text
    rest_offset = name_end
    rest = _cells_after(row, name_end)
    # Method notes in brackets after the name, e.g. "(calc)", "(Photometry)": skip them.
    bracket = re.match(r"[ ]*[(\[][A-Za-z0-9 .,/\-]*[)\]]", rest)
    if bracket:
        rest_offset += bracket.end()
        rest = text[rest_offset:]

    unit = norm.find_unit(rest)
    ref = norm.find_range(rest)
    if ref is not None and unit is not None and unit.start <= ref.start < unit.end:
        ref = None  # numbers inside a unit (1.73 m2) are not a range
    notes: list[str] = []
    factor = FUZZY if fuzzy_name else 1.0
    if fuzzy_name:
        notes.append("test name matched approximately")

    # Value candidates: tokens before the reference range, outside the unit.
    candidates: list[tuple[norm.ParsedNumber, str | None, int, int]] = []
    for token in _TOKEN.finditer(rest):
        if ref is not None and token.start() >= ref.start:
            break
        if unit is not None and unit.start <= token.start() < unit.end:
            continue
        parsed = norm.parse_value_token(token.group())
        if parsed is not None:
            candidates.append((parsed[0], parsed[1], token.start(), token.end()))
    if not candidates:
        return None
    if unit is not None and len(candidates) > 1:
        # The value is printed before its unit; numbers after the unit are the debris
        # of a range OCR could not read ("6.0 mg/dL 3.5272"), not other values.
        before_unit = [c for c in candidates if c[3] <= unit.start]
        if before_unit:
            candidates = before_unit

    low = ref.low if ref else None
    high = ref.high if ref else None
    chosen = candidates[0]
    if len(candidates) > 1:
        notes.append("several numbers before the range")
        factor *= AMBIGUOUS
        if ref is not None:
            chosen = min(candidates, key=lambda c: distance_to_range(c[0].value, low, high))
    number, printed_flag, v_start, v_end = chosen
    if number.repaired:
        notes.append("digits repaired")
        factor *= REPAIRED

    # A flag in its own column: a token after the value that is H/L (outside unit, range).
    if printed_flag is None:
        for token in _TOKEN.finditer(rest, v_end):
            if unit is not None and unit.start <= token.start() < unit.end:
                continue
            if ref is not None and ref.start <= token.start() < ref.end:
                continue
            flag = _flag_token(token.group())
            if flag is not None:
                printed_flag = flag[0]
                if not flag[1]:
                    notes.append("flag repaired")
                    factor *= REPAIRED
                break

    held: list[str] = []
    scale = unit.factor if unit else 1.0
    unit_code = unit.unit if unit else None
    inferred_unit = False
    if unit is None and test.unitless:
        unit_code = test.unit
    elif unit is None:
        implied = unit_from_range(test, low, high)
        if implied is not None:
            # The unit is unreadable but the row's own range says which it is.
            scale, unit_code, inferred_unit = implied, test.unit, True
            notes.append("unit unreadable; inferred from the printed reference range")
            factor *= FUZZY
        else:
            # A number without a unit is not a result: it cannot be sent on as one.
            factor *= NO_UNIT
            held.append("no unit could be read")
    elif unit.fuzzy:
        notes.append("unit repaired")
        factor *= FUZZY
    value = number.value * scale
    if ref is not None:
        low = ref.low * scale if ref.low is not None else None
        high = ref.high * scale if ref.high is not None else None
    if len(candidates) > 1 and ref is None:
        # Nothing to tell the value from a stray or misread number on the row.
        held.append("several numbers on the row and no reference range to tell the value")

    computed: str | None = None
    if low is not None or high is not None:
        computed = "N"
        if low is not None and value < low:
            computed = "L"
        elif high is not None and value > high:
            computed = "H"
    # Plausibility: each of these is a likely misread, not a result to send on.
    lo_limit, hi_limit = test.limits
    if unit_code in test.units and (
        (lo_limit is not None and value < lo_limit) or (hi_limit is not None and value > hi_limit)
    ):
        held.append("outside physiological limits")
    if ref is not None and unit_code in test.units and _range_misread(test, low, high):
        held.append("reference range far from the usual one (misread range?)")
    if value == 0:
        # Zero is a real result for some tests (basophils 0 %), a lost digit for others.
        far = lo_limit is None or lo_limit > 0
    else:
        far = distance_to_range(value, low, high) > math.log(OUT_OF_RANGE_RATIO)
    if far:
        held.append("implausible against the reference range (lost digit or decimal point?)")
    elif (
        ref is None
        and unit_code in test.units
        and distance_to_range(value, *test.typical) > math.log(OUT_OF_RANGE_RATIO)
    ):
        # No printed range to check against: the test's usual one stands in for it
        # (urea "362" where 36 was printed and its range was unreadable).
        held.append("implausible against the usual range, none printed (extra digit?)")
    if printed_flag and computed and printed_flag != computed:
        held.append(f"printed flag {printed_flag} contradicts the value (misread digit?)")
    if held:
        notes.extend(held)
        factor *= IMPLAUSIBLE

    flag_value = printed_flag or computed
    flag_source = "document" if printed_flag else ("range" if computed else None)
    loinc = test.loinc
    if test.key == "ldl_cholesterol":
        lowered = text.lower()
        if "direct" in lowered:
            loinc = LDL_DIRECT
        elif "calc" in lowered or "friedewald" in lowered:
            loinc = LDL_CALCULATED
    if loinc is not None and unit_code not in test.units:
        notes.append("unit does not match the LOINC code; code withheld")
        loinc = None

    end = max(v_end, unit.end if unit else 0, ref.end if ref else 0)
    span_start = row.start + name_start
    span_end = row.start + rest_offset + end
    base = row.start + rest_offset
    ocr_conf = min(
        confidence_of(row.start + name_start, row.start + name_end),
        confidence_of(base + v_start, base + v_end),
        confidence_of(base + unit.start, base + unit.end) if unit else 1.0,
    )
    confidence = round(max(0.0, min(1.0, ocr_conf * factor)), 4)
    return LabResult(
        test=test.key,
        display=test.display,
        loinc=loinc,
        raw_name=text[name_start:name_end].replace(CELL_SEPARATOR, " "),
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
        low_confidence=confidence < threshold or bool(held) or inferred_unit,
        notes=notes,
        held=bool(held),
        hold_reasons=held,
        page=row.page,
    )


def extract_labs(
    rows: list[Row], confidence_of: ConfidenceOf, threshold: float
) -> tuple[list[LabResult], list[UnparsedRow]]:
    """Lab values, and the rows that look like results but could not be read."""
    results: list[LabResult] = []
    unparsed: list[UnparsedRow] = []
    for row in rows:
        if not row.text.strip():
            continue
        fuzzy_name = False
        matched = match_test(row.text)
        if matched is None:
            matched = _fuzzy_test(row)
            fuzzy_name = matched is not None
        if matched is None:
            if _looks_like_result(row):
                unparsed.append(_unparsed(row, "looks like a result; test not recognised"))
            continue
        test, start, end = matched
        result = parse_row(row, test, start, end, confidence_of, threshold, fuzzy_name=fuzzy_name)
        if result is not None:
            results.append(result)
        elif _has_result_shape(row, end):
            unparsed.append(_unparsed(row, "test recognised; no value could be read", test.key))
    return results, unparsed


def _has_result_shape(row: Row, name_end: int) -> bool:
    """After a test name: a unit, a range or a number-like token (a damaged value)."""
    rest = row.plain[name_end:]
    if not rest.strip():
        return False
    return bool(
        norm.find_unit(rest) or norm.find_range(rest) or re.search(r"[0-9]", rest)
    ) and not _NOT_A_RESULT.search(rest)


def _unparsed(row: Row, reason: str, test: str | None = None) -> UnparsedRow:
    return UnparsedRow(
        text=row.plain,
        span=Span(start=row.start, end=row.start + len(row.text)),
        reason=reason,
        test=test,
    )
