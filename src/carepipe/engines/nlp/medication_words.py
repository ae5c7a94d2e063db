"""How medications are said: units, doses, routes, dose forms, frequencies, durations, actions.

Patterns and tables only; ``carepipe.engines.nlp.medications`` finds medications with them."""

from __future__ import annotations

import re

# --- vocabularies ----------------------------------------------------------------------

UNIT_MAP: dict[str, str] = {
    "mg": "mg",
    "mgs": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "milligramme": "mg",
    "milligrammes": "mg",
    "g": "g",
    "gm": "g",
    "gms": "g",
    "gram": "g",
    "grams": "g",
    "gramme": "g",
    "mcg": "mcg",
    "ug": "mcg",
    "µg": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
    "ml": "mL",
    "mls": "mL",
    "milliliter": "mL",
    "milliliters": "mL",
    "millilitre": "mL",
    "millilitres": "mL",
    "cc": "mL",
    "unit": "[iU]",
    "units": "[iU]",
    "iu": "[iU]",
    "meq": "meq",
    "puff": "puff",
    "puffs": "puff",
    "drop": "drop",
    "drops": "drop",
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "pill": "tablet",
    "pills": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "sachet": "sachet",
    "sachets": "sachet",
    "teaspoon": "teaspoon",
    "teaspoons": "teaspoon",
    "tsp": "teaspoon",
    "tablespoon": "tablespoon",
    "tablespoons": "tablespoon",
    "spray": "spray",
    "sprays": "spray",
    "patch": "patch",
    "ampoule": "ampoule",
    "vial": "vial",
    "l": "L",
    "liters": "L",
    "litres": "L",
    "percent": "%",
}
# Units that measure strength (vs. a count of dose forms).
STRENGTH_UNITS = frozenset({"mg", "g", "mcg", "mL", "[iU]", "meq", "L", "%"})
UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNIT_MAP), key=len, reverse=True))
NUM = r"(\d+(?:\.\d+)?)"
# "500 mg", "500mg", "1.5 tablets", "10 units", "2 puffs", "0.5 %"
DOSE_RE = re.compile(
    NUM + r"\s*(?:-\s*)?(" + UNIT_ALT + r"|%)(?![A-Za-z])(?:\s+(?:international\s+)?units?)?",
    re.IGNORECASE,
)
INTERNATIONAL_UNITS_RE = re.compile(NUM + r"\s*international\s+units?", re.IGNORECASE)

ROUTES: list[tuple[str, str]] = [
    (r"by mouth|per os|orally|oral(?:ly)?|\bpo\b|swallow", "oral"),
    (r"sublingual(?:ly)?|under the tongue", "sublingual"),
    (
        r"inhal(?:er|ed|ation|e)|puffers?|nebuli[sz](?:er|ed|ation)|nebs?\b|\bmdi\b|rotacaps?",
        "inhaled",
    ),
    (r"subcutaneous(?:ly)?|sub ?cut(?:aneous)?|sub ?q\b|\bsc\b|\bs/c\b", "subcutaneous"),
    (r"intravenous(?:ly)?|\biv\b|\bi\.v\.|drip|infusion", "intravenous"),
    (r"intramuscular(?:ly)?|\bim\b|\bi\.m\.", "intramuscular"),
    (
        r"topical(?:ly)?|cream|ointment|\bgel\b|lotion|apply (?:it |a thin layer )?(?:on|to)",
        "topical",
    ),
    (r"eye drops?|ophthalmic|in (?:the|both|each|your) eyes?", "ophthalmic"),
    (r"ear drops?|otic|in (?:the|both|each|your) ears?", "otic"),
    (r"nasal spray|intranasal|nasal|in (?:the|each|both) nostrils?", "nasal"),
    (r"rectal(?:ly)?|suppositor(?:y|ies)|per rectum", "rectal"),
    (r"transdermal|patch", "transdermal"),
    (r"vaginal(?:ly)?|pessar(?:y|ies)", "vaginal"),
    (r"injection|injectable|inject|jab|shot", "injection"),
]
ROUTE_RES = [(re.compile(p, re.IGNORECASE), r) for p, r in ROUTES]
FORMS: list[tuple[str, str]] = [
    (r"tablets?|tabs?\b|pills?", "tablet"),
    (r"capsules?|caps?\b", "capsule"),
    (r"syrup|suspension|liquid|solution", "oral solution"),
    (r"inhaler|puffer|rotacaps?", "inhaler"),
    (r"injection|injectable|pen\b|vial", "injection"),
    (r"cream|ointment|gel\b|lotion", "topical"),
    (r"drops?", "drops"),
    (r"patch", "patch"),
    (r"sachet", "sachet"),
    (r"spray", "spray"),
]
FORM_RES = [(re.compile(r"\b(?:" + p + r")", re.IGNORECASE), f) for p, f in FORMS]
FORM_ROUTE = {
    "tablet": "oral",
    "capsule": "oral",
    "oral solution": "oral",
    "sachet": "oral",
    "inhaler": "inhaled",
    "puff": "inhaled",
}

_N = r"(\d+(?:\.\d+)?)"
# (pattern, frequency, period, unit, when); a callable builds timing from the match.
_FREQ_TABLE: list[tuple[str, int | None, float | None, str, tuple[str, ...]]] = [
    (
        r"(?:once|one time|1 time) (?:a|per|every) day|once daily|daily once|1 times? daily"
        r"|once a day|\bod\b|\bqd\b|every day|each day|per day|a day|daily",
        1,
        1,
        "d",
        (),
    ),
    (
        r"twice (?:a|per|every) day|twice daily|two times (?:a|per) day|2 times (?:a|per) day"
        r"|2 times daily|\bbid\b|\bbd\b|b\.i\.d\.?|twice a day|twice|morning and (?:evening|night)",
        2,
        1,
        "d",
        (),
    ),
    (
        r"(?:three|3) times (?:a|per|every) day|(?:three|3) times daily"
        r"|thrice (?:a |per )?(?:day|daily)"
        r"|\btid\b|\btds\b|t\.i\.d\.?|thrice",
        3,
        1,
        "d",
        (),
    ),
    (
        r"(?:four|4) times (?:a|per|every) day|(?:four|4) times daily|\bqid\b|\bqds\b|q\.i\.d\.?",
        4,
        1,
        "d",
        (),
    ),
    (r"(?:once )?(?:a|per|every) week|once weekly|weekly", 1, 1, "wk", ()),
    (r"twice (?:a|per) week|twice weekly", 2, 1, "wk", ()),
    (r"(?:once )?(?:a|per|every) month|monthly", 1, 1, "mo", ()),
    (r"every other day|alternate days?|on alternate days", 1, 2, "d", ()),
    (
        r"(?:at|before) (?:bed ?time|night|sleep)|\bhs\b|nightly|every night|each night|at night"
        r"|in the night",
        1,
        1,
        "d",
        ("HS",),
    ),
    (r"(?:every|each|in the) morning|mornings?", 1, 1, "d", ("MORN",)),
    (r"(?:every|each|in the) evening", 1, 1, "d", ("EVE",)),
    (r"with (?:each |every )?meals?|with food|after (?:each |every )?meals?", 3, 1, "d", ("C",)),
    (r"before (?:each |every )?meals?", 3, 1, "d", ("AC",)),
    (r"before breakfast", 1, 1, "d", ("ACM",)),
    (r"stat\b|right now|single dose|one dose|once only|one time only", 1, 1, "d", ()),
]
FREQ_RES = [
    (re.compile(r"\b(?:" + p + r")", re.IGNORECASE), f, pe, u, w) for p, f, pe, u, w in _FREQ_TABLE
]
EVERY_N_RE = re.compile(
    r"\b(?:every|q)\s*" + _N + r"(?:\s*(?:to|-)\s*" + _N + r")?\s*"
    r"(hours?|hrs?|h|hourly|days?|weeks?|wks?|months?)\b",
    re.IGNORECASE,
)
N_TIMES_RE = re.compile(
    r"\b" + _N + r"\s*(?:times|x)\s*(?:a|per|every|/)\s*(day|week|month)\b", re.IGNORECASE
)
# Indian prescription shorthand "1-0-1" (morning-noon-night).
MNN_RE = re.compile(r"\b([01](?:\.5)?)\s*-\s*([01](?:\.5)?)\s*-\s*([01](?:\.5)?)\b")
PRN_RE = re.compile(
    r"\b(?:as needed|as required|when needed|when required|if needed|if required|prn|p\.r\.n\.?"
    r"|\bsos\b|as and when|when (?:you|he|she) (?:need|needs) it|if (?:there is |you have |"
    r"he has |she has )?(?:pain|fever|wheez\w*|breathless\w*))",
    re.IGNORECASE,
)
DURATION_RE = re.compile(
    r"\b(?:for|x|times|over|course of)\s*(?:(?:the )?(?:next|another) )?"
    r"(" + r"\d+(?:\.\d+)?|a|an|one" + r")\s*(?:more\s+)?"
    r"(days?|weeks?|wks?|months?|hours?|hrs?)\b",
    re.IGNORECASE,
)
DURATION_UNITS = {"day": "d", "week": "wk", "wk": "wk", "month": "mo", "hour": "h", "hr": "h"}

_ACTIONS: list[tuple[str, str]] = [
    (
        r"\b(?:stop|stopped|stopping|discontinue[sd]?|hold|holding|d/c|quit|come off|taper off"
        r"|no more)\b",
        "stop",
    ),
    (r"\b(?:increase[sd]?|increasing|up the dose|uptitrate|double|raise)\b", "increase"),
    (
        r"\b(?:decrease[sd]?|decreasing|reduce[sd]?|reducing|lower|cut down|taper|halve)\b",
        "decrease",
    ),
    (
        r"\b(?:continue[sd]?|continuing|keep (?:taking|on)|stay on|remain on|carry on|taking|takes"
        r"|already on|is on|been on|currently on|still on|uses|using)\b",
        "continue",
    ),
    (
        r"\b(?:start(?:ed|ing)?|begin|commence|initiate[sd]?|prescrib(?:e|ed|ing)|put (?:you|him|"
        r"her|them) on|add(?:ed|ing)?|give|giving|gave|will give|take|try|switch(?:ed)? to"
        r"|recommend(?:ed)?|advise[sd]?)\b",
        "start",
    ),
]
ACTION_RES = [(re.compile(p, re.IGNORECASE), a) for p, a in _ACTIONS]

# Words that end the signature of one drug (a new clause about something else).
CLAUSE_END_RE = re.compile(
    r"(?<!\d)[.;!?\n]|[.;!?](?!\d)"
    r"|\b(?:but|also|and then|then|plus|next|we will|we'll|i will|i'll|i want|"
    r"let's|let us|come back|follow up|review|check|blood pressure|bp|pulse|temperature"
    r"|because)\b",
    re.IGNORECASE,
)
# Lexicon entries that are also ordinary words or lab names: need a medication cue nearby.
AMBIGUOUS = frozenset(
    {
        "iron",
        "calcium",
        "cholecalciferol",
        "oxygen",
        "insulin",
        "zinc",
        "sodium chloride",
        "dextrose",
        "nicotine",
        "lithium",
        "potassium chloride",
        "antacid",
        "thiamine",
        "ascorbic acid",
        "folic acid",
        "cyanocobalamin",
        "heparin",
        "ferrous sulfate",
        "magnesium sulfate",
        "multivitamin",
        "glucagon",
        "melatonin",
        "penicillin",
        "mox",
        "aten",
        "senna",
        "calamine",
        "testosterone",
        "progesterone",
        "estradiol",
    }
)
NOT_A_DRUG_AFTER = re.compile(
    r"^\s*(?:deficiency|deficient|levels?|saturation|sats?|sat\b|resistance|overload|"
    r"studies|study|stores|toxicity|allergy|sensitivity|intolerance|level|count|test|"
    r"replacement therapy is not)",
    re.IGNORECASE,
)
# An abbreviation that is also a score's name: "ASA grade II" (the anaesthetists'
# physical-status class), "ASA III E" are not aspirin.
NOT_THE_DRUG_AFTER: dict[str, re.Pattern[str]] = {
    "asa": re.compile(
        r"^\s*(?:(?:grade|class|score|physical\s+status|ps)\b|(?-i:I{1,3}|IV|V|VI)(?:\s*E)?\b)",
        re.IGNORECASE,
    ),
}
SATURATION_AFTER = re.compile(
    r"^\s*(?:(?:is|was|at|of|level|levels|sat\w*|reading)\s+)*(?:about |around )?\d+(?:\.\d+)?"
    r"\s*(?:%|percent|per cent)",
    re.IGNORECASE,
)
MED_CUE_RE = re.compile(
    r"\b(?:take|taking|takes|start|started|prescrib\w*|give|gave|giving|on|dose|tablets?|"
    r"capsules?|supplements?|injections?|units?|mg|mcg|g|ml|daily|twice|once|continue|stop|"
    r"spray|drops|nasal|cream|ointment|inhaler|syrup|sachets?|drip|infusion|nebuli[sz]\w+)\b",
    re.IGNORECASE,
)

LOW_CONFIDENCE_FUZZY = 0.5
