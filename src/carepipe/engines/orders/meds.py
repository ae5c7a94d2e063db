"""Medication mentions for the orders engine: names, then each one's signature.

Names come from this engine's own table (``drugs``: Indian and US brands, combinations,
abbreviations) and from the shared clinical NLP
(``carepipe.engines.nlp.medications.find_medications``: generics, synonyms, brands, ASR
slips, and whether a mention is negated). If the shared NLP is not importable, a small
built-in drug list finds the generics (``source == "fallback"``). The signature after
each name (dose, tablet count, schedule, steps...) is read by ``sig.parse_sig``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from carepipe.engines.orders import continued, drugs, substances
from carepipe.engines.orders.dose_before import dose_before
from carepipe.engines.orders.models import DoseStep, Quantity, Timing
from carepipe.engines.orders.sig import Sig, parse_sig

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
    name_start: int = 0  # the drug name alone
    name_end: int = 0
    brand: str | None = None
    strength: float | None = None
    strength_unit: str | None = None
    form_count: float | None = None
    unit_assumed: bool = False  # a bare strength ("Telma 40"): the product's, as written
    steps: list[DoseStep] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)  # words the parser used


def source() -> str:
    """Where names come from: "nlp" (shared clinical NLP) or "fallback" (built-in list)."""
    return "nlp" if _nlp_find is not None else "fallback"


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


_ACTION_HINTS = {"increase": "change", "decrease": "change"}
# "saline gargles", "salt water soaks": advice, not a medicine order.
_NOT_A_MEDICINE_AFTER = re.compile(
    r"\s*(?:water\s+)?(?:gargles?|gargling|soaks?|sitz|bath|compress(?:es)?|mouth\s*wash"
    # "Saline nasal douching BD", "sinus rinses" (fifteenth pass): self-care, as gargles are
    r"|(?:(?:nasal|sinus)\s+)?(?:douch\w*|irrigations?|rinses?)|(?:nasal|sinus)\s+wash(?:es)?)\b",
    re.IGNORECASE,
)
# "vit D levels", "digoxin level", "lithium assay": a blood test, not a medicine order.
# "25-OH vit D": the test of it (tenth pass).
# "Check calcium before each dose" (twentieth pass): what is checked is the level
_A_TEST_BEFORE = re.compile(
    r"\b25[-\s]?(?:oh|hydroxy)[-\s]*$|\b(?:check|recheck|monitor)\s+(?:serum\s+|s\.\s*)?$",
    re.IGNORECASE,
)
# What a gargle, soak or bath made at home is made of: advice, not a medicine.
_HOUSEHOLD = frozenset({"sodium chloride", "sodium bicarbonate", "magnesium sulfate"})
# "vitamin D 25-OH" (twelfth pass): the hydroxy form written after the name is the test
_A_TEST_AFTER = re.compile(
    r"\s*(?:(?:(?:trough|peak|random)\s+)?levels?|assay|estimation|trough\b|peak\b(?!\s+flow)"
    r"|[,(]?\s*25[-\s]?(?:oh|hydroxy)\b)",
    re.IGNORECASE,
)
# "Vit D 9.2 ng/ml", "B12 180 pg/mL": a value in a lab unit after the name is the level
# measured, whatever the drug (eighteenth pass); "Vit D 18." too, a bare number that ends
# the item below any dose of vitamin D in IU (the analyte's usual range, under 200).
_LAB_VALUE_AFTER = re.compile(
    r"\s*(?:[:=]\s*|(?:is|was|of)\s+)?\d+(?:\.\d+)?\s*(?:(?:ng|pg)\s*/\s*(?:ml|dl|l)"
    r"|(?:nmol|pmol|mmol|[u\u00b5]mol|mg|ug|mcg|\u00b5g|g|meq|iu|u|miu)\s*/\s*(?:l|dl))\b",
    re.IGNORECASE,
)
_BARE_VALUE_AFTER = re.compile(
    r"\s*(?:[:=]\s*|(?:is|was|of)\s+)?(?P<value>\d{1,3}(?:\.\d+)?)(?=\s*(?:[,;)](?!\d)|\.(?!\d)|$))"
)
_VITAMIN_D = frozenset({"cholecalciferol", "ergocalciferol", "vitamin d", "calcifediol"})


def _level_told(text: str, end: int, generic: str) -> bool:
    """True when the name ending at ``end`` is followed by its measured level."""
    if _LAB_VALUE_AFTER.match(text, end):
        return True
    bare = _BARE_VALUE_AFTER.match(text, end) if generic in _VITAMIN_D else None
    return bare is not None and float(bare.group("value")) < 200


# "Continue basal insulin at 80% of the usual dose", "give half the usual dose" (fifteenth
# pass): a dose told only against one the text does not give; the engine cannot write it
# out, so the drug is not ordered and its clause is listed as not understood.
_SHARE_OF_A_DOSE = (
    r"\b(?:\d+(?:\.\d+)?\s*%|half|0\.5|a\s+third|(?:two|2)[-\s]thirds|(?:three|3)[-\s]quarters"
    r"|[123]/[234])\s+(?:of\s+)?(?:the\s+|his\s+|her\s+|their\s+|your\s+)?(?:usual|normal"
    r"|current|regular|home|previous|outpatient|total\s+daily)\s+(?:daily\s+)?dose\b"
)
# After the drug ("insulin at 80% of the usual dose") or before it ("half the usual dose of
# metformin").
_RELATIVE_DOSE = re.compile(r"[^,;.]{0,25}?" + _SHARE_OF_A_DOSE, re.IGNORECASE)
_RELATIVE_BEFORE = re.compile(
    _SHARE_OF_A_DOSE + r"\s+of\s+(?:the\s+|his\s+|her\s+)?$", re.IGNORECASE
)
# "Iron sucrose 200 mg IV in 100 ml NS over 30 min": the saline carries the drug.
_VEHICLES = frozenset({"sodium chloride", "dextrose", "ringer lactate"})
# "insulin 10 units IV with D50 50 mL": 50% dextrose is given, not a diluent (twenty-first)
_STRONG_DEXTROSE = re.compile(r"d(?:25|50)w?\b|dextrose\s+(?:25|50)\s*%", re.I)
_VEHICLE_BEFORE = re.compile(
    r"\b(?:in|with|diluted\s+in)\s+(?:\d+(?:\.\d+)?\s*(?:ml|cc|l)\s+(?:of\s+)?)?$", re.I
)
# "lansoprazole 15 mg OD while on naproxen": the drug after "while on" times the other
# one; it is not ordered again.
_WHILE_ON_BEFORE = re.compile(
    r"\b(?:while|whilst|as\s+long\s+as)\s+(?:on|taking)\s+(?:the\s+)?$", re.I
)
# "folic acid 5 mg weekly, the day after MTX", "calcium 4 hours apart from levothyroxine":
# a drug named bare to time the other one is not ordered here either.
_TIMED_BY_BEFORE = re.compile(
    r"\b(?:(?:the\s+|a\s+)?(?:day|morning|night|evening)|\d+(?:\.\d+)?\s*(?:h|hrs?|hours?|min|"
    r"mins|minutes?|days?)|(?:an?|one|two|three|four|half\s+an)\s+(?:hours?|days?))\s+"
    r"(?:after|before|following|apart\s+from|away\s+from)\s+(?:the\s+|each\s+|every\s+|"
    r"his\s+|her\s+|your\s+)?"
    # "36 hours after last lisinopril dose", "the day after the final dose of" (sixteenth)
    r"(?:(?:last|first|final|next|previous)\s+)?(?:dose\s+of\s+)?$",
    re.I,
)
# Medical adjectives the shared NLP's fuzzy match reads as a drug ("retinal" as retinol,
# i.e. vitamin A): a spelling slip is not assumed where the word is itself a word.
_WORDS_NOT_DRUGS = frozenset({"retinal", "renal", "dental", "nasal", "rectal", "vaginal", "spinal"})
# Between two drug names, these join them into one combination product; "+" between two
# brands ("Levolin + Budecort nebulisation") gives two products, each a pack of its own
# (twenty-first pass).
_COMBINE_GAP = re.compile(r"^\s*[/+]\s*$|^-$")


@cache
def _products() -> frozenset[frozenset[str]]:
    """The ingredient sets of the combination products this engine's table knows."""
    return frozenset(
        frozenset(p.strip() for p in n.generic.split(" / "))
        for n in drugs.NAMES.values()
        if " / " in n.generic
    )


def _one_product(first: _Name, second: _Name) -> bool:
    """Whether two generics written "a/b" are one product: "ceftriaxone/azithro" is two
    antibiotics given together (no product holds both), "albuterol/ipratropium" is one
    (twenty-first pass). A brand or a product already combined keeps the old reading, and
    so does a hyphen ("lisinopril-hydrochlorothiazide" names a product)."""
    if first.brand or second.brand or first.combination or second.combination:
        return True
    return frozenset({first.generic, second.generic}) in _products()


@dataclass
class _Name:
    generic: str
    start: int
    end: int
    brand: str | None
    default_unit: str
    combination: bool
    confidence: float
    action_hint: str | None = None
    assertion: str | None = None


def _assertion(text: str, start: int, end: int) -> str:
    try:
        from carepipe.engines.nlp.negation import assertion
    except ImportError:  # pragma: no cover - only without the shared NLP
        return "present"
    return assertion(text, start, end)


def _names(text: str) -> list[_Name]:
    """Drug names in ``text``: this engine's own table first, then the shared NLP's."""
    own = [
        _Name(
            generic=h.name.generic,
            start=h.start,
            end=h.end,
            brand=h.surface.strip() if h.name.brand else None,
            default_unit=h.name.default_unit,
            combination=h.name.combination,
            confidence=0.85,
        )
        for h in drugs.find_names(text)
    ]
    own += [
        _Name(
            generic=substance.generic,
            start=h.start,
            end=h.end,
            brand=None,
            default_unit=substance.default_unit,
            combination=False,
            confidence=0.8,
        )
        for h in substances.given_as_medicine(text)
        if (substance := h.substance) is not None
        and not any(h.start < o.end and o.start < h.end for o in own)
    ]
    others: list[_Name] = []
    if _nlp_find is not None:
        # "Calcium 1 g IV": the shared NLP's bare "calcium" is the oral carbonate.
        unnamed = [(h.start, h.end) for h in substances.unnamed_salts(text)]
        for m in _nlp_find(text):
            if any(m.name_start < o.end and o.start < m.name_end for o in own):
                continue
            if any(m.name_start < e and s < m.name_end for s, e in unnamed):
                continue
            if m.matched_by == "fuzzy" and m.surface.strip().lower() in _WORDS_NOT_DRUGS:
                continue
            generic = drugs.canonical_combination(m.name)
            action = getattr(m, "action", None)
            others.append(
                _Name(
                    generic=generic,
                    start=m.name_start,
                    end=m.name_end,
                    brand=m.surface.strip() if m.matched_by == "brand" else None,
                    default_unit=drugs.default_unit(generic),
                    combination=" / " in generic,
                    confidence=0.5 if m.matched_by == "fuzzy" else 0.8,
                    action_hint=_ACTION_HINTS.get(action, action) if action else None,
                    assertion=getattr(m, "assertion", "present"),
                )
            )
    else:
        for name, start, end in _fallback_mentions(text):
            if any(start < o.end and o.start < end for o in own):
                continue
            others.append(_Name(name, start, end, None, drugs.default_unit(name), False, 0.75))
    found = sorted([*own, *others], key=lambda n: n.start)
    merged: list[_Name] = []
    for n in found:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and _COMBINE_GAP.match(text[prev.end : n.start])
            and not (text[prev.end : n.start].strip() == "+" and (prev.brand or n.brand))
            and (text[prev.end : n.start].strip() != "/" or _one_product(prev, n))
        ):
            # "albuterol/ipratropium", "ibuprofen + paracetamol": one product.
            prev.generic = f"{prev.generic} / {n.generic}"
            prev.end = n.end
            prev.combination = True
            prev.brand = prev.brand or n.brand
            continue
        merged.append(n)
    return merged


def find_meds(text: str) -> list[MedMention]:
    """Medications in ``text`` (one clause) with their signatures fully parsed.

    Names come from this engine's table (brands, combinations, abbreviations) and the
    shared clinical NLP (or a small built-in list without it); each drug's signature is
    read from the words after it up to the next drug (``sig.parse_sig``).
    """
    names: list[_Name] = []
    vehicles: list[tuple[int, int]] = []
    for n in _names(text):
        if _A_TEST_AFTER.match(text, n.end) or _A_TEST_BEFORE.search(text, 0, n.start):
            continue
        if _level_told(text, n.end, n.generic):
            continue  # "Vit D 9.2 ng/ml.", "Vit D 18.": the level, a result (eighteenth pass)
        if _NOT_A_MEDICINE_AFTER.match(text, n.end) and n.generic in _HOUSEHOLD:
            continue  # "warm saline gargles"; "betadine gargles" is the antiseptic (tenth pass)
        if _RELATIVE_DOSE.match(text, n.end) or _RELATIVE_BEFORE.search(text, 0, n.start):
            continue  # "basal insulin at 80% of the usual dose": not readable, so listed
        if (
            n.generic in _VEHICLES
            and _VEHICLE_BEFORE.search(text, 0, n.start)
            and not _STRONG_DEXTROSE.match(text, n.start)
        ):
            vehicles.append((n.start, n.end))  # read as part of the drug it carries
            continue
        names.append(n)
    # Parsed (its words are its own, not the drug's before it), then left out below.
    references = {n.start for n in names[1:] if _WHILE_ON_BEFORE.search(text, 0, n.start)}
    timed_by = {n.start for n in names if _TIMED_BY_BEFORE.search(text, 0, n.start)}
    # "Give 25 g glucose IV", "given 1 g paracetamol and 10 mg oral morphine" (tenth pass)
    befores = [
        dose_before(text, names[i - 1].end if i else 0, n.start, i == 0)
        for i, n in enumerate(names)
    ]
    out: list[MedMention] = []
    prev_end = 0
    for i, n in enumerate(names):
        nxt = names[i + 1].start if i + 1 < len(names) else len(text)
        if i + 1 < len(names) and (ahead := befores[i + 1]) is not None:
            nxt = ahead.start  # the next drug's own dose, written before its name
        window = _own_window(text, n.end, nxt, i + 1 == len(names))
        before = text[prev_end : n.start]
        sig = parse_sig(window, before[-60:], n.default_unit, n.combination)
        offset_before = n.start - len(before[-60:])
        start = n.start if sig.before_start is None else offset_before + sig.before_start
        written_before = befores[i]
        if written_before is not None and sig.dose is None and not n.combination:
            sig.dose, sig.dose_unit = written_before.value, written_before.unit
            start = min(start, written_before.start)
        end = max([n.end, *(n.end + e for _s, e in sig.consumed)])
        if _SCALE.match(window):
            # "Lispro correction scale AC & HS": when sugars are checked, no dose schedule
            # (eleventh pass; batch 6's h087 and batch 13's labels give none)
            sig.timing = None
        if continued.repeated_once(sig.timing, window):
            # "Permethrin 5% cream - apply at night, repeat after 1 week": one application
            # at night, given once more (fourteenth pass), not a nightly schedule
            sig.timing = None
        if "unit assumed" in sig.notes and _PATCH_AFTER.match(window):
            # "Evorel 50 patch": the number is the patch's release rate, no dose (eleventh pass)
            sig.dose = sig.dose_unit = None
        if _MADE_UP_AND_RUN.match(window):
            # "Oxytocin 5 U in 500 ml RL @ 8 drops/min": what the bag holds, run at a rate
            # that is titrated; no single dose (eighteenth pass)
            sig.dose = sig.dose_unit = None
        conf = n.confidence
        if "unit assumed" in sig.notes:
            conf -= 0.1
        mention = MedMention(
            name=n.generic,
            start=start,
            end=end,
            dose=sig.dose,
            dose_unit=sig.dose_unit,
            route=sig.route or _default_route(n.generic, sig, before),
            timing=sig.timing,
            as_needed=sig.as_needed,
            as_needed_for=sig.as_needed_for,
            duration=sig.duration,
            confidence=conf,
            action_hint=n.action_hint,
            assertion=n.assertion or _assertion(text, n.start, n.end),
        )
        mention.name_start, mention.name_end = n.start, n.end
        mention.brand = n.brand
        mention.strength, mention.strength_unit = sig.strength, sig.strength_unit
        mention.form_count = sig.form_count
        mention.unit_assumed = "unit assumed" in sig.notes
        mention.steps = sig.steps
        mention.consumed = [(n.end + s, n.end + e) for s, e in sig.consumed]
        out.append(mention)
        prev_end = n.end + len(window)
    bare = {m.name_start for m in out if m.dose is None and m.timing is None}
    references |= timed_by & bare
    for ref in [m for m in out if m.name_start in references]:
        out.remove(ref)
        vehicles.append((ref.start, max(ref.end, ref.name_end)))
    for start, end in vehicles:
        carrier = next((m for m in reversed(out) if m.name_start < start), None)
        if carrier is not None:
            carrier.consumed.append((start, end))
    return out


_INJECTED_SC = ("insulin", "heparin", "enoxaparin")
_SCALE = re.compile(
    r"\s*(?:\(\w+\)\s*)?(?:per\s+|on\s+(?:a\s+)?)?(?:sliding|correction(?:al)?)\s+scale\b", re.I
)
# "Evorel 50 patch", "fentanyl 25 mcg/hr patch": a patch's number is how much it releases
# an hour or a day, not a dose given at once.
_PATCH_AFTER = re.compile(
    r"\s*\d+(?:\.\d+)?\s*(?:(?:mcg|micrograms?|mg)\s*/\s*(?:h|hr|hour|24\s*h(?:ours?|rs?)?|day)\s+)?"
    r"(?:transdermal\s+)?patch(?:es)?\b",
    re.IGNORECASE,
)


_MADE_UP_AND_RUN = re.compile(
    r"\s*\d+(?:\.\d+)?\s*(?:u|units?|iu|mg|mcg|mmol|meq)\s+in\s+\d+\s*(?:ml|l)\b[^,;]*?"
    r"(?:@|\bat\b)\s*\d+(?:\.\d+)?\s*(?:drops?|ml|gtts?|mu|milliunits?)\s*/\s*(?:min|h|hr)",
    re.IGNORECASE,
)


def _default_route(generic: str, sig: Sig, before: str) -> str | None:
    """Insulin and heparins given as "Inj" or in units go under the skin."""
    injected = re.search(r"\binj(?:ection)?\.?\s*$", before.strip().lower() + " ") or (
        sig.dose_unit == "[iU]"
    )
    if generic.startswith(_INJECTED_SC) and injected:
        return "subcutaneous"
    return None
