"""A drug told as history, then acted on by the next clause (twelfth pass, 2026-11-29).

"Started on ramipril 1.25 mg OD by cardiology last month; increase to 2.5 mg OD now", "Pt is
on Tab Metformin 500 BD. Increase to 1 g BD.", "She is taking ibuprofen 400 mg TDS; stop it":
the first clause tells what the patient is on (history, no order), the next one names no
drug and says what to do with it; or it switches to another drug ("Metformin not tolerated,
switch to sitagliptin 50 mg OD"), which stops the one told. Only one drug told, and only
the clause right after it.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import drugs, lexicon
from carepipe.engines.orders.models import DoseStep, MedicationOrder
from carepipe.engines.orders.sig import continue_steps, parse_route
from carepipe.engines.orders.stopped import ADVISED_TO

_CHANGE = re.compile(
    r"\s*(?:now\s+|please\s+)?(?:increase|decrease|reduce|titrate|uptitrate|change)"
    r"(?:\s+(?:it|the\s+dose|dose))?\s+to\b",
    re.IGNORECASE,
)
# "...; stop it.", "..., continue same", "Hold this.": the whole clause is the verb.
_ACT = re.compile(
    # "Advised to stop." (seventeenth pass): the advice is the stop
    rf"\s*(?:please\s+)?(?:{ADVISED_TO})?"
    r"(?P<verb>stop|discontinue|d/c|hold|withhold|continue|cont)"
    r"(?:\s+(?:it|this|same|them|the\s+same))?"
    # "..., continue for 4 more weeks": how long it goes on
    r"(?:\s+(?:for|x)\s+(?:another\s+)?\d+\s+(?:more\s+)?(?:days?|weeks?|months?))?\s*[.;]?\s*",
    re.IGNORECASE,
)
_RESET = dict.fromkeys(("duration", "strength", "form_count"), None)


# "Metformin not tolerated, switch to sitagliptin 50 mg OD": the drug told is the one the
# switch replaces.
_SWITCH_TO = re.compile(
    r"\s*(?:so\s+|therefore\s+|hence\s+)?(?:switch|change|swap|convert)\w*\s+"
    r"(?:(?:him|her|them|over)\s+)?(?:to|onto)\b",
    re.IGNORECASE,
)


def stopped_by_switch(med: MedicationOrder, clause: str) -> MedicationOrder | None:
    """The stop of ``med`` (told just before) when ``clause`` switches to another drug."""
    if _SWITCH_TO.match(clause) is None:
        return None
    return med.model_copy(update={"action": "stop", "steps": [], **_RESET, "timing": None})


def act_on(med: MedicationOrder, clause: str) -> MedicationOrder | None:
    """The order ``clause`` makes of ``med`` (told just before it), if it makes one."""
    act = _ACT.fullmatch(clause)
    if act is not None:
        # the schedule does not go on (the dose goes too: a stop or hold carries none since
        # the seventeenth pass, ``stopped.without_dose``)
        action = lexicon.VERBS[act.group("verb").lower()]
        update = {"action": action, "steps": []}
        return med.model_copy(
            update=update if action == "continue" else {**update, **_RESET, "timing": None}
        )
    if _CHANGE.match(clause) is None:
        return None
    now = DoseStep(dose=med.dose, dose_unit=med.dose_unit, timing=med.timing, text=med.text)
    more = continue_steps(now, clause, med.dose_unit or drugs.default_unit(med.name))
    if not more or more[0].dose is None:
        return None
    new = more[0]
    update = {"action": "change", "dose": new.dose, "dose_unit": new.dose_unit, "steps": []}
    return med.model_copy(update={**update, **_RESET, "timing": new.timing or med.timing})


# "Day 3 IV flucloxacillin - improving. Switch to oral flucloxacillin 1 g QDS" (sixteenth
# pass): the drug told earlier with no dose, switched to another route, is one change.
_TO_ROUTE_BEFORE = re.compile(
    r"\b(?:switch|change|convert|step\s+down)\w*\s+(?:(?:him|her|them|the\s+patient)\s+)?"
    r"(?:over\s+)?to\s+(?P<route>oral|po|iv|intravenous|im|sc|subcut\w*)\s+(?:(?:tab|cap|inj)\.?\s+)?$"
    # "IV to oral switch: co-amoxiclav 625 mg TDS PO" (seventeenth pass)
    r"|\b(?:iv|intravenous)\s+to\s+(?P<to>oral|po)\s+(?:switch|step[-\s]?down|conversion)\s*:?\s*$",
    re.IGNORECASE,
)


def one_route_switch(original: str, meds: list[MedicationOrder]) -> list[MedicationOrder]:
    """The medications with a switch of route to a drug named before made one change."""
    out = list(meds)
    for m in meds:
        if m.action != "start" or m.span is None:
            continue
        switch = _TO_ROUTE_BEFORE.search(original, max(0, m.span.start - 60), m.span.start)
        if switch is None:
            continue
        told = [
            o
            for o in out
            if o is not m
            and o.name == m.name
            and o.dose is None
            and o.action == "start"
            and o.span is not None
            and o.span.end <= m.span.start
        ]
        if told:
            m.action = "change"
            # Every route word the switch pattern takes is the shared reader's, but for a
            # "subcut..." spelling it does not know.
            route = switch.group("route") or switch.group("to")
            m.route = m.route or parse_route(route) or "subcutaneous"
            out = [o for o in out if all(o is not t for t in told)]
    return out
