"""A clause that finishes the drug named before it: its count and its schedule.

British and US prescriptions often name the product first and say how to take it after a
comma: "Flucloxacillin 500mg capsules, one four times a day for 7 days", "Clenil Modulite
100 micrograms, two puffs twice daily via spacer", "spironolactone 25 mg, half a tablet
once daily", "Hydrocortisone 1% cream, apply thinly twice daily". The second clause names
no drug; it carries the tablet (or puff) count and the schedule of the one before it. A
clause that is only a schedule (", twice weekly"; ", all once daily") is the same rule
without a count. Written on 2026-11-28 (issue 12, fifth pass) in general form; the ninth
pass reads a volume as the dose (", 10 mL TDS") and "into the right ear" as manner.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import lexicon, residue
from carepipe.engines.orders.models import MedicationOrder, Timing
from carepipe.engines.orders.sig import parse_duration, parse_prn, parse_timing
from carepipe.engines.orders.sig_words import (
    COUNTED_FORMS,
    FORMS,
    NUM,
    PRN_PATTERN,
    SOLID,
    alt,
    to_number,
)

# The count at the head of the clause ("one", "2 puffs", "half a tablet", "take 1 tab"),
# read after the shared NLP has written number words as digits ("one" -> "1").
_COUNT = re.compile(
    rf"^\s*(?:(?:take|apply|inhale|use|give|instil+)\s+)?(?P<v>{NUM})\s*(?:a\s+|an\s+)?"
    rf"(?:(?P<f>{alt(FORMS)})\b\.?)?",
    re.IGNORECASE,
)
# "Amoxicillin 125 mg/5 mL suspension, 10 mL TDS": a volume is the dose (ninth pass).
_VOLUME = re.compile(
    rf"^\s*(?:(?:take|give)\s+)?(?P<v>{NUM})\s*(?:ml|mls|millilitres?|milliliters?)\b",
    re.IGNORECASE,
)
# Verbs that tell how to take the drug, not what to do with the order.
_HOW = frozenset({"take", "apply", "inhale", "use", "give", "instil", "instill"})
# Words of the manner of use, beside residue.FILLER ("apply thinly", "via spacer").
_MANNER = frozenset(
    ["thinly", "sparingly", "generously", "gently", "via", "spacer", "using", "with", "times",
     "into",
     # "(max 8 in 24 hours)", "to affected areas", "apply 1 patch daily" (thirteenth pass)
     "max", "maximum", "areas", "patch", "patches",
     # "1 drop both eyes 2-hourly", "apply pea-sized amount to face qhs" (nineteenth pass)
     "hourly", "pea", "sized", "amount", "fingertip", "face", "scalp", "body", "trunk",
     # "4 ml OD x 3 days (wt 16 kg)": the weight the dose was worked from (twenty-first pass)
     "wt", "weight", "kg"]
)  # fmt: skip


def _only_manner(text: str, covered: list[tuple[int, int]]) -> bool:
    """True when every word left over is filler or a word of the manner of use."""
    for s, e in residue.leftovers(text, covered):
        words = re.findall(r"[a-z]+", text[s:e].lower())
        # a run is cut at content words, so filler inside it ("times a day (max") is fine
        if any(w not in _MANNER and w not in residue.FILLER for w in words):
            return False
    return True


def _order_verbs(text: str) -> bool:
    """A verb that acts on an order ("then restart 3 mg OD") makes the clause a step."""
    return any(
        w in lexicon.VERBS and w not in _HOW for w in re.findall(r"[a-z][a-z/-]*", text.lower())
    )


# A weekday right after "daily" is not a day of the schedule (eighteenth pass)
_DAILY_A_DAY = re.compile(
    r"\b(?:daily|every\s+day)\s+(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b", re.I
)


def finish_previous(text: str, targets: list[MedicationOrder]) -> bool:
    """Give ``text``'s count and schedule to ``targets`` (the drug before it, or with
    "all/each/both" every drug of the sentence); True if the clause was read so."""
    if _DAILY_A_DAY.search(text):
        return False  # "Daily SAT" (a trial in the ICU): "daily" on a weekday is no schedule
    timing = parse_timing(text)
    if timing is None and not _order_verbs(text):
        return _counted_as_needed(text, targets)
    if timing is None or _order_verbs(text):
        return False
    volume = _VOLUME.match(text)
    count = None if volume else _COUNT.match(text)
    covered = [count.span()] if count is not None and count.group("v") else []
    if volume is not None:
        covered = [volume.span()]
    need = PRN_PATTERN.search(text)
    if need is not None:
        # "Ibuprofen 100 mg/5 mL, 8 mL PO q6h PRN fever or ear pain": the need the dose
        # waits on is part of the signature (nineteenth pass)
        covered.append((need.start(), len(text)))
    if not _only_manner(text, covered):
        return False
    duration = parse_duration(text)
    if _another_time_of_day(text, timing, targets):
        return True
    # "Calpol 120 mg/5 ml suspension, 10 ml every 4-6 hours when required" (fourteenth
    # pass): the need the schedule waits on is the drug's too
    as_needed, reason = parse_prn(text)
    for med in targets:
        if med.timing is not None or med.steps:
            continue
        med.timing = timing.model_copy()
        if as_needed and not med.as_needed:
            med.as_needed, med.as_needed_for = True, reason
        if med.duration is None and duration is not None:
            med.duration = duration
        if volume is not None and med.dose is None:
            med.dose, med.dose_unit = to_number(volume.group("v")), "mL"
        elif covered and med.form_count is None and count is not None:
            _give_count(med, to_number(count.group("v")), count.group("f"))
    return True


_DOSE_FIRST = re.compile(rf"\s*{NUM}\s*(?:u|units?|iu|mg|mcg|g|ml|tabs?|puffs?)\b", re.I)


def _another_time_of_day(text: str, timing: Timing, targets: list[MedicationOrder]) -> bool:
    """ "Actrapid 8 U before breakfast, 6 U before lunch, 8 U before dinner": a dose at
    another time of day is one more dose a day of the drug before (eleventh pass)."""
    if len(targets) != 1 or not _DOSE_FIRST.match(text):
        return False
    med = targets[0]
    old = med.timing
    if old is None or med.steps or not old.when:
        return False
    # "10 mg on waking, 5 mg at midday and 5 mg at 4 pm": each dose at its own time of day
    # is one more a day (twenty-first pass; the clause's own "and" reads as twice a day)
    doses = len(_DOSE_AT.findall(text))
    if doses > 1 and timing.frequency == doses and timing.periodUnit == "d" and not timing.when:
        med.timing = old.model_copy(update={"frequency": (old.frequency or 1) + doses})
        return True
    if not timing.when:
        return False
    daily = (old.period, old.periodUnit) == (1, "d") and (timing.frequency, timing.period) == (1, 1)
    if not daily or set(timing.when) & set(old.when) or timing.periodUnit != "d":
        return False
    med.timing = old.model_copy(
        update={"frequency": (old.frequency or 1) + 1, "when": [*old.when, *timing.when]}
    )
    return True


_DOSE_AT = re.compile(
    rf"{NUM}\s*(?:u|units?|iu|mg|mcg|g|ml|tabs?|puffs?)\s+(?:at|in|on|before|with)\b", re.I
)


def _counted_as_needed(text: str, targets: list[MedicationOrder]) -> bool:
    """ "Naloxone 4 mg nasal spray, 1 spray PRN opioid overdose", "Paracetamol 500 mg, 2 tabs
    PRN pain": a count with no schedule but as needed (eleventh pass) is the dose, as a
    count with a schedule is."""
    count = _COUNT.match(text)
    form = FORMS.get((count.group("f") or "").lower()) if count else None
    as_needed, reason = parse_prn(text[count.end() :]) if count else (False, None)
    if count is None or form not in (*COUNTED_FORMS, *SOLID) or not as_needed:
        return False
    for med in targets:
        if med.timing is None and not med.as_needed and not med.steps:
            _give_count(med, to_number(count.group("v")), count.group("f"))
            med.as_needed, med.as_needed_for = True, reason
    return True


def _give_count(med: MedicationOrder, value: float, form_word: str | None) -> None:
    """dose = strength x count for a tablet or capsule; a count of puffs is the dose."""
    form = FORMS[form_word.lower()] if form_word else None
    if not 0 < value <= 10:
        return  # "1 4 times a day" reads "1"; a larger number is no count
    med.form_count = value
    if form in COUNTED_FORMS:
        med.dose, med.dose_unit = value, form
    elif (
        med.strength is not None
        and med.strength_unit not in ("%", "mL")
        and form
        in (
            *SOLID,
            None,
        )
    ):
        med.dose = round(med.strength * value, 6)
        med.dose_unit = med.strength_unit
    elif med.strength is None and med.dose is None and (" / " not in med.name or form in SOLID):
        # "Co-codamol 30/500, two tablets QDS": tablets written as such are the dose of a
        # combination too (the lead's settled convention; twenty-first pass)
        med.dose, med.dose_unit = value, form or "tablet"
