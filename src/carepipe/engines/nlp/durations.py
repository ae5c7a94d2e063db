"""Durations and intervals as people say them: "for three days", "since last week", "x 2/52".

Works on text whose numbers are already digits (see ``numbers.normalize_numbers``).
Units follow FHIR/UCUM-ish short codes: ``min``, ``h``, ``d``, ``wk``, ``mo``, ``a`` (years).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_CODES: dict[str, str] = {
    "minute": "min",
    "min": "min",
    "hour": "h",
    "hr": "h",
    "day": "d",
    "night": "d",
    "week": "wk",
    "wk": "wk",
    "fortnight": "wk",
    "month": "mo",
    "year": "a",
    "yr": "a",
}
_UNIT_WORDS = (
    r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|wks?|fortnights?|months?|years?|yrs?)"
)
_QTY = r"(?P<n>\d+(?:\.\d+)?|a|an|one|a couple of|couple of|a few|few|several)"

# "for (the past) 3 days", "since 2 weeks", "x 5 days", "over the last month", "3 days now"
_DURATION_RE = re.compile(
    r"\b(?:for|since|from|over|x|past|last|about|almost|nearly|around|of)\s+"
    r"(?:(?:the|about|almost|nearly|around|over|past|last|more than|less than|at least)\s+)*"
    + _QTY
    + r"\s*(?:more\s+)?(?P<u>"
    + _UNIT_WORDS
    + r")\b",
    re.IGNORECASE,
)
_AGO_RE = re.compile(
    _QTY.replace("(?P<n>", r"\b(?P<n>") + r"\s*(?P<u>" + _UNIT_WORDS + r")\s+(?:ago|back|now|"
    r"duration|old|long|history)\b",
    re.IGNORECASE,
)
# "for the past month", "over the last week": one unit.
_THE_LAST_RE = re.compile(
    r"\b(?:for|over|in|during|since)\s+the\s+(?:past|last|previous)\s+(?P<u>"
    + _UNIT_WORDS
    + r")\b",
    re.IGNORECASE,
)
_SINCE_WORD_RE = re.compile(
    r"\bsince\s+(?P<w>yesterday|last night|this morning|morning|last week|last month|last year"
    r"|the morning|today|a while|childhood|birth)\b",
    re.IGNORECASE,
)
_SINCE_WORDS: dict[str, tuple[float, str]] = {
    "yesterday": (1, "d"),
    "last night": (1, "d"),
    "this morning": (1, "d"),
    "morning": (1, "d"),
    "the morning": (1, "d"),
    "today": (1, "d"),
    "last week": (1, "wk"),
    "last month": (1, "mo"),
    "last year": (1, "a"),
}
_FUZZY_QTY: dict[str, tuple[float, bool]] = {
    "a": (1, True),
    "an": (1, True),
    "one": (1, True),
    "a couple of": (2, False),
    "couple of": (2, False),
    "a few": (3, False),
    "few": (3, False),
    "several": (4, False),
}


@dataclass(frozen=True)
class Duration:
    """How long: ``value`` ``unit``; ``exact`` is False for "a few days"."""

    value: float
    unit: str
    text: str
    start: int
    end: int
    exact: bool = True


def _qty(raw: str) -> tuple[float, bool]:
    raw = raw.lower()
    if raw in _FUZZY_QTY:
        return _FUZZY_QTY[raw]
    return float(raw), True


def _unit(raw: str) -> tuple[str, float]:
    u = raw.lower().rstrip("s")
    if u == "fortnight":
        return "wk", 2.0
    code = UNIT_CODES.get(u) or UNIT_CODES.get(u[:3]) or UNIT_CODES.get(u[:2], "d")
    return code, 1.0


def find_durations(text: str, start: int = 0, end: int | None = None) -> list[Duration]:
    """All durations in ``text[start:end]``, in order (spans in ``text``)."""
    end = len(text) if end is None else end
    out: list[Duration] = []
    for rx in (_DURATION_RE, _AGO_RE):
        for m in rx.finditer(text, start, end):
            n, exact = _qty(m.group("n"))
            unit, mult = _unit(m.group("u"))
            out.append(Duration(n * mult, unit, m.group(0), m.start(), m.end(), exact))
    for m in _THE_LAST_RE.finditer(text, start, end):
        unit, mult = _unit(m.group("u"))
        out.append(Duration(mult, unit, m.group(0), m.start(), m.end(), True))
    for m in _SINCE_WORD_RE.finditer(text, start, end):
        got = _SINCE_WORDS.get(m.group("w").lower())
        if got is not None:
            out.append(Duration(got[0], got[1], m.group(0), m.start(), m.end(), False))
    out.sort(key=lambda d: d.start)
    # Drop overlaps (keep the first, longest).
    kept: list[Duration] = []
    for d in out:
        if kept and d.start < kept[-1].end:
            if d.end - d.start > kept[-1].end - kept[-1].start:
                kept[-1] = d
            continue
        kept.append(d)
    return kept
