"""What a stop carries (seventeenth pass, 2026-11-29, batch 19's false positives).

A stop or a hold ends the drug: the corpus labels it with no dose and no schedule (377 of
378 stops and holds in the dev split, and every one in batches 1-4), even where the text
names the dose being stopped ("D/c metoprolol tartrate 25 mg BID", "on amlodipine 5 mg OD -
stop"). The strength stays in the order's text and ``strength``; a stop laid out as steps
("taper off: 10 mg x 1 wk, 5 mg x 1 wk, then stop") keeps them.
"""

from __future__ import annotations

import re

from carepipe.engines.nlp.numbers import NormalizedText
from carepipe.engines.orders.clauses import Clause
from carepipe.engines.orders.models import MedicationOrder

# "... given in ED - no further doses": the drug is not to be given again (eleventh pass).
NO_FURTHER = re.compile(
    r"\bno\s+(?:further|more)\s+(?:doses?|needed|required)\b|\bnot\s+to\s+be\s+repeated\b",
    re.IGNORECASE,
)


def without_dose(medications: list[MedicationOrder]) -> list[MedicationOrder]:
    """``medications`` with the dose and schedule taken off every stop and hold that has no
    steps (the list is changed in place and returned)."""
    for m in medications:
        if m.action in ("stop", "hold") and not m.steps:
            m.dose, m.dose_unit, m.timing = None, None, None
    return medications


# "advised to", "told the patient to": advice that is the order it gives (seventeenth pass).
ADVISED_TO = r"(?:advised|told|asked)\s+(?:(?:him|her|them|the\s+patient|pt)\s+)?to\s+"

# "Has been taking ibuprofen OTC for back pain - advised to stop", "Pt taking St John's wort -
# advised to stop given interaction with sertraline" (seventeenth pass): the advice after
# the dash stops the drugs named before it ("Advised to stop." in a sentence of its own is
# read by ``told``).
_ADVISED_STOP = re.compile(
    rf"\s[-\u2013]\s*(?:{ADVISED_TO})(?:stop|discontinue)\b",
    re.IGNORECASE,
)


def advised_to_stop(
    clause: Clause, norm: NormalizedText, medications: list[MedicationOrder]
) -> None:
    """Make the drugs of ``clause`` named before a dash that advises stopping them stops."""
    m = _ADVISED_STOP.search(clause.text)
    if m is None:
        return
    cue = norm.to_original(clause.start + m.start(), clause.start + m.start())[0]
    for med in medications:
        if med.span is None or med.span.start < cue:
            med.action = "stop"
