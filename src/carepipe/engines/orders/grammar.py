"""Grammar rules of the rules orders engine beyond the clause reader in ``rules.py``.

History that is not an order ("known case of DM on insulin"), a verb written after the
dose ("Telma 40 stopped"), the scope of "except", "switch A to B" without "from", a change
"from X to Y", and a test named as a condition ("until creatinine improves"). Written on
2026-11-28 (issue 12, third pass) from the known gaps, in general form.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import lexicon, meds, sig
from carepipe.engines.orders.models import Action

_WORD = re.compile(r"[a-z][a-z/-]*", re.I)


def _verb_of(word: str) -> Action | None:
    return lexicon.VERBS.get(word.lower())  # type: ignore[return-value]


# "switch A to B", "replace A with B" (no "from"): only when B follows "to"/"with" at once
# (A's strength may stand between), so "change A to 24 units and B to 1 g" is no switch.
# "Narrow Zosyn to ceftriaxone", "de-escalate meropenem to ..." (ninth pass)
SWITCH_VERB = re.compile(r"\b(?:switch|swap|convert|change|replace|narrow|de-?escalate)\w*\b", re.I)
SWITCH_TO = re.compile(
    # "Swap naproxen for ibuprofen 400 mg TDS" (twelfth pass): "for" and the drug at once
    r"\s*(?:\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?|iu)?\s*)?"
    # "Switch Seretide Evohaler to Fostair": the device of the first (eighteenth pass)
    r"(?:(?:\w+haler|inhaler|mdi|ellipta|respimat|rotacaps?|respules?|pen|patch|drops)\s+)?"
    # "Switch Toprol XL to carvedilol": the release form of the first (nineteenth pass)
    r"(?:(?:xl|er|sr|cr|xr|la|mr|cd|od|retard|depot)\s+)?"
    r"(?:to|with|by|for)\s+"
    r"(?:(?:tab|cap|inj|syp)\.?\s+)?",
    re.I,
)
_LISTED = re.compile(r"\s*(?:/|,|\+|&|and)\s*", re.I)


def first_switched_to(text: str, found: list[meds.MedMention]) -> int | None:
    """The index of the first drug switched to when several are switched from ("Narrow
    ceftriaxone/azithro to amoxicillin": both stop, the third starts; twenty-first pass)."""
    if len(found) < 3 or SWITCH_VERB.search(text, 0, found[0].name_start) is None:
        return None
    for j in range(1, len(found)):
        gap = (found[j - 1].name_end, found[j].name_start)
        if SWITCH_TO.fullmatch(text, *gap):
            return j if j > 1 else None
        if not _LISTED.fullmatch(text, *gap):
            return None
    return None


# "... and switch her to losartan 50 mg": the drug switched to is started (the verb before
# it may be the "stop" of the drug it replaces).
_SWITCHED_TO = re.compile(
    r"\b(?:switch|swap|change|convert)\w*\s+(?:(?:him|her|them|over|the\s+patient|patient)\s+)?"
    r"(?:to|onto)\s+(?:(?:the\s+)?(?:tab|cap|inj|syp)\.?\s+)?$",
    re.I,
)


def switched_to(text: str, pos: int) -> Action | None:
    """ "start" when the drug at ``pos`` is what the patient is switched to."""
    return "start" if _SWITCHED_TO.search(text, 0, pos) else None


def route_switch(text: str, found: list[meds.MedMention]) -> bool:
    """ "Switch IV paracetamol to oral paracetamol 1 g QDS": the same drug by another
    route is one change to the new signature, not a stop and a start (tenth pass)."""
    return (
        len(found) == 2
        and found[0].name == found[1].name
        and SWITCH_VERB.search(text, 0, found[0].name_start) is not None
        and re.fullmatch(
            r"\s*(?:to|with|for)\s+(?:\w+\s+){0,2}", text[found[0].end : found[1].start]
        )
        is not None
    )


def switched_from_first(text: str, found: list[meds.MedMention]) -> bool:
    """ "Amlodipine causing ankle edema - switch to lisinopril 10 mg": the drug named first,
    with no dose and no verb before it, is the one the switch replaces (ninth pass)."""
    if len(found) != 2 or found[0].dose is not None:
        return False
    if any(_verb_of(w.group(0)) for w in _WORD.finditer(text, 0, found[0].name_start)):
        return False
    sw = SWITCH_VERB.search(text, found[0].name_end, found[1].name_start)
    return sw is not None and _SWITCHED_TO.search(text, 0, found[1].name_start) is not None


_OPENS_BRACKET = re.compile(r"[\s\d./,-]*(?:mg|mcg|g)?\s*\(\s*$", re.I)


_BRACKET_BEFORE = re.compile(r"\(\s*$")
_BARE_BRACKET = re.compile(r"\s*\(\s*")
_CLOSE_BRACKET = re.compile(r"\s*\)")


def absorb_spelled_out(text: str, outer: meds.MedMention, inner: meds.MedMention) -> bool:
    """ "Paxlovid (nirmatrelvir 300 mg / ritonavir 100 mg) PO BID", "Tab Glycomet (metformin)
    500 BD": a bracket right after a name that names the same drug or one of its ingredients
    spells it out; what it names is not another order (ninth pass). True if so; the outer
    order then takes the schedule written after the bracket, and the dose too when the drug
    is the same."""
    parts = [p.strip() for p in outer.name.split(" / ")]
    if (
        inner.name not in parts
        and outer.dose is None
        and outer.timing is None
        and _BARE_BRACKET.fullmatch(text, outer.name_end, inner.name_start)
        and _CLOSE_BRACKET.match(text, inner.name_end)
    ):
        # "vitamin B12 (hydroxocobalamin) 1 mg IM": a bracket holding only another drug's
        # name says which drug is meant; the order is that one (twenty-first pass)
        start, name_start = outer.start, outer.name_start
        outer.__dict__.update(inner.__dict__)
        outer.start, outer.name_start = start, name_start
        return True
    if inner.name != outer.name and inner.name not in parts:
        return False
    if (
        inner.name == outer.name
        and inner.dose is None
        and _BRACKET_BEFORE.search(text, 0, inner.name_start)
    ):
        # "Start 4FDC 3 tabs OD (HRZE) x 2 months": the same product named again in a
        # bracket after its signature (eighteenth pass)
        outer.duration = outer.duration or inner.duration
        return True
    if _OPENS_BRACKET.fullmatch(text, outer.name_end, inner.name_start) is None:
        return False
    if outer.timing is None:
        outer.timing, outer.duration = inner.timing, outer.duration or inner.duration
        outer.as_needed = outer.as_needed or inner.as_needed
        outer.route = outer.route or inner.route
    if inner.name == outer.name and outer.dose is None and not outer.steps:
        outer.dose, outer.dose_unit = inner.dose, inner.dose_unit
        outer.strength, outer.strength_unit = inner.strength, inner.strength_unit
        outer.form_count = inner.form_count
        outer.steps = inner.steps
    return True


# A test named right after "until"/"unless" is a condition on an order, not a test order
# ("hold until creatinine improves"), unless it is to be done ("until K+ is rechecked").
RECHECKED = re.compile(
    r"\s*(?:is|are|gets?|has\s+been|have\s+been)?\s*(?:re-?)?(?:check|test|repeat|do|draw|"
    r"sen[dt])\w*",
    re.I,
)
# "resume if creatinine stable" (thirteenth pass): the test sets the condition
# "until fasting CBG 5-7": a qualifier of the reading may stand before it (nineteenth pass)
CONDITION_BEFORE = re.compile(
    r"\b(?:until|till|unless|if)\s+(?:the\s+|his\s+|her\s+|serum\s+|s\.\s*)?(?:(?:fasting"
    r"|random|morning|pre-?meal|post-?meal|capillary|home|trough|peak)\s+)?$",
    re.I,
)


# A label before a colon heads what follows ("Blood sugar monitoring: FBS..."); a dot may
# stand in it ("H. pylori: clarithromycin ...": the infection treated, not a test).
HEADING = re.compile(r"\s*(?P<label>[A-Za-z][A-Za-z ./&-]{1,40})(?<!\s[Rr][Ee]):\s*\S")


# History, not an order: "known case of", "K/C/O", "h/o", "s/p", "known diabetic on ...".
HISTORY = re.compile(
    r"\s*(?:(?:pt|patient|he|she)\s+(?:is\s+)?(?:a\s+)?)?"
    # "55M with hx HTN on lisinopril", "62 yo F with PMH of ...": the patient introduced,
    # then the history (nineteenth pass)
    r"(?:\d{1,3}\s*(?:-?\s*(?:y/?o|yrs?|years?)(?:[-\s]old)?)?\s*[-\s]?(?:m|f|male|female|man"
    r"|woman)\b,?\s+(?:with|w/)\s+(?:a\s+)?(?:(?:past\s+)?(?:medical\s+)?history\s+of|hx(?:\s+of)?"
    r"|pmh(?:\s+of)?|k/?c/?o)\b|"
    r"known\s+case\s+of|k/?c/?o\b|"
    r"h/o\b|hx\s+of\b|history\s+of|(?:past\s+)?(?:medical\s+)?history\s*:|pmh\b|s/p\b|"
    # "Family history: mother on thyroxine" is someone else's drug; a social, drug or
    # surgical history lists the past.
    r"(?:family|social|drug|medication|surgical)\s+history\s*:|f/h\b|"
    # UK "DH:" (drug history), "SH:"; the history of the presenting illness, "HPI:" and
    # "HPC:", tells what brought the patient, with what they take (eleventh pass)
    r"(?:dh|sh|hpi|hpc)\s*:|history\s+of\s+present(?:ing)?\s+(?:illness|complaint)\s*:|"
    # "Hospital course: treated with IV vancomycin ..." tells the stay (twelfth pass)
    r"(?:hospital|clinical|ward)\s+course\s*:|"
    r"status\s+post\b|known\s+(?:hypertensive|diabetic|asthmatic|epileptic|"
    r"hypothyroid|ckd|cad|copd|case)\b|"
    r"(?:already|currently|presently)\s+(?:on|taking|using)\b|"
    # "Home meds: lisinopril 20 daily", "Current meds per GP record: ..." (tenth pass)
    r"(?:home|current|regular|usual|pre-?admission|outpatient)\s+(?:meds|medications|medicines)"
    r"\b[^:.;]{0,30}:|meds\s+on\s+admission\b|"
    # "Current Rx Tab Glycomet GP 2 BD, ..." in a letter: what the patient takes now
    # (eighteenth pass; as r096's "Current meds per GP record:")
    r"(?:current|present|ongoing)\s+(?:rx|treatment)\b(?!\s*(?:unchanged|same|to\b))|"
    # "Allergies: penicillin (hives), codeine" lists what must not be given (eighth pass).
    # "Known allergy to sulfa drugs (old Rx of Septran seen)" too (sixteenth pass)
    r"(?:known\s+)?(?:drug\s+)?allerg(?:y|ies|ic)\s*(?:to\b|:)|nkda\b|"
    # "Had an allergic rash to carbamazepine in 2015": a reaction told is an allergy; "Up
    # to date on colonoscopy (2021)": screening already done (twentieth pass)
    r"(?:(?:had|has|developed)\s+(?:an?\s+)?)?(?:allergic|anaphylactic)\s+(?:rash|reaction"
    r"|response)\s+(?:to|with)\b|(?:is\s+)?up[\s-]+to[\s-]+date\s+(?:on|with)\b)",
    re.IGNORECASE,
)
FOLLOW_UP_WORD = re.compile(r"\b(?:f/u|follow[-\s]?up|review|rtc|refer)", re.IGNORECASE)


# Scope: a drug named after "except" is left out of a stop or hold of the rest.
EXCEPT = re.compile(
    r"\b(?:except(?:\s+for)?|other\s+than|apart\s+from|but\s+not|excluding)\b",
    re.IGNORECASE,
)


# A verb after the dose and schedule ("Tab Ecosprin 75 mg - continue", "Glycomet 500
# increased to 1-0-1", "Telma 40 stopped"). Imperatives count only after a dash or a
# colon: "x 5 days then stop" ends a course, and "OD - to continue lifelong" is a duration.
AFTER_DOSE = re.compile(
    r"(?:(?<![\w/])[-\u2013:]\s*(?P<imp>continue|stop|discontinue|hold|"
    r"withhold|omit)|(?<!then\s)(?<!and\s)\b(?P<past>continued|stopped|discontinued|held|"
    r"withheld|increased|reduced|decreased)"
    # "aspirin 75 mg OD to carry on throughout", "Atorvastatin 20 mg ON (unchanged)"
    r"|\b(?P<cont>(?:to\s+)?carry\s+on|unchanged"
    # "Levothyroxine 125 micrograms OD - no change" (sixteenth pass)
    r"|(?<=[-\u2013] )no\s+change(?:\s+in\s+dose)?(?=\s*(?:[;,.)]|$))"
    # "Paliperidone depot 100 mg IM monthly, next due 14th": a course under way (eleventh)
    r"|next\s+(?:dose\s+|injection\s+)?due"
    # "T. Metolar XR 25 1-0-0 cont;": the short form ends the item (tenth pass)
    r"|cont(?=\.?\s*(?:[;,]|$))"
    # "Tab Levipil 500 mg 1-0-1 continue.": the whole word ending the item (eleventh pass;
    # checked against the whole text, since the search stops at the next drug)
    r"|(?P<endcont>continue)(?=\s*(?:[;,.]|$)))"
    # "Aspirin 81 mg PO daily (continue)", "... (new)": a discharge list's note (twelfth pass)
    r"|\(\s*(?P<brk>continued?|new|stopped|stop|held|hold)(?=\s*\))"
    # "Furosemide 40 mg daily (changed from 20 mg)", "Bisoprolol up from 2.5 mg to 5 mg":
    # the dose written is the new one (twentieth pass)
    r"|\(\s*(?P<chg>changed|increased|decreased|reduced|up|down)(?=\s+from\b)"
    r"|(?P<up>up|down)(?=\s+from\s+\d[^;,()]*?\sto\s+\d))\b"
    r"(?!\s+(?:if|when|unless|for\s+(?:sbp|bp|hr|pulse)\b))",
    re.IGNORECASE,
)


# "reduce prednisolone from 20 mg to 15 mg": a change names the old dose, then the new.
# "from 100 micrograms to 75 micrograms": the units spelled out too (twenty-first pass)
_CHANGE_UNIT = r"mg|mcg|g|units?|iu|ml|micrograms?|milligrams?"
FROM_TO = re.compile(
    rf"\bfrom\s+\d+(?:\.\d+)?\s*(?P<u1>{_CHANGE_UNIT})?\s+to\s+"
    rf"(?P<dose>\d+(?:\.\d+)?)\s*(?P<u2>{_CHANGE_UNIT})?\b",
    re.IGNORECASE,
)
UCUM = {
    "mg": "mg",
    "mcg": "mcg",
    "g": "g",
    "unit": "[iU]",
    "units": "[iU]",
    "iu": "[iU]",
    "microgram": "mcg",
    "micrograms": "mcg",
    "milligram": "mg",
    "milligrams": "mg",
}


# "bump your Lexapro up to twenty", "cut the gabapentin back to 300 at night": the new dose
# of a change written as a bare number, in the drug's usual unit (ninth pass).
_BARE_TARGET = re.compile(
    r"\b(?:(?:up|down|back)\s+)?to\s+(?P<dose>\d+(?:\.\d+)?)(?![\d.%/])"
    r"(?!\s*(?:mg|mcg|µg|g|gm|ml|l|units?|iu|u|%|days?|d|weeks?|wks?|w|months?|mo|hours?|hrs?"
    r"|h|minutes?|mins?|times|x|puffs?|tabs?|tablets?|caps?|drops?|sprays?|-\s*\d)\b)",
    re.IGNORECASE,
)


def to_target(m: meds.MedMention, text: str, end: int, unit: str = "mg") -> None:
    """Give a change written "from X to Y" its new dose Y (the parser read X), or a change
    with no dose written "to Y" with no unit its dose Y in ``unit``."""
    ft = FROM_TO.search(text, m.name_end, end)
    if ft is None:
        bare = _BARE_TARGET.search(text, m.name_end, end) if m.dose is None else None
        if bare is not None:
            m.dose, m.dose_unit = float(bare.group("dose")), unit
            m.consumed.append(bare.span())
        return
    unit = (ft.group("u2") or ft.group("u1") or "").lower()
    m.dose = float(ft.group("dose"))
    if unit == "ml":
        m.dose_unit = "mL"
    elif unit:
        m.dose_unit = UCUM.get(unit, m.dose_unit)
    m.strength = m.form_count = None


def excepted(before: str) -> bool:
    """True if the drug after ``before`` is named after "except" with no verb of its own
    ("hold all meds except X"; not "continue home meds except hold X")."""
    found = list(EXCEPT.finditer(before))
    return bool(found) and not any(
        _verb_of(w.group(0)) for w in _WORD.finditer(before[found[-1].end() :])
    )


def action_excepted(action: Action, before: str) -> Action:
    """The action of a drug named after "except": the opposite of the verb that excepts it.
    "hold all meds except X" continues X; "Resume home meds except X" holds it (twenty-
    first pass: a drug left out of a resumption is not restarted)."""
    if not excepted(before):
        return action
    if action in ("stop", "hold"):
        return "continue"
    if action in ("start", "continue") and _RESUMED.search(before):
        return "hold"
    return action


_RESUMED = re.compile(r"\b(?:resume|restart|continue)\b", re.IGNORECASE)
_ITEM_END = re.compile(r"\s*(?:[;,.]|$)")


def verb_after_dose(text: str, pos: int, end: int) -> Action | None:
    """The action of a verb written after the name's dose, before the next drug."""
    m = AFTER_DOSE.search(text, pos, end)
    if m is None:
        return None
    if m.group("endcont") and not _ITEM_END.match(text, m.end()):
        return None  # "... and asked her to continue metformin": the next drug's verb
    if m.group("cont"):
        return "continue"
    if m.group("chg") or m.group("up"):
        return "change"
    if m.group("brk"):
        return "start" if m.group("brk").lower() == "new" else _verb_of(m.group("brk"))
    return _verb_of(m.group("imp") or m.group("past"))


# "Started on X by the GP yesterday - continue": the start told is history, the verb after
# the dose is the order (tenth pass).
STARTED = re.compile(r"\b(?:was\s+|been\s+)?started\b", re.IGNORECASE)

# A list's label that says what happened to its drugs ("CHANGED: furosemide 40 mg BID",
# "Stopped: bendroflumethiazide", discharge summaries; tenth pass).
_ACTION_HEADING = re.compile(
    r"^\s*(?P<w>new|started|changed|increased|reduced|decreased|stopped|discontinued|held"
    r"|withheld|continued?|unchanged)\s*:",
    re.IGNORECASE,
)
_HEADING_ACTIONS: dict[str, Action] = {
    "new": "start",
    "started": "start",
    "changed": "change",
    "increased": "change",
    "reduced": "change",
    "decreased": "change",
    "stopped": "stop",
    "discontinued": "stop",
    "held": "hold",
    "withheld": "hold",
    "continue": "continue",
    "continued": "continue",
    "unchanged": "continue",
}


def heading_action(text: str) -> Action | None:
    """The action a list label at the clause's start gives its drugs ("CHANGED:")."""
    m = _ACTION_HEADING.match(text)
    return _HEADING_ACTIONS[m.group("w").lower()] if m else None


def next_start(found: list[meds.MedMention], i: int, text: str) -> int:
    """Where the drug after ``found[i]`` starts (the clause's end for the last one)."""
    return found[i + 1].name_start if i + 1 < len(found) else len(text)


# "Tab Ecosprin and Tab Clopitab withheld": only a conjunction (and a form) between two
# drugs with no dose of their own (twentieth pass)
_LIST_GAP = re.compile(
    r"\s*(?:,|and|&|\+|or)\s*(?:(?:tabs?|tablets?|caps?|inj|syp|syrup|t)\.?\s+)?$", re.IGNORECASE
)


def verb_after_listed(found: list[meds.MedMention], i: int, text: str) -> Action | None:
    """The action of a verb after ``found[i]``'s dose, or after the last of the dose-less
    drugs listed with it ("Tab Ecosprin and Tab Clopitab withheld from today": both held)."""
    own = verb_after_dose(text, found[i].name_end, next_start(found, i, text))
    j = i
    while own is None and j + 1 < len(found) and found[j].dose is None:
        if not _LIST_GAP.fullmatch(text, found[j].name_end, found[j + 1].name_start):
            return None
        j += 1
        if found[j].dose is not None:
            return None
        own = verb_after_dose(text, found[j].name_end, next_start(found, j, text))
    return own


# "Take metoprolol morning of surgery": a pre-operative instruction to keep giving the drug
# (eleventh pass), as "Continue Tab Telma 40 including on the morning of surgery".
_TAKE_ON_THE_DAY = re.compile(
    r"^\s*(?:please\s+)?(?:take|give)\b.*\b(?:on\s+)?(?:the\s+)?morning\s+of\s+(?:the\s+)?"
    r"(?:surgery|procedure|operation|op)\b",
    re.IGNORECASE,
)


def taken_on_the_day(text: str) -> bool:
    """True when the clause asks for a drug to be taken on the morning of an operation."""
    return _TAKE_ON_THE_DAY.search(text) is not None


# "Ferrous fumarate 210 mg TDS - change to OD", "Oxycodone 10 mg q6h -> decrease to 5 mg
# q6h": a change written after the current sig, with the new dose or schedule after "to"
# (eleventh pass).
_CHANGE_AFTER = re.compile(
    r"(?:(?:->|\u2192|(?<![\w/])[-\u2013:])\s*(?:change|increase|decrease|reduce|titrate)\w*\s+"
    r"(?:(?:the\s+)?(?:dose|frequency)\s+)?"
    # "Levothyroxine - reduce from 100 micrograms to 75 micrograms": the old dose is passed
    # over, the order is the one after "to" (twenty-first pass)
    r"(?:from\s+\d[^,;()]*?\s)?to\s+"
    # "amlodipine 5 mg daily -> 10 mg daily": an arrow alone to the new dose (fifteenth pass)
    # "(wt 14 kg -> 140 mg)": after a weight the arrow gives the dose worked out (twentieth)
    r"|(?<!kg)(?<!kg\s)(?:->|\u2192)\s*(?=\d))(?P<to>[^,;()]*)",
    re.IGNORECASE,
)
# "once" is a step to come ("once stable"), unless a schedule follows it ("once daily";
# twenty-first pass)
_LATER = re.compile(
    r"\b(?:after|in\s+\d|if|once(?!\s+(?:daily|a\s+(?:day|week|month)|weekly|monthly|nightly"
    r"|at\s+night|in\s+the\s+(?:morning|evening)|every)\b)|when|until|by\s+\d)\b",
    re.IGNORECASE,
)
# A number after "to" that is neither a dose nor a count of a form: what the change aims at
_TARGET = re.compile(
    r"\s*\d+(?:\.\d+)?(?:\s*(?:-|\u2013|to)\s*\d+(?:\.\d+)?)?\s+(?!(?:tabs?|tablets?|caps?"
    r"|capsules?|puffs?|drops?|sachets?|units?|times|x|hourly|daily|weekly)\b)[a-z]",
    re.IGNORECASE,
)
_NEW_DOSE = re.compile(rf"\s*(?P<dose>\d+(?:\.\d+)?)\s*(?P<u>{_CHANGE_UNIT})\b", re.IGNORECASE)


# "Syp Duphalac 30 ml TDS titrate to 2-3 soft stools/day": titrating to a goal qualifies the
# drug dosed before it, with or without a dash (twenty-first pass)
_TITRATE_TO = re.compile(r"\d[^,;]*?\btitrat\w*\s+(?:up\s+|down\s+)?to\b", re.IGNORECASE)


def titrated_to_goal(text: str) -> bool:
    """True when ``text`` titrates a dosed drug "to" a goal (stools, a level), not a dose."""
    m = _TITRATE_TO.search(text)
    return m is not None and _TARGET.match(text, m.end()) is not None


def change_after_dose(m: meds.MedMention, text: str, end: int) -> bool:
    """Apply a change written after the drug's sig ("- change to OD"); True if one was."""
    found = _CHANGE_AFTER.search(text, m.name_end, end)
    if found is None:
        return False
    to = found.group("to")
    if _LATER.search(to):
        return False  # "- increase to 10 mg after 2 weeks": a step to come, read as such
    dose = _NEW_DOSE.match(to)
    if dose is None and _TARGET.match(to):
        return False  # "- titrate to 2-3 soft stools a day": a goal, not a dose (twentieth)
    timing = sig.parse_timing(to[dose.end() :] if dose else to)
    if dose is None and timing is None:
        return False
    if dose is not None:
        m.dose = float(dose.group("dose"))
        m.dose_unit = UCUM.get(dose.group("u").lower(), "mL") or m.dose_unit
        m.strength = m.form_count = None
    if timing is not None:
        m.timing = timing
    m.consumed.append(found.span())
    return True


_FORM_WORD = re.compile(r"\b(?:tabs?|tablets?|caps?|capsules?)\b", re.IGNORECASE)


def bare_count_stopped(m: meds.MedMention, text: str) -> bool:
    """True when a stopped or held drug's only "dose" is a bare number read as a tablet
    count ("Stop Tab Glycomet GP 2": the product's variant, nothing given; fifteenth pass).
    A count written with its form ("Stop 2 tabs of Dolo") or with a schedule stays."""
    return (
        m.dose_unit in ("tablet", "capsule")
        and m.strength is None
        and m.timing is None
        and _FORM_WORD.search(text, min(m.start, m.name_start), max(m.end, m.name_end)) is None
    )
