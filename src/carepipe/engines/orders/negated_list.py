"""A negation that opens a list covers the whole list (nineteenth pass, 2026-11-29).

"Denies use of NSAIDs, aspirin, or anticoagulants", "Avoid NSAIDs, aspirin or
anticoagulants", "No CXR, CT or MRI": the clause splitter cuts the list at its commas, and
each item after the first used to be read on its own, so the aspirin a patient must avoid
was started. A clinician reads the cue before the first item as governing every item up to
the "or" / "and" / "nor" that ends the list. Only a plain list extends it: items of a few
words with no number (a dose or a value) and no order verb, up to the end of the sentence;
"No fever, start paracetamol 1 g QDS" and "No CXR needed, CT chest tomorrow" are not lists.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import verbs
from carepipe.engines.orders.clauses import Clause
from carepipe.engines.orders.read_state import ReadState

_ITEM = r"[A-Za-z][^,;:.\d()\[\]]{0,40}?"
# The negated clause is the cue and the list's first item only: "No CXR needed, CT chest
# tomorrow" declines the first study alone.
_OPENING = re.compile(
    r"\s*(?:(?:pt|patient)\s+)?(?:no|avoid(?:ing)?|not\s+on|declines?|declined|refuses?"
    r"|refused|denies\s+(?:any\s+)?(?:use\s+of|taking|using)|do\s+not\s+(?:take|use|give))"
    r"\s+(?:any\s+)?(?!.*\b(?:needed|required|indicated|necessary|warranted)\b)" + _ITEM + r"\s*",
    re.IGNORECASE,
)
_LIST_REST = re.compile(
    r"(?:\s*,\s*(?:or\s+|nor\s+|and\s+)?" + _ITEM + r")*"
    r"\s*,?\s*(?:or|nor|and)\s+" + _ITEM + r"\s*[.!]?\s*",
    re.IGNORECASE,
)


def opens(clause: Clause, state: ReadState) -> None:
    """Note that a negated clause opens a plain list: the rest of its sentence is negated."""
    rest = state.sentence_rest.get(clause.start, "")
    if not _OPENING.fullmatch(clause.text):
        return
    if rest.strip() and _LIST_REST.fullmatch(rest) and verbs.first_action(rest) is None:
        state.negated_list = clause.sentence


def goes_on(clause: Clause, state: ReadState) -> bool:
    """True when the clause is a later item of a list a negation opened."""
    return state.negated_list is not None and state.negated_list == clause.sentence
