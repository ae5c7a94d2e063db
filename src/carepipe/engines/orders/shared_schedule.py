"""One schedule written for several drugs: "..., all 0-0-1", "A 1 respule + B 1 respule TDS".

Moved out of ``rules.py`` on 2026-11-28 (ninth pass) so that the clause reader stays within
its size; the rules are unchanged.
"""

from __future__ import annotations

import re

from carepipe.engines.orders.models import MedicationOrder
from carepipe.engines.orders.sig import parse_duration, parse_timing

# "Tab A 75, Tab B 75, Tab C 40 - all 0-0-1": one schedule for every drug of the list.
_PLUS = re.compile(r"\S\s*\+\s*(?:inj\.?\s+|tab\.?\s+|neb\.?\s+)?[A-Za-z]", re.I)
SHARED = re.compile(r"\b(?:all|each|both)\b(?:\s+(?:to\s+be\s+)?(?:taken|given))?", re.I)


def share_schedule(text: str, meds_of_sentence: list[MedicationOrder]) -> None:
    """Give a schedule written once for a list ("..., all 0-0-1") to the drugs without one."""
    m = SHARED.search(text)
    if m is None:
        return
    rest = text[m.end() :]
    timing = parse_timing(rest)
    if timing is None:
        return
    duration = parse_duration(rest)
    for med in meds_of_sentence:
        if med.timing is None and not med.steps and med.action in ("start", "continue", "change"):
            med.timing = timing.model_copy()
            if med.duration is None and duration is not None:
                med.duration = duration


def share_joined(text: str, meds_of_clause: list[MedicationOrder]) -> None:
    """ "Levolin 1 respule + Budecort 1 respule TDS": drugs given together share the
    schedule written after the last of them."""
    if len(meds_of_clause) < 2 or not _PLUS.search(text):
        return
    last = meds_of_clause[-1]
    if last.timing is None:
        return
    for med in meds_of_clause[:-1]:
        if med.timing is None and not med.steps and med.action == last.action:
            med.timing = last.timing.model_copy()


def share_as_needed(meds_of_clause: list[MedicationOrder]) -> None:
    """ "Paracetamol and ibuprofen as needed": drugs named with no dose before an
    as-needed written once are all as needed (eleventh pass)."""
    if len(meds_of_clause) < 2:
        return
    last = meds_of_clause[-1]
    if not last.as_needed or last.dose is not None or last.timing is not None:
        return
    for med in meds_of_clause[:-1]:
        if med.dose is None and med.timing is None and not med.as_needed and not med.steps:
            med.as_needed = True
            med.as_needed_for = last.as_needed_for
