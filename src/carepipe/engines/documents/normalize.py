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
# (pattern, UCUM unit, factor to the test's canonical unit group, fuzzy?)
_UNIT_RULES: list[tuple[str, str, float, bool]] = [
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:3|³)\s*/\s*[uµμ]\s*" + _L, "10*3/uL", 1.0, False),
    (r"10\S?3\s*/\s*[uµμ]" + _L, "10*3/uL", 1.0, True),  # 10^3 with the caret misread
    (r"(?:thou|K)\s*/\s*[uµμ]" + _L, "10*3/uL", 1.0, False),
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:9|⁹)\s*/\s*" + _L, "10*3/uL", 1.0, False),
    (r"(?:x\s*)?10\s*[\^*]?\s*(?:6|⁶)\s*/\s*[uµμ]\s*" + _L, "10*6/uL", 1.0, False),
    (r"10\S?6\s*/\s*[uµμ]" + _L, "10*6/uL", 1.0, True),
    (r"(?:x\s*)?10\s*[\^*]?\s*12\s*/\s*" + _L, "10*6/uL", 1.0, False),
    (r"mill(?:ion)?s?\s*/\s*(?:cumm|cu\.?\s*mm|mm3|[uµμ]" + _L + r")", "10*6/uL", 1.0, False),
    (r"lakhs?\s*/\s*(?:cumm|cu\.?\s*mm|mm3|[uµμ]" + _L + r")", "10*3/uL", 100.0, False),
    (r"(?:cells\s*)?/\s*(?:cumm|cu\.?\s*mm|mm3|[uµμ]" + _L + r")", "10*3/uL", 0.001, False),
    (r"g(?:m|ms)?\s*/\s*d" + _L + r"|gm?\s*%", "g/dL", 1.0, False),
    (r"mg\s*/\s*d" + _L + r"|mg\s*%", "mg/dL", 1.0, False),
    (r"mmo" + _L + r"\s*/\s*" + _L, "mmol/L", 1.0, False),
    (r"m\s*eq\s*/\s*" + _L, "meq/L", 1.0, False),
    (r"m[I1l]U\s*/\s*" + _L + r"|m\s*[I1l]\s*U\s*/\s*" + _L, "m[IU]/L", 1.0, False),
    (r"(?:[uµμ]|micro)\s*[I1l]\s*U\s*/\s*m" + _L, "m[IU]/L", 1.0, False),
    (r"[I1l]?U\s*/\s*" + _L, "U/L", 1.0, False),
    (r"ng\s*/\s*m" + _L, "ng/mL", 1.0, False),
    (r"pg\s*/\s*m" + _L, "pg/mL", 1.0, False),
    (r"[uµμ]g\s*/\s*d" + _L, "ug/dL", 1.0, False),
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


def parse_date(text: str) -> tuple[date, int, int] | None:
    """The first date in ``text`` (day first, as printed in India) and its span."""
    for match in DATE_PATTERN.finditer(text):
        groups = {k: v.translate(DIGIT_LOOKALIKES) if v else v
                  for k, v in match.groupdict().items()}  # fmt: skip
        try:
            if groups["iso"]:
                value = date(int(groups["iso"]), int(groups["isom"]), int(groups["isod"]))
            elif groups["y"]:
                value = date(int(groups["y"]), int(groups["m"]), int(groups["d"]))
            else:
                month = _MONTHS.get((match.group("mon") or "")[:3].lower())
                if month is None:
                    continue
                value = date(int(groups["y2"]), month, int(groups["d2"]))
        except ValueError:
            continue
        return value, match.start(), match.end()
    return None
