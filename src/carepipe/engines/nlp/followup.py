"""Follow-up instructions: "come back in two weeks", "review after the reports".

>>> f = find_follow_up("come back in two weeks with the reports")[0]
>>> (f.interval, f.conditional)
((2.0, 'wk'), False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.engines.nlp.durations import UNIT_CODES
from carepipe.engines.nlp.numbers import normalize_numbers


@dataclass
class FollowUp:
    """When to come back. ``interval`` is None for "after the reports" or "if it gets worse"."""

    text: str
    start: int
    end: int
    confidence: float
    interval: tuple[float, str] | None = None
    conditional: bool = False  # "come back if ...": a safety-net instruction
    condition: str | None = None


_VERB = (
    r"(?:come back|comeback|come again|come and see (?:me|us)"
    r"|see (?:you|me|us|him|her)(?: again| back)?"
    r"|follow[\s-]?up|f/u|review|return|revisit|recheck|re-check|check back|visit (?:again|us)|"
    r"next (?:visit|appointment|review|follow[\s-]?up)|book (?:an|a) appointment|"
    r"(?:i'll|i will|we'll|we will|let's|let me) see you)"
)
_UNITS = r"(minutes?|hours?|days?|weeks?|wks?|fortnight|months?|years?)"
_QTY = r"(\d+(?:\.\d+)?|a|an|one|a couple of|couple of|a few|few)"
_INTERVAL_RE = re.compile(
    r"\b" + _VERB + r"\b[^.;!?\n]{0,40}?\b(?:in|after|within|for|at)\s+(?:(?:about|around|"
    r"another|the next|a further|exactly)\s+)?" + _QTY + r"\s*" + _UNITS + r"\b(?:'s)?(?:\s+time)?",
    re.IGNORECASE,
)
_INTERVAL_FIRST_RE = re.compile(
    r"\b(?:in|after)\s+"
    + _QTY
    + r"\s*"
    + _UNITS
    + r"(?:'s)?(?:\s+time)?[,\s]+(?:please\s+)?"
    + _VERB
    + r"\b",
    re.IGNORECASE,
)
_RELATIVE_RE = re.compile(
    r"\b" + _VERB + r"\b[^.;!?\n]{0,30}?\b(?P<when>tomorrow|next week|next month|next year|"
    r"in a fortnight|day after tomorrow|next monday|next tuesday|next wednesday|next thursday|"
    r"next friday|next saturday|next sunday)\b",
    re.IGNORECASE,
)
_RELATIVE: dict[str, tuple[float, str]] = {
    "tomorrow": (1, "d"),
    "day after tomorrow": (2, "d"),
    "next week": (1, "wk"),
    "next month": (1, "mo"),
    "next year": (1, "a"),
    "in a fortnight": (2, "wk"),
}
_AFTER_EVENT_RE = re.compile(
    r"\b" + _VERB + r"\b[^.;!?\n]{0,25}?\b(?:after|with|once you have|when you have|once|when)\s+"
    r"(?:the |your |all the )?(?P<event>reports?|results?|tests?|blood (?:tests?|work)|scans?|"
    r"x-?rays?|investigations?|labs?|course)",
    re.IGNORECASE,
)
_CONDITIONAL_RE = re.compile(
    r"\b" + _VERB + r"\b\s*(?:immediately |right away |straight away |sooner |earlier |early )?"
    r"(?:to (?:the )?(?:clinic|hospital|emergency|er)\s+)?(?:if|in case|should)\b"
    r"(?P<cond>[^.;!?\n]{3,80})",
    re.IGNORECASE,
)
_FUZZY = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "a couple of": 2.0,
    "couple of": 2.0,
    "a few": 3.0,
    "few": 3.0,
}


def _interval(qty: str, unit: str) -> tuple[float, str]:
    q = qty.lower()
    value = _FUZZY.get(q) if q in _FUZZY else float(q)
    u = unit.lower().rstrip("s")
    if u == "fortnight":
        return (value or 1) * 2, "wk"
    code = UNIT_CODES.get(u) or UNIT_CODES.get(u[:3]) or UNIT_CODES.get(u[:2], "d")
    return float(value or 1), code


def find_follow_up(text: str) -> list[FollowUp]:
    """Follow-up instructions in ``text``: scheduled ones first found, then safety nets."""
    nt = normalize_numbers(text)
    norm = nt.text
    out: list[FollowUp] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], **kw: object) -> None:
        if any(m.start() < b and m.end() > a for a, b in taken):
            return
        s, e = nt.to_original(m.start(), m.end())
        out.append(FollowUp(text=text[s:e], start=s, end=e, **kw))  # type: ignore[arg-type]
        taken.append((m.start(), m.end()))

    for rx in (_INTERVAL_RE, _INTERVAL_FIRST_RE):
        for m in rx.finditer(norm):
            qty, unit = m.groups()[-2], m.groups()[-1]
            add(m, interval=_interval(qty, unit), confidence=0.9)
    for m in _RELATIVE_RE.finditer(norm):
        add(m, interval=_RELATIVE[m.group("when").lower()], confidence=0.85)
    for m in _AFTER_EVENT_RE.finditer(norm):
        add(m, interval=None, confidence=0.75, condition=f"after {m.group('event').lower()}")
    for m in _CONDITIONAL_RE.finditer(norm):
        add(m, interval=None, confidence=0.8, conditional=True, condition=m.group("cond").strip())
    out.sort(key=lambda f: f.start)
    return out
