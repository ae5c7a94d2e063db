"""Dose steps laid out from a rule written once (split out of ``sig.py`` in the sixteenth
pass, 2026-11-29): a taper down by a fixed amount ("taper by 5 mg every week") and a
titration up to a written target ("increase by 1.25 mg every 2 weeks to 5 mg")."""

from __future__ import annotations

import re

from carepipe.engines.orders.lexicon import TIME_UNITS
from carepipe.engines.orders.models import DoseStep, Quantity
from carepipe.engines.orders.sig_words import MAX_TAPER_STEPS, to_number


def _every(m: re.Match[str]) -> Quantity:
    """How often a step is taken: "every 2 weeks", "each week", "/d"."""
    per_n = float(m.group("n")) if m.group("n") else 1.0
    per = TIME_UNITS.get(m.group("per").lower()) or TIME_UNITS.get(m.group("per").lower()[:2], "d")
    return Quantity(value=per_n, unit=per)  # type: ignore[arg-type]


def expand_taper(start: DoseStep, m: re.Match[str]) -> list[DoseStep]:
    """ "taper by 5 mg every week" from 30 mg: 25, 20, 15, 10, 5 mg a week each."""
    if start.dose is None:
        return []
    step = to_number(m.group("step"))
    floor = to_number(m.group("floor")) if m.group("floor") else step
    if step <= 0 or step >= start.dose:
        return []
    every = _every(m)
    if start.duration is None:
        start.duration = every
    out: list[DoseStep] = []
    dose = start.dose - step
    while dose >= floor - 1e-9 and dose > 0 and len(out) < MAX_TAPER_STEPS:
        out.append(
            DoseStep(
                dose=round(dose, 6),
                dose_unit=start.dose_unit,
                timing=start.timing.model_copy() if start.timing else None,
                duration=every,
                text=m.group(0),
            )
        )
        dose -= step
    return out


def expand_titration(start: DoseStep, m: re.Match[str]) -> list[DoseStep]:
    """ "increase by 1.25 mg every 2 weeks to 5 mg" from 1.25 mg: 2.5 and 3.75 mg for two
    weeks each, then 5 mg (the target has no end)."""
    if m.group("ceil") is None:
        return []  # no target written: the steps cannot be laid out
    step, ceiling = to_number(m.group("step")), to_number(m.group("ceil"))
    if (m.group("cu") or "").lower() == "g" and start.dose_unit == "mg":
        ceiling *= 1000  # "to max 2 g" from 500 mg
    if start.dose is None or step <= 0 or ceiling <= start.dose:
        return []
    every = _every(m)
    out: list[DoseStep] = []
    dose = start.dose + step
    while dose <= ceiling + 1e-9 and len(out) < MAX_TAPER_STEPS:
        timing = start.timing.model_copy() if start.timing else None
        out.append(DoseStep(dose=round(dose, 6), dose_unit=start.dose_unit, timing=timing,
                            duration=every, text=m.group(0)))  # fmt: skip
        dose += step
    if out:
        out[-1].duration = None
        if start.duration is None:
            start.duration = every
    return out
