"""Medication mentions for the orders engine.

Names, doses and frequencies come from the shared clinical NLP
(``carepipe.engines.nlp.medications.find_medications``) when it is installed. This module
adapts its mentions to the orders model and fills in what orders need beyond it: the
route in FHIR-friendly words, ``periodMax`` ("every 4 to 6 hours"), event timing
(bedtime, with meals), the as-needed reason and the course duration. If the shared NLP
is not importable, a small built-in drug list finds the names (``source == "fallback"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from carepipe.engines.orders.lexicon import TIME_UNITS
from carepipe.engines.orders.models import Quantity, Timing

try:  # the shared NLP is optional at import time: the fallback keeps orders working
    from carepipe.engines.nlp.medications import find_medications as _nlp_find
except ImportError:  # pragma: no cover - exercised only when engines/nlp is absent
    _nlp_find = None


@dataclass
class MedMention:
    """A medication found in a clause, with everything parsed about it."""

    name: str
    start: int
    end: int  # end of the whole mention (name plus its dose/frequency words)
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    timing: Timing | None = None
    as_needed: bool = False
    as_needed_for: str | None = None
    duration: Quantity | None = None
    confidence: float = 0.8
    action_hint: str | None = None  # the shared NLP's own reading of the verb, if any
    assertion: str = "present"  # present | negated | hypothetical | historical | family...


def source() -> str:
    """Where names come from: "nlp" (shared clinical NLP) or "fallback" (built-in list)."""
    return "nlp" if _nlp_find is not None else "fallback"


# --- details parsed from the words of one mention ---------------------------------------

ROUTES: tuple[tuple[str, str], ...] = (
    (r"p\.?o\.?|orally|oral|by\s+mouth|per\s+os|tablets?|tabs?|caps(?:ules?)?", "oral"),
    (r"i\.?v\.?|intravenous(?:ly)?|iv\s+push|ivpb|infusion", "intravenous"),
    (r"s\.?c\.?|s/c|sub-?cut(?:aneous(?:ly)?)?|subq|sq|sub-?q", "subcutaneous"),
    (r"i\.?m\.?|intramuscular(?:ly)?", "intramuscular"),
    (r"s\.?l\.?|sublingual(?:ly)?|under\s+the\s+tongue", "sublingual"),
    (r"inhaled|inhaler|inhalation|nebuli[sz]ed|nebs?|puffs?|mdi", "inhaled"),
    (r"topical(?:ly)?|cream|ointment|gel", "topical"),
    (r"p\.?r\.?|rectal(?:ly)?|suppository", "rectal"),
    (r"transdermal|patch", "transdermal"),
    (r"eye\s+drops?|ophthalmic", "ophthalmic"),
    (r"nasal(?:ly)?|nasal\s+spray|intranasal", "nasal"),
)
_ROUTE_RES = [(re.compile(rf"(?<![\w/])(?:{p})(?![\w/])", re.I), r) for p, r in ROUTES]

_UNIT_WORDS: dict[str, str] = {
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "mgs": "mg",
    "g": "g",
    "gm": "g",
    "gram": "g",
    "grams": "g",
    "mcg": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
    "ug": "mcg",
    "µg": "mcg",
    "ml": "mL",
    "millilitre": "mL",
    "milliliter": "mL",
    "millilitres": "mL",
    "milliliters": "mL",
    "unit": "[iU]",
    "units": "[iU]",
    "u": "[iU]",
    "iu": "[iU]",
    "puff": "puff",
    "puffs": "puff",
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "drop": "drop",
    "drops": "drop",
    "mmol": "mmol",
    "meq": "meq",
    "l": "L",
}
_DOSE = re.compile(
    r"(?<![\w.])(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>"
    + "|".join(sorted((re.escape(u) for u in _UNIT_WORDS), key=len, reverse=True))
    + r")(?![\w])",
    re.I,
)

# (pattern, frequency, period, periodUnit, when)
_FREQ: tuple[tuple[str, int, float, str, str | None], ...] = (
    (r"q\.?i\.?d|qds|four\s+times\s+(?:a\s+day|daily|per\s+day)", 4, 1, "d", None),
    (r"t\.?i\.?d|tds|three\s+times\s+(?:a\s+day|daily|per\s+day)|thrice\s+daily", 3, 1, "d", None),
    (
        r"b\.?i\.?d|bd|twice\s+(?:a\s+day|daily|per\s+day)|two\s+times\s+(?:a\s+day|daily)",
        2,
        1,
        "d",
        None,
    ),
    (
        r"q\.?h\.?s|h\.?s|at\s+bed\s*time|before\s+bed|at\s+night|nightly|every\s+night|nocte",
        1,
        1,
        "d",
        "HS",
    ),
    (r"every\s+morning|each\s+morning|in\s+the\s+morning|q\.?am|mane", 1, 1, "d", "MORN"),
    (r"every\s+evening|in\s+the\s+evening|q\.?pm", 1, 1, "d", "EVE"),
    (
        r"q\.?d|o\.?d|once\s+(?:a\s+day|daily)|daily|every\s+day|per\s+day|a\s+day|/day",
        1,
        1,
        "d",
        None,
    ),
    (r"every\s+other\s+day|alternate\s+days|q\.?o\.?d", 1, 2, "d", None),
    (r"weekly|once\s+(?:a|per)\s+week|every\s+week", 1, 1, "wk", None),
    (r"monthly|once\s+(?:a|per)\s+month|every\s+month", 1, 1, "mo", None),
    (
        r"with\s+(?:each\s+|every\s+)?meals?|a\.?c\.?(?=\s|$)|before\s+(?:each\s+)?meals",
        3,
        1,
        "d",
        "C",
    ),
)
_FREQ_RES = [
    (re.compile(rf"(?<![\w/])(?:{p})(?![\w])", re.I), f, per, u, w) for p, f, per, u, w in _FREQ
]
_EVERY = re.compile(
    r"(?:every|q)\s*(?P<p>\d+(?:\.\d+)?)(?:\s*(?:to|-|\u2013)\s*(?P<pmax>\d+(?:\.\d+)?))?\s*"
    r"(?P<unit>hours?|hrs?|h|minutes?|mins?|days?|d|weeks?|wks?)(?![\w])",
    re.I,
)
_TIMES_PER = re.compile(r"(?P<n>\d+)\s*(?:times|x)\s*(?:a|per|/)\s*(?P<unit>day|week|month)", re.I)
_PRN = re.compile(
    r"\b(?:p\.?r\.?n\.?|as\s+needed|as\s+required|when\s+required|if\s+needed|when\s+needed|sos)"
    r"(?:\s+(?:for\s+)?(?P<reason>(?!for\b)[a-z][a-z ]*?))?"
    r"(?=$|[,.;]|\s+(?:and|then|for|every|q\d)\b)",
    re.I,
)
_DURATION = re.compile(
    r"\b(?:for|x|times|over)\s*(?:a\s+total\s+of\s+|another\s+|the\s+next\s+)?"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>days?|d|weeks?|wks?|months?|mos?)\b",
    re.I,
)


def parse_dose(text: str) -> tuple[float, str] | None:
    """First "500 mg"-like dose in ``text``: (value, normalised unit)."""
    m = _DOSE.search(text)
    if m is None:
        return None
    return float(m.group("value")), _UNIT_WORDS[m.group("unit").lower()]


def parse_route(text: str) -> str | None:
    """Route words ("po", "IV", "subcut", "by mouth") -> oral, intravenous, ..."""
    best: tuple[int, str] | None = None
    for rx, route in _ROUTE_RES:
        m = rx.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), route)
    return best[1] if best else None


def parse_timing(text: str) -> Timing | None:
    """Frequency words and abbreviations -> FHIR Timing.repeat fields."""
    m = _EVERY.search(text)
    if m:
        unit = TIME_UNITS[m.group("unit").lower()]
        pmax = float(m.group("pmax")) if m.group("pmax") else None
        return Timing(frequency=1, period=float(m.group("p")), periodMax=pmax, periodUnit=unit)  # type: ignore[arg-type]
    m2 = _TIMES_PER.search(text)
    if m2:
        unit = {"day": "d", "week": "wk", "month": "mo"}[m2.group("unit").lower()]
        return Timing(frequency=int(m2.group("n")), period=1, periodUnit=unit)  # type: ignore[arg-type]
    hits = []
    for rx, f, per, u, when in _FREQ_RES:
        mm = rx.search(text)
        if mm:
            hits.append((mm.start(), f, per, u, when))
    if not hits:
        return None
    # The explicit count wins over a meal/bedtime hint ("BD with meals" is twice a day);
    # a bedtime/morning hint alone means once a day at that time.
    counted = [h for h in hits if h[4] is None]
    chosen = min(counted or hits)
    when_codes = sorted({h[4] for h in hits if h[4] is not None and h[1] == chosen[1]})
    return Timing(
        frequency=chosen[1],
        period=chosen[2],
        periodUnit=chosen[3],  # type: ignore[arg-type]
        when=when_codes or None,
    )


def parse_prn(text: str) -> tuple[bool, str | None]:
    """(as_needed, reason)."""
    m = _PRN.search(text)
    if m is None:
        return False, None
    reason = (m.group("reason") or "").strip() or None
    return True, reason


def parse_duration(text: str) -> Quantity | None:
    """ "for 7 days" -> Quantity(7, d)."""
    m = _DURATION.search(text)
    if m is None:
        return None
    return Quantity(value=float(m.group("value")), unit=TIME_UNITS[m.group("unit").lower()])  # type: ignore[arg-type]


# --- fallback names (used only without the shared NLP) -----------------------------------

_FALLBACK_NAMES = (
    "metformin lisinopril amlodipine atorvastatin rosuvastatin simvastatin paracetamol "
    "acetaminophen ibuprofen naproxen aspirin clopidogrel warfarin apixaban rivaroxaban "
    "heparin enoxaparin omeprazole pantoprazole esomeprazole ranitidine famotidine "
    "amoxicillin azithromycin doxycycline ciprofloxacin levofloxacin ceftriaxone cephalexin "
    "nitrofurantoin metronidazole clindamycin vancomycin prednisone prednisolone "
    "dexamethasone hydrocortisone methylprednisolone levothyroxine losartan valsartan "
    "telmisartan ramipril enalapril metoprolol atenolol bisoprolol carvedilol propranolol "
    "furosemide hydrochlorothiazide spironolactone chlorthalidone gabapentin pregabalin "
    "sertraline fluoxetine escitalopram citalopram amitriptyline duloxetine morphine "
    "oxycodone tramadol codeine hydromorphone ondansetron metoclopramide salbutamol "
    "albuterol budesonide fluticasone montelukast glipizide glimepiride gliclazide "
    "sitagliptin empagliflozin dapagliflozin liraglutide semaglutide insulin cetirizine "
    "loratadine diphenhydramine lorazepam diazepam alprazolam zolpidem quetiapine "
    "olanzapine risperidone haloperidol allopurinol colchicine folic acid ferrous sulfate "
    "potassium chloride magnesium sulfate vitamin d cholecalciferol calcium carbonate "
    "digoxin diltiazem verapamil nifedipine hydralazine isosorbide nitroglycerin tamsulosin "
    "finasteride alendronate methotrexate hydroxychloroquine lactulose senna docusate"
)
_MULTI = ("folic acid", "ferrous sulfate", "potassium chloride", "magnesium sulfate", "vitamin d")
_INSULIN = r"insulin(?:\s+(?:glargine|lispro|aspart|detemir|degludec|regular|nph))?"


def _fallback_names() -> re.Pattern[str]:
    words = set(_FALLBACK_NAMES.split()) - {w for m in _MULTI for w in m.split()} - {"insulin"}
    alts = sorted([*words, *(m.replace(" ", r"\s+") for m in _MULTI)], key=len, reverse=True)
    return re.compile(r"\b(?:" + _INSULIN + "|" + "|".join(alts) + r")\b", re.I)


_FALLBACK_RE = _fallback_names()


def _fallback_mentions(text: str) -> list[tuple[str, int, int]]:
    return [
        (re.sub(r"\s+", " ", m.group(0).lower()), m.start(), m.end())
        for m in _FALLBACK_RE.finditer(text)
    ]


def _own_window(text: str, start: int, next_start: int, is_last: bool) -> str:
    window = text[start:next_start]
    if not is_last:
        # A signature belongs to this drug only up to an "and" that starts a new item.
        window = re.split(r"\s+(?:and|then)\s+(?=\D)", window, maxsplit=1)[0]
    return window


def find_meds(text: str) -> list[MedMention]:
    """Medications in ``text`` with dose, route, timing, PRN and duration filled in.

    With the shared NLP, its mentions are used as they are and only completed
    (``periodMax``, the as-needed reason). Without it, names come from a small list and
    each drug's details are read from the words up to the next drug.
    """
    if _nlp_find is not None:
        found = sorted(_nlp_find(text), key=lambda m: m.start)
        return [
            _from_nlp(text, m, found[i + 1].start if i + 1 < len(found) else len(text))
            for i, m in enumerate(found)
        ]
    raw = _fallback_mentions(text)
    out: list[MedMention] = []
    for i, (name, start, _end) in enumerate(raw):
        nxt = raw[i + 1][1] if i + 1 < len(raw) else len(text)
        window = _own_window(text, start, nxt, i + 1 == len(raw))
        details = window[len(name) :] if window.lower().startswith(name) else window
        mention = MedMention(
            name=name, start=start, end=start + len(window.rstrip()), confidence=0.75
        )
        got = parse_dose(details)
        if got:
            mention.dose, mention.dose_unit = got
        mention.route = parse_route(details)
        mention.timing = parse_timing(details)
        mention.as_needed, mention.as_needed_for = parse_prn(details)
        mention.duration = parse_duration(details)
        out.append(mention)
    return out


_ACTION_HINTS = {"increase": "change", "decrease": "change"}


def _from_nlp(text: str, m: Any, next_start: int) -> MedMention:
    """Adapt one shared-NLP ``MedicationMention``; add what orders need beyond it."""
    window = _own_window(text, m.start, max(next_start, m.end), next_start >= len(text))
    timing = None
    if m.timing is not None and m.timing.period_unit in ("s", "min", "h", "d", "wk", "mo", "a"):
        timing = Timing(
            frequency=int(m.timing.frequency),
            period=float(m.timing.period),
            periodUnit=m.timing.period_unit,
            when=list(m.timing.when) or None,
        )
        own = parse_timing(window)
        if own is not None and own.periodMax is not None and own.period == timing.period:
            timing.periodMax = own.periodMax  # "every 4 to 6 hours"
    duration = None
    if m.duration is not None and m.duration[1] in ("h", "d", "wk", "mo") and m.duration[0] > 0:
        duration = Quantity(value=float(m.duration[0]), unit=m.duration[1])
    prn_reason = parse_prn(window)[1] if m.as_needed else None
    action = getattr(m, "action", None)
    return MedMention(
        name=m.name,
        start=m.start,
        end=m.end,
        dose=m.dose,
        dose_unit=m.dose_unit,
        route=m.route,
        timing=timing,
        as_needed=bool(m.as_needed),
        as_needed_for=prn_reason,
        duration=duration,
        confidence=float(m.confidence),
        action_hint=_ACTION_HINTS.get(action, action) if action else None,
        assertion=getattr(m, "assertion", "present"),
    )
