"""A change written as "<old sig> to <new sig>" (seventeenth pass, 2026-11-29).

"Change pantoprazole 40 mg IV BID to 40 mg PO daily", "Increase amlodipine 5 mg OD to 10 mg
OD": the order is the signature after "to"; the one before it is what the patient is on.
Only one drug in the clause, already read as a change, and only when a dose follows "to"
("change metformin to sitagliptin" names another drug: a stop and a start). What the new
signature leaves out (its schedule in "... 500 mg BD to 1 g") stays as written before.

Nineteenth pass (2026-11-29): an arrow between two drugs is a switch, as "switch ... to"
is. "IV co-amoxiclav \u2192 PO co-amoxiclav 625 mg tds": the same drug by another route or
signature is one change, with the signature after the arrow; "IV ceftriaxone \u2192 oral
cefuroxime 500 mg BD" stops the first drug and starts the second. Only when the drug before
the arrow has no dose of its own ("Tab A 5 mg \u2192 review" is not a switch).
"""

from __future__ import annotations

import re

from carepipe.engines.orders.models import MedicationOrder
from carepipe.engines.orders.sig import parse_sig

_OLD_TO_NEW = re.compile(
    r"^\s*(?:change|switch|convert|increase|decrease|reduce)\b.*?\d.*?\s(?:to|->)\s+(?P<sig>\d[^;]*)$",
    re.IGNORECASE,
)


_ARROW = re.compile(r"\u2192|->|=>|\u27f6")
_SWITCH_FIRST = re.compile(r"^\s*(?:switch|convert)\b", re.IGNORECASE)


def read_new_sig(clause: str, medications: list[MedicationOrder]) -> None:
    """Give the one change in ``clause`` the signature written after "to"."""
    if len(medications) != 1 or medications[0].action not in ("change", "start"):
        return
    m = _OLD_TO_NEW.search(clause)
    if m is None or (medications[0].action == "start" and not _SWITCH_FIRST.match(clause)):
        return
    # "Switch metoprolol 25 mg BD to 50 mg OD": the same drug switched to a new signature is
    # a change, as "change" is (eighteenth pass; "switch" is no verb of its own)
    medications[0].action = "change"
    med, new = medications[0], parse_sig(m.group("sig"))
    if new.dose is None:
        return
    med.dose, med.dose_unit = new.dose, new.dose_unit
    med.timing = new.timing or med.timing
    med.route = new.route or med.route


def switch_by_arrow(clause: str, medications: list[MedicationOrder]) -> None:
    """Read "<drug> \u2192 <drug> <sig>" in ``clause`` as a switch: one change for the same
    drug, else a stop of the first and a start of the second. ``medications`` is edited."""
    if len(medications) != 2 or _ARROW.search(clause) is None:
        return
    first, second = sorted(medications, key=lambda m: m.span.start if m.span else 0)
    if first.dose is not None or first.timing is not None or first.action != "start":
        return
    if second.action != "start":
        return
    if first.name == second.name:
        medications.remove(first)
        second.action = "change"
    else:
        first.action = "stop"
