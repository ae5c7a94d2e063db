"""Drugs listed with no verb, continued by a later or trailing "continue" (fourteenth pass).

"Tab Met XL 25 1-0-0 / Tab Storvas 20 0-0-1 / All to continue": a clause that continues
every drug listed before it with no verb of its own; "levothyroxine 50 micrograms OD and
amlodipine 5 mg OD - continue": a continue that ends a clause with no other verb goes on
with each of its drugs, not only the last. Written on 2026-11-29 from batch 16's misses,
kept out of ``rules.py`` to keep it under 600 lines.

Also here: "Permethrin 5% cream - apply at night, repeat after 1 week" is one application
at night, given once more, not a nightly schedule.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import verbs
from carepipe.engines.orders.models import Action, MedicationOrder, OrderSet, Timing
from carepipe.engines.orders.read_state import ReadState

_ALL_CONTINUE = re.compile(
    r"\s*(?:all\s+(?:(?:of\s+)?(?:the\s+)?above\s+|(?:of\s+)?these\s+"
    r"|(?:the\s+)?(?:medications|meds|medicines|drugs)\s+)?(?:(?:are\s+)?to\s+)?(?:be\s+)?"
    r"(?:continued|continue|cont\.?)(?:\s+(?:as\s+before|unchanged))?"
    r"|continue\s+(?:(?:all\s+)?(?:of\s+)?(?:the\s+)?above|all\s+(?:of\s+)?these)"
    r"(?:\s+(?:medications|meds|medicines|drugs))?)\s*[.;]?\s*",
    re.IGNORECASE,
)
_TRAILING_CONTINUE = re.compile(
    r"\s[-\u2013]\s*(?:to\s+)?(?:continue|cont\.?)(?:\s+(?:both|all|same|the\s+same"
    r"|as\s+before|unchanged))?\s*[.;]?\s*$",
    re.IGNORECASE,
)


# "... on sertraline 100 mg, which he should continue" (eighteenth pass): the drug just
# named goes on
_WHICH_CONTINUES = re.compile(
    r"\s*(?:which|that)\s+(?:(?:he|she|they|the\s+patient|pt)\s+)?(?:should|will|can|must"
    r"|(?:is|are)\s+to)\s+(?:be\s+continued|continue)(?:\s+(?:at\s+the\s+same\s+dose"
    r"|unchanged|as\s+before))?\s*[.;]?\s*",
    re.IGNORECASE,
)


def all_continue(text: str, state: ReadState) -> bool:
    """Continue the drugs listed so far with no verb, when ``text`` says "All to continue";
    the drug just before, when it says "which he should continue"."""
    last = state.last_med
    if _WHICH_CONTINUES.fullmatch(text) and last and last[0] == state.clause_no - 1:
        told = state.proposed[1] if state.proposed else ""
        if last[1].action == "start" and verbs.first_action(told) is None:
            last[1].action = "continue"  # "Start X, which should be continued" stays a start
        return True
    if not state.unverbed or not _ALL_CONTINUE.fullmatch(text):
        return False
    for m in state.unverbed:
        if m.action == "start":
            m.action = "continue"
    state.unverbed = []
    return True


def continue_listed(text: str, found: OrderSet, earlier: Action | None) -> None:
    """Continue each drug of a clause that ends "- continue" and has no other verb."""
    m = _TRAILING_CONTINUE.search(text)
    if m is None or earlier is not None or verbs.first_action(text[: m.start()]) is not None:
        return
    for med in found.medications:
        if med.action == "start":
            med.action = "continue"


# "repeat after 1 week", "repeat in 2 weeks": a single dose given once more (fourteenth pass)
_REPEAT_ONCE = re.compile(
    r"\brepeat(?:ed)?\s+(?:once\s+)?(?:after|in)\s+(?:\d+|one|two|a)\s*(?:days?|weeks?|wks?)\b",
    re.IGNORECASE,
)


def _time_of_day_only(timing: Timing | None) -> bool:
    """True when ``timing`` is only a time of day ("at night"), once a day."""
    return (
        timing is not None
        and bool(timing.when)
        and timing.frequency == 1
        and timing.period == 1
        and timing.periodUnit == "d"
    )


def repeated_once(timing: Timing | None, text: str) -> bool:
    """True when ``text`` repeats a dose once ("repeat after 1 week") whose ``timing`` is
    only a time of day: the time of one application, no schedule."""
    return _time_of_day_only(timing) and _REPEAT_ONCE.search(text) is not None


def repeat_clause(text: str, med: MedicationOrder) -> bool:
    """A drug-less clause ", repeat after 1 week" after ``med``: its time of day is the
    time of one application (the timing is dropped); True when the clause was that."""
    if _REPEAT_ONCE.fullmatch(text.strip(" .;")) is None:
        return False
    if _time_of_day_only(med.timing):
        med.timing = None
    return True


def ordered_before(medications: list[MedicationOrder]) -> list[MedicationOrder]:
    """``medications`` without a bare start or continue of a drug the same text orders
    with a dose, nor a second bare order of a drug already named so (twenty-first pass).
    "Clopidogrel 300 mg loading, then 75 mg OD; aspirin for 2 weeks, then stop and continue
    clopidogrel alone": one clopidogrel order; "Vanc + Zosyn for HCAP. Zosyn 4.5 g IV q6h":
    one of each. The bare mention names the order written elsewhere; it is not another."""
    out: list[MedicationOrder] = []
    for i, m in enumerate(medications):
        if m.action in ("start", "continue") and m.dose is None and m.timing is None:
            same = [o for j, o in enumerate(medications) if j != i and o.name == m.name]
            if any(o.action in ("start", "change") and o.dose for o in same) or any(
                o.action == m.action and o.dose is None and o.timing is None
                for o in out
                if o.name == m.name
            ):
                continue
        out.append(m)
    return out
