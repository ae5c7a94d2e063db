"""A dose written before the drug's name: "Give 25 g glucose IV", "40 mEq potassium
chloride PO", "given 1 g paracetamol and 10 mg oral morphine".

Written on 2026-11-28 (issue 12, tenth pass) for a known gap ("Give 25 g glucose IV"
ordered dextrose with no dose) and batch 12's fluids ("Give 500 mL LR IV bolus now"). The
signature reader looks after the name; an amount with its unit right before the name (an
"of", a route or a form may stand between) is that drug's dose when nothing after the
name gives one. Only at the start of the clause or after a separator ("and", a comma,
"with", "give"): in "Shelcal 500 mg Vitamin D3" the 500 mg is Shelcal's strength, so it
is never taken from the drug before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.engines.orders.sig_words import NUM, STRENGTH_UNITS, to_number

_UNITS = {k: v for k, v in STRENGTH_UNITS.items() if v != "%" and k != "u"}
_UNIT = "|".join(sorted((re.escape(w) for w in _UNITS), key=len, reverse=True))
# "Take two 500 mg paracetamol tablets": a count of tablets before their strength; the
# dose is both together (twenty-first pass)
_AMOUNT = rf"(?:(?P<n>[1-4])\s+)?(?P<v>{NUM})\s*(?P<u>{_UNIT})(?P<perkg>\s*/\s*kg)?"
_BETWEEN = (
    r"(?:of\s+)?(?:(?:iv|i\.v\.|po|oral|im|sc|s/c|sl|inj\.?|injection|tab\.?|tablet|cap\.?"
    r"|capsule)\s+)*"
)
_SEPARATOR = (
    r"(?:[,;+:\n(]|\b(?:and|with|plus|give|given|take|then|also|add|administer|start|infuse"
    r"|bolus)\b)"
)
_FIRST = re.compile(rf"(?:^|{_SEPARATOR})\s*{_AMOUNT}\s+{_BETWEEN}$", re.IGNORECASE)
_LATER = re.compile(rf"{_SEPARATOR}\s*{_AMOUNT}\s+{_BETWEEN}$", re.IGNORECASE)


@dataclass(frozen=True)
class DoseBefore:
    """An amount written before a drug's name, and where it starts in the clause."""

    value: float
    unit: str
    start: int


def dose_before(text: str, gap_start: int, name_start: int, first: bool) -> DoseBefore | None:
    """The amount in ``text[gap_start:name_start]`` that ends right before the name, when
    it opens the clause (``first``) or follows a separator; else ``None``."""
    gap = text[gap_start:name_start]
    m = (_FIRST if first else _LATER).search(gap)
    if m is None:
        return None
    unit = _UNITS[m.group("u").lower()]
    if m.group("perkg"):
        unit = f"{unit}/kg"
    count = int(m.group("n")) if m.group("n") and m.group("u").lower() != "ml" else 1
    start = m.start("n") if count > 1 else m.start("v")
    return DoseBefore(to_number(m.group("v")) * count, unit, gap_start + start)
