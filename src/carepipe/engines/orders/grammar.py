"""Grammar rules of the rules orders engine beyond the clause reader in ``rules.py``.

History that is not an order ("known case of DM on insulin"), a verb written after the
dose ("Telma 40 stopped"), the scope of "except", "switch A to B" without "from", a change
"from X to Y", and a test named as a condition ("until creatinine improves"). Written on
2026-11-28 (issue 12, third pass) from the known gaps, in general form.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import lexicon, meds
from carepipe.engines.orders.models import Action

_WORD = re.compile(r"[a-z][a-z/-]*", re.I)


def _verb_of(word: str) -> Action | None:
    return lexicon.VERBS.get(word.lower())  # type: ignore[return-value]


# "switch A to B", "replace A with B" (no "from"): only when B follows "to"/"with" at once
# (A's strength may stand between), so "change A to 24 units and B to 1 g" is no switch.
SWITCH_VERB = re.compile(r"\b(?:switch|swap|convert|change|replace)\w*\b", re.I)
SWITCH_TO = re.compile(
    r"\s*(?:\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?|iu)?\s*)?(?:to|with|by)\s+"
    r"(?:(?:tab|cap|inj|syp)\.?\s+)?",
    re.I,
)
# A test named right after "until"/"unless" is a condition on an order, not a test order
# ("hold until creatinine improves"), unless it is to be done ("until K+ is rechecked").
RECHECKED = re.compile(
    r"\s*(?:is|are|gets?|has\s+been|have\s+been)?\s*(?:re-?)?(?:check|test|repeat|do|draw|"
    r"sen[dt])\w*",
    re.I,
)
CONDITION_BEFORE = re.compile(
    r"\b(?:until|till|unless)\s+(?:the\s+|his\s+|her\s+|serum\s+|s\.\s*)?$", re.I
)


# History, not an order: "known case of", "K/C/O", "h/o", "s/p", "known diabetic on ...".
HISTORY = re.compile(
    r"\s*(?:(?:pt|patient|he|she)\s+(?:is\s+)?(?:a\s+)?)?(?:known\s+case\s+of|k/?c/?o\b|"
    r"h/o\b|history\s+of|(?:past\s+)?(?:medical\s+)?history\s*:|pmh\b|s/p\b|"
    r"status\s+post\b|known\s+(?:hypertensive|diabetic|asthmatic|epileptic|"
    r"hypothyroid|ckd|cad|copd|case)\b|(?:already|currently|presently)\s+on\b)",
    re.IGNORECASE,
)
FOLLOW_UP_WORD = re.compile(r"\b(?:f/u|follow[-\s]?up|review|rtc|refer)", re.IGNORECASE)


# Scope: a drug named after "except" is left out of a stop or hold of the rest.
EXCEPT = re.compile(
    r"\b(?:except(?:\s+for)?|other\s+than|apart\s+from|but\s+not|excluding)\b",
    re.IGNORECASE,
)


# A verb after the dose and schedule ("Tab Ecosprin 75 mg - continue", "Glycomet 500
# increased to 1-0-1", "Telma 40 stopped"). Imperatives count only after a dash or a
# colon: "x 5 days then stop" ends a course, and "OD - to continue lifelong" is a duration.
AFTER_DOSE = re.compile(
    r"(?:(?<![\w/])[-\u2013:]\s*(?P<imp>continue|stop|discontinue|hold|"
    r"withhold|omit)|(?<!then\s)(?<!and\s)\b(?P<past>continued|stopped|discontinued|held|"
    r"withheld|increased|reduced|decreased))\b"
    r"(?!\s+(?:if|when|unless|for\s+(?:sbp|bp|hr|pulse)\b))",
    re.IGNORECASE,
)


# "reduce prednisolone from 20 mg to 15 mg": a change names the old dose, then the new.
FROM_TO = re.compile(
    r"\bfrom\s+\d+(?:\.\d+)?\s*(?P<u1>mg|mcg|g|units?|iu|ml)?\s+to\s+"
    r"(?P<dose>\d+(?:\.\d+)?)\s*(?P<u2>mg|mcg|g|units?|iu|ml)?\b",
    re.IGNORECASE,
)
UCUM = {"mg": "mg", "mcg": "mcg", "g": "g", "unit": "[iU]", "units": "[iU]", "iu": "[iU]"}


def to_target(m: meds.MedMention, text: str, end: int) -> None:
    """Give a change written "from X to Y" its new dose Y (the parser read X)."""
    ft = FROM_TO.search(text, m.name_end, end)
    if ft is None:
        return
    unit = (ft.group("u2") or ft.group("u1") or "").lower()
    m.dose = float(ft.group("dose"))
    if unit == "ml":
        m.dose_unit = "mL"
    elif unit:
        m.dose_unit = UCUM.get(unit, m.dose_unit)
    m.strength = m.form_count = None


def excepted(before: str) -> bool:
    """True if the drug after ``before`` is named after "except" with no verb of its own
    ("hold all meds except X"; not "continue home meds except hold X")."""
    found = list(EXCEPT.finditer(before))
    return bool(found) and not any(
        _verb_of(w.group(0)) for w in _WORD.finditer(before[found[-1].end() :])
    )


def verb_after_dose(text: str, pos: int, end: int) -> Action | None:
    """The action of a verb written after the name's dose, before the next drug."""
    m = AFTER_DOSE.search(text, pos, end)
    if m is None:
        return None
    return _verb_of(m.group("imp") or m.group("past"))


def next_start(found: list[meds.MedMention], i: int, text: str) -> int:
    """Where the drug after ``found[i]`` starts (the clause's end for the last one)."""
    return found[i + 1].name_start if i + 1 < len(found) else len(text)
