"""Reading numbers, units and dates out of OCR text, tolerating its usual mistakes.

OCR confuses O/0, l/I/1 and S/5 inside numbers and drops stray punctuation around
them. We repair those only inside tokens that are otherwise numeric, and report
that we did, so the caller can lower its confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Letters OCR puts in place of digits. Only applied to tokens that are mostly digits.
DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1",
                                   "|": "1", "i": "1", "S": "5", "s": "5", "B": "8"})  # fmt: skip
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_EDGE_JUNK = "\"'`\u201c\u201d\u2018\u2019:;,_~^*#()[]{}"


@dataclass(frozen=True)
class ParsedNumber:
    value: float
    text: str  # the token as printed, without edge junk
    repaired: bool  # letters were read as digits, or separators fixed
    comparator: str | None = None


_ATTACHED_FLAG = re.compile(
    r"^(?P<num>[<>]?=?[0-9OoIl|.,]*[0-9][0-9OoIl.,]*)[*\s]*"
    r"(?P<flag>HH|LL|H|L|\*H|\*L|\u2191|\u2193)\*?$"
)


def parse_value_token(token: str) -> tuple[ParsedNumber, str | None] | None:
    """A value token with the flag that may be written against it: ``10.8L``, ``36.1H``.

    Returns the number and ``H``/``L`` (``None`` when no flag is attached).
    """
    parsed = parse_number(token)
    if parsed is not None:
        return parsed, None
    match = _ATTACHED_FLAG.match(token.strip(_EDGE_JUNK.replace("*", "")))
    if match is None:
        return None
    number = parse_number(match.group("num"))
    if number is None:
        return None
    flag = match.group("flag").replace("*", "")
    flag = {"\u2191": "H", "\u2193": "L", "HH": "H", "LL": "L"}.get(flag, flag)
    return number, flag


def parse_number(token: str) -> ParsedNumber | None:
    """A number from one OCR token (``11.2``, ``7,800``, ``l3.5``, ``<0.5``), or ``None``."""
    text = token.strip(_EDGE_JUNK + ".")
    comparator = None
    for prefix in ("<=", ">=", "≤", "≥", "<", ">"):
        if text.startswith(prefix):
            comparator = {"≤": "<=", "≥": ">="}.get(prefix, prefix)
            text = text[len(prefix) :].strip()
            break
    if not text or not any(c.isdigit() for c in text):
        return None
    digits = sum(c.isdigit() for c in text)
    if digits * 2 < len(text.replace(".", "").replace(",", "")):
        return None  # mostly letters: a word, not a misread number
    fixed = text.translate(DIGIT_LOOKALIKES)
    repaired = fixed != text
    if "," in fixed:
        # 7,800 is thousands; 13,5 is a decimal comma.
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", fixed):
            fixed = fixed.replace(",", "")
        elif re.fullmatch(r"\d+,\d{1,2}", fixed):
            fixed = fixed.replace(",", ".")
            repaired = True
        else:
            return None
    if not _NUMBER.match(fixed):
        return None
    return ParsedNumber(float(fixed), text, repaired, comparator)


# --- units --------------------------------------------------------------------------------

_L = r"[lL1I]"  # the letter l as OCR reads it
# The micro sign as OCR reads it: u, µ (two code points), and "p" or "y" (its tail).
_MU = r"[uµμpy]"
_CU_MM = r"(?:cumm|cu\.?\s*mm|mm3|mm³|" + _MU + _L + r")"
# Where a slash was, OCR leaves nothing or a thin letter (i, l, s, |, \\).
_SLASH_LOST = r"[\\|!il1sI]?\s*"
# (pattern, UCUM unit, factor to the test's canonical unit group, fuzzy?)
_UNIT_RULES: list[tuple[str, str, float, bool]] = [
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:3|³)\s*/\s*" + _MU + r"\s*" + _L, "10*3/uL", 1.0, False),
    (r"(?:x\s*)?10\s*E\s*3\s*/\s*" + _MU + r"\s*" + _L, "10*3/uL", 1.0, False),
    (r"10\S?3\s*/\s*" + _MU + _L, "10*3/uL", 1.0, True),  # 10^3 with the caret misread
    (r"(?:thou|K)\s*/\s*" + _MU + _L, "10*3/uL", 1.0, False),
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:9|⁹)\s*/\s*" + _L, "10*3/uL", 1.0, False),
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:6|⁶)\s*/\s*" + _MU + r"\s*" + _L, "10*6/uL", 1.0, False),
    (r"(?:x\s*)?10\s*E\s*6\s*/\s*" + _MU + r"\s*" + _L, "10*6/uL", 1.0, False),
    (r"10\S?6\s*/\s*" + _MU + _L, "10*6/uL", 1.0, True),
    (r"M\s*/\s*" + _MU + _L, "10*6/uL", 1.0, False),
    (r"(?:x\s*)?10\s*[\^*]?\s*12\s*/\s*" + _L, "10*6/uL", 1.0, False),
    (r"mill(?:ion)?s?\s*/\s*" + _CU_MM, "10*6/uL", 1.0, False),
    (r"lakhs?\s*/\s*" + _CU_MM, "10*3/uL", 100.0, False),
    (r"(?:cells\s*)?/\s*" + _CU_MM, "10*3/uL", 0.001, False),
    # The slash of ".../cumm" lost or read as a letter ("millcumm", "lakhsicumm",
    # "cellsscumm"): the count words before "cumm" still say which unit it is.
    (r"mill(?:ion)?s?\s*" + _SLASH_LOST + _CU_MM, "10*6/uL", 1.0, True),
    (r"lakhs?\s*" + _SLASH_LOST + _CU_MM, "10*3/uL", 100.0, True),
    (r"cells\s*" + _SLASH_LOST + _CU_MM, "10*3/uL", 0.001, True),
    (r"g(?:m|ms)?\s*/\s*d" + _L + r"|gm?\s*%", "g/dL", 1.0, False),
    (r"mg\s*/\s*d" + _L + r"|mg\s*%", "mg/dL", 1.0, False),
    # The L of "/dL" read as b or t on blurred pages ("mg/db", "g/dt").
    (r"g(?:m|ms)?\s*/\s*d[bt]", "g/dL", 1.0, True),
    (r"mg\s*/\s*d[bt]", "mg/dL", 1.0, True),
    (r"mmo" + _L + r"\s*/\s*" + _L, "mmol/L", 1.0, False),
    (r"m\s*eq\s*/\s*" + _L, "meq/L", 1.0, False),
    (r"m[I1l]U\s*/\s*" + _L + r"|m\s*[I1l]\s*U\s*/\s*" + _L, "m[IU]/L", 1.0, False),
    (r"(?:" + _MU + r"|micro)\s*[I1l]\s*U\s*/\s*m" + _L, "m[IU]/L", 1.0, False),
    (r"[I1l]?U\s*/\s*" + _L, "U/L", 1.0, False),
    (r"ng\s*/\s*m" + _L, "ng/mL", 1.0, False),
    (r"ng\s*/\s*d" + _L, "ng/dL", 1.0, False),
    (r"pg\s*/\s*m" + _L, "pg/mL", 1.0, False),
    (r"(?:[uµμ]|mc)g\s*/\s*d" + _L, "ug/dL", 1.0, False),
    # "µg/dL" with the µ read as p or y: no test is reported in pg/dL or yg/dL.
    (r"[py]g\s*/\s*d" + _L, "ug/dL", 1.0, True),
    (r"m" + _L + r"\s*/\s*min\s*/\s*1[.,]?73\s*m\s*(?:2|²|\^2)?", "mL/min/{1.73_m2}", 1.0, False),
    (r"mm\s*/\s*(?:1\s*st\s*)?h(?:r|our)?", "mm/h", 1.0, False),
    (r"f" + _L, "fL", 1.0, False),
    (r"pg", "pg", 1.0, False),
    (r"%", "%", 1.0, False),
]
_UNIT_PATTERNS = [
    (re.compile(r"(?<![A-Za-z0-9])(" + p + r")(?![A-Za-z])", re.IGNORECASE), u, f, z)
    for p, u, f, z in _UNIT_RULES
]
# Case matters for a few: "mg/dL" vs nothing else; but "pg"/"fL" need word edges above.


def unit_factors(unit: str) -> frozenset[float]:
    """The scale factors printed units of ``unit`` can carry (cells/cumm -> 10*3/uL: 0.001)."""
    return frozenset(f for _, u, f, _ in _UNIT_RULES if u == unit) or frozenset({1.0})


@dataclass(frozen=True)
class ParsedUnit:
    unit: str  # UCUM
    raw: str
    start: int
    end: int
    factor: float  # multiply the printed value by this to get ``unit``
    fuzzy: bool


def find_unit(text: str) -> ParsedUnit | None:
    """The first unit in ``text`` (earliest position; longest rule wins on ties)."""
    best: ParsedUnit | None = None
    for pattern, unit, factor, fuzzy in _UNIT_PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        found = ParsedUnit(unit, match.group(1), match.start(1), match.end(1), factor, fuzzy)
        if (
            best is None
            or found.start < best.start
            or (found.start == best.start and found.end > best.end)
        ):
            best = found
    return best


# --- reference ranges ---------------------------------------------------------------------

_NUM = r"[0-9OoIl]+(?:[.,][0-9Oo]+)?"
_RANGE = re.compile(r"(?P<lo>" + _NUM + r")\s*(?:-|\u2013|\u2014|to)\s*(?P<hi>" + _NUM + r")")
_UPPER = re.compile(
    r"(?:<=?|≤|up\s*to|upto|less\s+than|below)\s*(?P<hi>" + _NUM + r")", re.IGNORECASE
)
_LOWER = re.compile(
    r"(?:>=?|≥|more\s+than|greater\s+than|above)\s*(?P<lo>" + _NUM + r")", re.IGNORECASE
)


@dataclass(frozen=True)
class ParsedRange:
    low: float | None
    high: float | None
    start: int
    end: int


def find_range(text: str) -> ParsedRange | None:
    """A reference range: ``12.0 - 15.5``, ``< 200``, ``> 40``, ``up to 150``."""
    candidates = []
    for pattern in (_RANGE, _UPPER, _LOWER):
        for match in pattern.finditer(text):
            groups = match.groupdict()
            low = parse_number(groups["lo"]) if groups.get("lo") else None
            high = parse_number(groups["hi"]) if groups.get("hi") else None
            if (groups.get("lo") and low is None) or (groups.get("hi") and high is None):
                continue
            if low is not None and high is not None and low.value > high.value:
                continue
            candidates.append(
                ParsedRange(
                    low.value if low else None,
                    high.value if high else None,
                    match.start(),
                    match.end(),
                )
            )
    if not candidates:
        return None
    # The last range on the line: reference ranges are printed after the result.
    return max(candidates, key=lambda r: (r.start, r.end - r.start))


# --- dates --------------------------------------------------------------------------------

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_D = r"[0-9OoIl]"
DATE_PATTERN = re.compile(
    r"(?P<iso>" + _D + r"{4})[-/.](?P<isom>" + _D + r"{1,2})[-/.](?P<isod>" + _D + r"{1,2})"
    r"|(?P<d>" + _D + r"{1,2})\s*[-/.]\s*(?P<m>" + _D + r"{1,2})\s*[-/.]\s*(?P<y>" + _D + r"{4})"
    r"|(?P<d2>" + _D + r"{1,2})[\s\-/.]*(?P<mon>[A-Za-z]{3,9})[\s\-/.,]*(?P<y2>" + _D + r"{4})",
)


DateOrder = str  # "DMY" | "MDY"


@dataclass(frozen=True)
class ParsedDate:
    value: date
    start: int
    end: int
    ambiguous: bool  # day and month could be swapped (both <= 12 and different)
    numeric: bool


def _date_fields(match: re.Match[str]) -> dict[str, str | None]:
    return {k: v.translate(DIGIT_LOOKALIKES) if v else v for k, v in match.groupdict().items()}


def find_dates(text: str, order: DateOrder = "DMY") -> list[ParsedDate]:
    """Every date in ``text``; numeric day/month dates are read in ``order``."""
    found = []
    for match in DATE_PATTERN.finditer(text):
        groups = _date_fields(match)
        ambiguous, numeric = False, False
        try:
            if groups["iso"]:
                value = date(int(groups["iso"]), int(groups["isom"]), int(groups["isod"]))  # type: ignore[arg-type]
            elif groups["y"]:
                first, second = int(groups["d"]), int(groups["m"])  # type: ignore[arg-type]
                day, month = (second, first) if order == "MDY" else (first, second)
                value = date(int(groups["y"]), month, day)  # type: ignore[arg-type]
                ambiguous = first <= 12 and second <= 12 and first != second
                numeric = True
            else:
                month = _MONTHS.get((match.group("mon") or "")[:3].lower())
                if month is None:
                    continue
                value = date(int(groups["y2"]), month, int(groups["d2"]))  # type: ignore[arg-type]
        except ValueError:
            continue
        found.append(ParsedDate(value, match.start(), match.end(), ambiguous, numeric))
    return found


def date_order_evidence(text: str) -> DateOrder | None:
    """The day/month order the document's own numeric dates prove, if they agree.

    A date whose first field is above 12 can only be day first (``23/11/2026``);
    one whose second field is above 12 only month first (``11/23/2026``).
    """
    votes = {"DMY": 0, "MDY": 0}
    for match in DATE_PATTERN.finditer(text):
        groups = _date_fields(match)
        if not groups["y"]:
            continue
        try:
            first, second = int(groups["d"]), int(groups["m"])  # type: ignore[arg-type]
        except ValueError:
            continue
        if 12 < first <= 31 and second <= 12:
            votes["DMY"] += 1
        elif 12 < second <= 31 and first <= 12:
            votes["MDY"] += 1
    if votes["DMY"] and not votes["MDY"]:
        return "DMY"
    if votes["MDY"] and not votes["DMY"]:
        return "MDY"
    return None


def parse_date(text: str, order: DateOrder = "DMY") -> tuple[date, int, int] | None:
    """The first date in ``text`` (day first unless ``order="MDY"``) and its span."""
    dates = find_dates(text, order)
    return (dates[0].value, dates[0].start, dates[0].end) if dates else None
