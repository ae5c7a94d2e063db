"""The medication verbs of a clause and the action each gives (start, stop, hold, ...).

Moved out of ``rules.py`` on 2026-11-28 (ninth pass) so that the clause reader stays
within its size. Ninth pass: "d/c home" is a discharge, not a stop.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import lexicon
from carepipe.engines.orders.models import Action

_WORD = re.compile(r"[a-z][a-z/-]*|[↑↓]", re.I)  # "Amlodipine ↑ to 10 mg": a change

# "hold if SBP < 100", "hold for HR < 55": a condition on the order, not a hold.
CONDITIONAL_HOLD = re.compile(
    r"\b(?:hold|withhold|omit|skip)\s+(?:the\s+dose\s+)?(?:if|when|for\s+(?:sbp|bp|hr|pulse|"
    r"heart\s+rate|blood\s+pressure|sugar|glucose|rbs|fbs)\b)",
    re.IGNORECASE,
)


# "d/c home", "DC to rehab": a discharge, not a stop (ninth pass).
_DISCHARGED = re.compile(r"(?:'d)?\s+(?:home|to\s+(?:home|rehab|snf|the\s+ward|ward))\b", re.I)


def _verb_of(word: str) -> Action | None:
    return lexicon.VERBS.get(word.lower())  # type: ignore[return-value]


def as_action(word: str | None) -> Action | None:
    """``word`` if it names an action, else None."""
    if word in ("start", "stop", "continue", "change", "hold"):
        return word  # type: ignore[return-value]
    return None


def hint(word: str | None, before: str) -> Action | None:
    """The shared NLP's reading of the verb, unless it took "d/c home" for a stop."""
    if word == "stop" and _DISCHARGE_BEFORE.search(before):
        return None
    return as_action(word)


_DISCHARGE_BEFORE = re.compile(r"\b(?:d/c|dc)" + _DISCHARGED.pattern, re.I)


def _verbs(text: str, end: int | None = None) -> list[Action]:
    """Actions of the verbs in ``text[:end]``, skipping conditional holds."""
    out: list[Action] = []
    for m in _WORD.finditer(text, 0, len(text) if end is None else end):
        action = _verb_of(m.group(0))
        if action is None:
            continue
        if action == "hold" and CONDITIONAL_HOLD.match(text, m.start()):
            continue
        if m.group(0).lower() in ("d/c", "dc") and _DISCHARGED.match(text, m.end()):
            continue
        if m.group(0).lower() == "rx" and _TOLD_RX.search(text, 0, m.start()):
            continue  # "Current Rx Tab Glycomet ...": what is taken now (eighteenth pass)
        out.append(action)
    return out


_TOLD_RX = re.compile(r"\b(?:current|present|ongoing|old|previous|usual)\s+$", re.IGNORECASE)
_RIGHT_AFTER = re.compile(r"\s*(?:[-\u2013:,]\s*)?(?P<verb>[a-z][a-z/-]*|[↑↓])", re.IGNORECASE)


def right_after(text: str, pos: int) -> Action | None:
    """ "Warfarin hold x 2 days", "aspirin - stop": a verb right after the name."""
    m = _RIGHT_AFTER.match(text, pos)
    if m is None:
        return None
    action = _verb_of(m.group("verb"))
    if action == "hold" and CONDITIONAL_HOLD.match(text, m.start("verb")):
        return None
    return action


def first_action(text: str) -> Action | None:
    """The action of the clause's first verb."""
    found = _verbs(text)
    return found[0] if found else None


def action_before(text: str, pos: int) -> Action | None:
    """The action of the last verb before ``pos`` in the clause."""
    found = _verbs(text, pos)
    return found[-1] if found else None
