"""Orders a later clause takes back or declines (split out of ``rules.py`` on 2026-11-29,
nineteenth pass, to keep it under 600 lines; the rules are the ninth and eleventh passes').

- a plan for later that the next clause declines for now is negated, not only listed;
- what the clause before proposed is withdrawn when the patient turns it down.
"""

from __future__ import annotations

from carepipe.engines.orders import not_orders
from carepipe.engines.orders.models import OrderSet
from carepipe.engines.orders.read_state import ReadState


def decline_deferred(out: OrderSet, state: ReadState, found: OrderSet, clause: str) -> None:
    """ "Will consider colonoscopy ...; not scheduling today", "I would consider an MRI, but
    this is not needed at present": a plan for later that the next clause declines for now
    is negated, not merely listed (ninth pass)."""
    if state.deferred is None or state.deferred[0] < state.seen - 2:
        return
    if state.proposed is not None and state.proposed[0] > state.deferred[0]:
        return  # an order came between ("STOP-BANG 2" may: twelfth pass)
    if found.order_count or not not_orders.declines_for_now(clause):
        return
    text = state.deferred[1]
    if text in out.not_understood:
        out.not_understood.remove(text)
        out.negated.append(text)
    state.deferred = None


def withdraw_refused(out: OrderSet, state: ReadState) -> bool:
    """Take back what the clause just before proposed, when the patient turns it down
    ("Advised CAG, patient not willing at present"): its tests and its drugs with no dose
    (a prescription written out is not withdrawn). True if anything was."""
    if state.proposed is None or state.proposed[0] != state.seen - 1:
        return False
    _seen, text, found = state.proposed
    services = [s for s in found.services if s in out.services]
    meds = [m for m in found.medications if m.dose is None and m in out.medications]
    if not services and not meds:
        return False
    for s in services:
        out.services.remove(s)
    for m in meds:
        out.medications.remove(m)
    out.negated.append(text)
    state.proposed = None
    return True
