"""The vocabulary of a medication sig: numbers, units and forms, frequencies, durations, routes.

Patterns and tables only; ``carepipe.engines.orders.sig`` reads a sig with them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carepipe.engines.orders.models import DoseStep, Quantity, Timing

# --- numbers -------------------------------------------------------------------------------

_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75}
# "1½" and "1 ½" are one and a half; "50 ½ tab" is a strength then half a tablet, so a
# space may come before the fraction only after a small tablet count.
# "6 lakh IU" (Indian notation, seventh pass): a lakh is 100,000.
# "1.2 MU", "1.2 million units" (eleventh pass): a million units, as benzathine penicillin
# is written; only a capital M before "U"/"IU" ("2 mIU" stays milli-units).
NUM = (
    r"(?:\d+(?:\.\d+)?\s*lakhs?\b|\d+(?:\.\d+)?\s*(?:(?-i:M)(?=I?U\b)|million\s+(?=units?\b|iu\b))|\d{1,3}(?:,\d{3})+(?!\d)|[1-4]\s+[½¼¾]|\d+(?:\.\d+)?[½¼¾]?"
    r"|[½¼¾]|\.\d+)"
)
_LAKH = re.compile(r"\s*lakhs?$", re.IGNORECASE)
_MILLION = re.compile(r"\s*(?:M|million\s*)$", re.IGNORECASE)


def to_number(raw: str) -> float:
    """ "60,000" -> 60000, "½" -> 0.5, "1½" -> 1.5, "0.5" -> 0.5, "6 lakh" -> 600000."""
    lakh = _LAKH.search(raw)
    if lakh is not None:
        return to_number(raw[: lakh.start()]) * 100_000
    million = _MILLION.search(raw)
    if million is not None:
        return round(to_number(raw[: million.start()]) * 1_000_000, 3)
    raw = raw.replace(",", "").replace(" ", "")
    frac = 0.0
    if raw and raw[-1] in _FRACTIONS:
        frac = _FRACTIONS[raw[-1]]
        raw = raw[:-1]
    return (float(raw) if raw else 0.0) + frac


# --- units and forms -----------------------------------------------------------------------

STRENGTH_UNITS: dict[str, str] = {
    "mg": "mg",
    "mgs": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "g": "g",
    "gm": "g",
    "gms": "g",
    "gram": "g",
    "grams": "g",
    "mcg": "mcg",
    "µg": "mcg",
    "ug": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
    "iu": "[iU]",
    "i.u.": "[iU]",
    "u": "[iU]",
    "unit": "[iU]",
    "units": "[iU]",
    "international units": "[iU]",
    "meq": "meq",
    "mmol": "mmol",
    "ml": "mL",
    "mls": "mL",
    "cc": "mL",
    "millilitre": "mL",
    "milliliter": "mL",
    "millilitres": "mL",
    "milliliters": "mL",
    # a litre of fluid ("NS 1 L bolus", eleventh pass): "L" only after a number
    "l": "L",
    "litre": "L",
    "litres": "L",
    "liter": "L",
    "liters": "L",
    "%": "%",
}
FORMS: dict[str, str] = {
    "tab": "tablet",
    "tabs": "tablet",
    "tablet": "tablet",
    "tablets": "tablet",
    "pill": "tablet",
    "pills": "tablet",
    "cap": "capsule",
    "caps": "capsule",
    "capsule": "capsule",
    "capsules": "capsule",
    "puff": "puff",
    "puffs": "puff",
    "inhalation": "puff",  # "Trelegy 1 inhalation daily" (eleventh pass)
    "inhalations": "puff",
    "drop": "drop",
    "drops": "drop",
    "gtt": "drop",  # guttae (tenth pass: "1 gtt OU QHS")
    "gtts": "drop",
    "spray": "spray",
    "sprays": "spray",
    "sachet": "sachet",
    "sachets": "sachet",
    # "ORS 1 packet in 1 litre water": a packet of powder is a sachet (sixteenth pass)
    "packet": "sachet",
    "packets": "sachet",
    "respule": "respule",
    "respules": "respule",
    "rotacap": "rotacap",
    "rotacaps": "rotacap",
    "ampoule": "ampoule",
    "ampoules": "ampoule",
    "amp": "ampoule",
    "amps": "ampoule",
    "vial": "vial",
    "vials": "vial",
    "teaspoon": "teaspoon",
    "teaspoons": "teaspoon",
    "tsp": "teaspoon",
    "tsf": "teaspoon",  # "teaspoonful", as Indian prescriptions write it
    "tablespoon": "tablespoon",
    "tablespoons": "tablespoon",
    "tbsp": "tablespoon",
}
# Forms whose count is the dose itself, whatever the product's strength.
COUNTED_FORMS = frozenset({"puff", "drop", "spray", "respule"})
# (An inhaled rotacap's count is its dose too; it is reported as capsules.)
SOLID = frozenset({"tablet", "capsule", "sachet"})


def alt(words: dict[str, str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


STRENGTH = re.compile(
    # "ORS 1 sachet in 1 litre water": what it is mixed in is no dose (eleventh pass)
    rf"(?<![\w.])(?<!\bin\s)(?P<v>{NUM})\s*(?P<u>{alt(STRENGTH_UNITS)})"
    # "0.1 units/kg/hr", "2 mcg/kg/min": a rate (tenth pass)
    r"(?!\s*/\s*kg\s*/\s*(?:h|hrs?|hours?|min|mins|minutes?)\b)"
    # "60 mg/m2" (eighteenth pass): a dose by body surface area, as "1 mg/kg" by weight
    r"(?P<perkg>\s*/\s*(?:kg|m2|m\u00b2|sq\.?\s?m)\b)?(?![\w])"
    # "100 ml/hr" is an infusion rate, not an amount given each time ("0.03 units/min" too,
    # eleventh pass).
    r"(?!\s*/\s*(?:h|hrs?|hours?|min|mins|minutes?)\b)",
    re.IGNORECASE,
)
CONCENTRATION = re.compile(
    rf"(?<![\w.]){NUM}\s*(?:mg|mcg|g|gm|iu|units?)\s*/\s*(?:{NUM}\s*)?(?:ml|cc|l)\b",
    re.IGNORECASE,
)
COMBO_STRENGTH = re.compile(
    rf"(?<![\w./-]){NUM}\s*/\s*{NUM}(?:\s*/\s*{NUM})?(?:\s*(?:mg|mcg|g)\b)?(?![\w/])"
    r"(?!\s*(?:a\s+)?(?:tab|cap|pill))",
    re.IGNORECASE,
)
COUNT = re.compile(
    rf"(?<![\w.])(?P<v>{NUM}|\d+\s*/\s*[24]|half|quarter)\s*(?:a\s+|an\s+)?"
    rf"(?P<f>{alt(FORMS)})\b\.?"
    # "@ 8 drops/min": a drip rate, not a dose (eighteenth pass)
    r"(?!\s*/\s*(?:h|hrs?|hours?|min(?:ute)?s?)\b|\s+(?:per|a|an)\s+(?:min(?:ute)?|hour)\b)",
    re.IGNORECASE,
)
# A fraction standing alone between the strength and the schedule ("50 mg ½ OD").
LONE_FRACTION = re.compile(r"(?<![\w./-])(?P<v>[½¼¾])(?![\w./-])")
_SCHEDULE_PART = r"(?:[012](?:\.5)?|[½¼¾]|1½)"
SCHEDULE = re.compile(
    rf"(?<![\w./-])(?P<a>{_SCHEDULE_PART})\s*-\s*(?P<b>{_SCHEDULE_PART})\s*-\s*"
    rf"(?P<c>{_SCHEDULE_PART})(?:\s*-\s*(?P<d>{_SCHEDULE_PART}))?(?![\w./-])"
)
# A strength written without a unit right after the name: "Glycomet 500", "amox 500".
BARE = re.compile(
    # "metoprolol succ 25 daily": the salt shortened before the strength (eighteenth pass)
    rf"^[\s-]*(?:(?:sr|er|xr|xl|cr|mr|la|cd|od|retard|forte|ds|plus|succ|tart)\b[\s-]*)?(?P<v>{NUM})(?P<k>k\b)?"
    r"(?![\d.])(?!\s*(?:%|/|-\s*\d|times\b|x\b|days?\b|d\b|weeks?\b|wks?\b|months?\b|"
    r"hours?\b|hrs?\b|h\b|min(?:ute)?s?\b|doses?\b|(?:ml|cc)\s*/\s*(?:h|hrs?|hours?)\b"
    # "0.03 units/min", "2 units/hr": a rate, no bare strength (eleventh pass)
    r"|(?:units?|iu|mg|mcg|micrograms?|ml|cc)\s*/\s*(?:kg\s*/\s*)?(?:h|hrs?|hours?|min(?:ute)?s?)\b))",
    re.IGNORECASE,
)
IMPLICIT_ONE = re.compile(r"^\s*(?P<f>sachets?|respules?)\b", re.IGNORECASE)
# Inhaler and nebuliser counts written after the device: "rotacap 1 BD", "respules 2".
COUNT_AFTER = re.compile(
    r"(?<![\w])(?P<f>rotacaps?|respules?|puffs?)\s+(?P<v>[1-4](?:\.5)?)(?![\d.]|\s*(?:mg|mcg|%))",
    re.IGNORECASE,
)
# The dose form named before the drug: "Tab", "T.", "Cap", "Inj".
PREFIX_FORM = re.compile(r"(?<![\w])(?P<f>tabs?|tablets?|t|caps?|capsules?|sachets?)\.?\s*$", re.I)
_INHALED_FORMS = frozenset({"puff", "respule", "rotacap"})

# --- frequency -----------------------------------------------------------------------------

_EVENING_MEAL = r"(?:dinner|supper|(?:the\s+)?evening\s+meal)"
# the count written again before the second meal: "one ... and one after dinner"
_ONE = r"(?:(?:one|two|half|1|2)\s+(?:(?:tab(?:let)?s?|caps?(?:ule)?s?|units?)\s+)?)?"
# (pattern, frequency, period, periodUnit, when codes)
# A UK "OM" / "ON" counts only right after a dose ("40 mg OM", "2 tabs ON").
_AFTER_DOSE = (
    r"(?:(?<=\dmg )|(?<=\d mg )|(?<=mcg )|(?<=\d g )|(?<=\dg )|(?<=units )|(?<=tab )"
    r"|(?<=tabs )|(?<=\d ))"
)
# ... and only where the sig may end: "ON the advice of", "ON ALTERNATE DAYS" are words.
# "2.5 mg OM as resting HR 52", "20 mg ON if ..." (fourteenth pass): a reason or a
# condition may follow too.
_END_OF_SIG = (
    r"(?![ \t]+(?!(?:because|for|and|then|x|to|until|with|PRN|as|since|due|if|unless|while"
    r"|per|after|before)\b)\w)"
)
_FREQ: tuple[tuple[str, int, float, str, tuple[str, ...]], ...] = (
    (r"q\.?i\.?d|qds|four\s+times\s+(?:a\s+day|daily|per\s+day)", 4, 1, "d", ()),
    (
        r"t\.?i\.?d|tds|three\s+times\s+(?:a\s+day|daily|per\s+day)|thrice(?:\s+(?:a\s+)?daily)?",
        3,
        1,
        "d",
        (),
    ),
    (r"twice\s+(?:a|per)\s+week|twice\s+weekly|biw", 2, 1, "wk", ()),
    (
        r"b\.?i\.?d|bd|twice(?:\s+(?:a\s+day|daily|per\s+day))?|two\s+times\s+(?:a\s+day|daily)",
        2,
        1,
        "d",
        (),
    ),
    (r"every\s+other\s+day|alternate\s+days?|on\s+alternate\s+days|q\.?o\.?d|eod", 1, 2, "d", ()),
    # "every other week", "fortnightly": one every two weeks (fourteenth pass; a biologic's
    # schedule)
    (
        r"every\s+other\s+week|(?:on\s+)?alternate\s+weeks|fortnightly|every\s+fortnight"
        r"|once\s+(?:a|every)\s+fortnight",
        1,
        2,
        "wk",
        (),
    ),
    (
        r"(?:once\s+)?weekly|once\s+(?:a|per|every)\s+week|every\s+week|(?:a|per)\s+week|/\s*wk"
        # "every Monday", "on Sundays" ("surgery on Monday" is a date, not a schedule)
        r"|(?:every|each)\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day"
        r"|on\s+(?:mon|tues|wednes|thurs|fri|satur|sun)days",
        1,
        1,
        "wk",
        (),
    ),
    (r"(?:once\s+)?monthly|once\s+(?:a|per)\s+month|every\s+month", 1, 1, "mo", ()),
    # "5 mg today and tomorrow": one a day on each day named (fifteenth pass)
    (r"today\s+and\s+tomorrow|tonight\s+and\s+tomorrow\s+night", 1, 1, "d", ()),
    # "20 mg over 24 hours" in a syringe driver: the day's amount (eleventh pass)
    (r"over\s+24\s*(?:hours?|hrs?|h)|/\s*24\s*(?:hours?|hrs?|h)(?!\w)", 1, 1, "d", ()),
    # Yearly infusions (zoledronic acid): "once yearly", "annually", "once a year".
    (r"(?:once\s+)?(?:yearly|annually)|once\s+(?:a|per)\s+year|every\s+year", 1, 1, "a", ()),
    (
        r"q\.?d|o\.?d|once\s+(?:a\s+day|daily)|daily|every\s+day|(?:a|per)\s+day|/\s*day",
        1,
        1,
        "d",
        (),
    ),
    # "2.5 mg SC hourly PRN": a bare "hourly" is every hour ("4 hourly" is HOURLY's;
    # sixteenth pass)
    (
        r"(?<!\d)(?<!\d )(?<!\d-)(?<!\d -)(?<!th )(?<!st )(?<!nd )(?<!rd )"
        r"(?:hourly|every\s+hour|each\s+hour)"
        # ... where the sig ends: "monitor hourly urine output" is a nursing task
        r"(?=\s*(?:$|[,;.)]|-|(?:prn|sos|if|for|as|when|until|x|while|and|then|via|over|max"
        # "1 drop hourly to the right eye" (twentieth pass): where the drop goes
        r"|up|(?:to|in|into)\s+(?:the\s+)?(?:right|left|both|each|affected|r|l)\b)\b))",
        1,
        1,
        "h",
        (),
    ),
    (r"q\.?h\.?s|h\.?s|at\s+bed\s*time|bedtime|before\s+(?:bed|sleep)|nocte", 1, 1, "d", ("HS",)),
    (r"at\s+night|nightly|every\s+night|each\s+night|in\s+the\s+night", 1, 1, "d", ("NIGHT",)),
    (r"every\s+morning|each\s+morning|in\s+the\s+mornings?|q\.?am|mane", 1, 1, "d", ("MORN",)),
    (r"every\s+evening|in\s+the\s+evening|q\.?pm", 1, 1, "d", ("EVE",)),
    # "10 mg on waking, 5 mg at midday": the times of a split daily dose (twenty-first pass)
    (r"on\s+(?:waking|rising|wakening)|upon\s+waking", 1, 1, "d", ("WAKE",)),
    (r"at\s+(?:midday|mid-day|noon|lunch\s*time)", 1, 1, "d", ("NOON",)),
    # "14 units before breakfast and before dinner": two meals, twice a day (eighteenth pass);
    # "one tablet after breakfast and one after dinner": the count again (nineteenth pass)
    (
        rf"before\s+breakfast\s+(?:and|&)\s+{_ONE}(?:before\s+)?{_EVENING_MEAL}",
        2,
        1,
        "d",
        ("ACM", "ACV"),
    ),
    (
        rf"after\s+breakfast\s+(?:and|&)\s+{_ONE}(?:after\s+)?{_EVENING_MEAL}",
        2,
        1,
        "d",
        ("PCM", "PCV"),
    ),
    (rf"with\s+breakfast\s+(?:and|&)\s+{_ONE}(?:with\s+)?{_EVENING_MEAL}", 2, 1, "d", ("CM", "CV")),
    (r"bbf|before\s+breakfast", 1, 1, "d", ("ACM",)),
    (r"after\s+breakfast", 1, 1, "d", ("PCM",)),
    (r"after\s+lunch", 1, 1, "d", ("PCD",)),
    # The other single meals (FHIR EventTiming ACD, CD, CM), beside the ones above.
    (r"before\s+lunch", 1, 1, "d", ("ACD",)),
    (r"with\s+lunch", 1, 1, "d", ("CD",)),
    (r"with\s+breakfast", 1, 1, "d", ("CM",)),
    (r"with\s+(?:dinner|supper|(?:the\s+|her\s+|his\s+)?evening\s+meal)", 1, 1, "d", ("CV",)),
    # UK "OM" / "ON" (omni mane, omni nocte; eighth pass): in capitals and right after a
    # dose, because "on" is also a word ("20 mg ON", not "MG ON ALTERNATE DAYS").
    # "om" in lower case too (nineteenth pass): not a word, unlike "on"
    (_AFTER_DOSE + r"(?:om)" + _END_OF_SIG, 1, 1, "d", ("MORN",)),
    (_AFTER_DOSE + r"(?-i:ON)" + _END_OF_SIG, 1, 1, "d", ("NIGHT",)),
    (r"after\s+dinner", 1, 1, "d", ("PCV",)),
    (r"before\s+dinner", 1, 1, "d", ("ACV",)),
    # "at 3 PM", and a 24-hour clock time ("at 22:00", twelfth pass)
    (r"at\s+(?:\d{1,2}(?::\d\d)?\s*(?:am|pm)|(?:[01]?\d|2[0-3]):[0-5]\d(?![\d:]))", 1, 1, "d", ()),
    (
        r"before\s+(?:each\s+|every\s+)?(?:major\s+|main\s+)?meals?|a\.?c\.?(?=\s|$)",
        3,
        1,
        "d",
        ("AC",),
    ),
    (
        r"after\s+(?:each\s+|every\s+)?(?:major\s+|main\s+)?meals?|p\.?c\.?(?=\s|$)",
        3,
        1,
        "d",
        ("PC",),
    ),
    (r"with\s+(?:each\s+|every\s+)?(?:major\s+|main\s+)?meals?", 3, 1, "d", ("C",)),
)
FREQ_RES = [
    (re.compile(rf"(?<![\w/])(?:{p})(?![\w])", re.IGNORECASE), f, per, u, w)
    for p, f, per, u, w in _FREQ
]
# Words that only say WHEN a daily dose is taken: they do not override a stated count.
WHEN_ONLY = frozenset(
    {"HS", "NIGHT", "MORN", "EVE", "ACM", "PCM", "PCD", "ACD", "CD", "CM", "CV", "PCV", "ACV"}
)
EVERY = re.compile(
    r"(?<![\w])(?:every|q)\s*(?P<p>\d+(?:\.\d+)?)(?:\s*(?:to|-|\u2013)\s*(?P<pmax>\d+(?:\.\d+)?))?"
    r"\s*(?P<unit>hours?|hrs?|h|hourly|minutes?|mins?|min|days?|d|weeks?|wks?|w|months?)(?![\w])",
    re.IGNORECASE,
)
# "8 hourly", "6th hourly", "4-6 hrly": every N hours, as Indian and UK notes write it.
HOURLY = re.compile(
    r"(?<![\w.])(?P<p>\d+)(?:st|nd|rd|th)?(?:\s*(?:to|-|\u2013)\s*(?P<pmax>\d+)(?:st|nd|rd|th)?)?"
    # "nebulised 20-minutely" (eighteenth pass): every N minutes, as UK notes write it
    r"\s*-?\s*(?:hourly|hrly|(?P<min>minutely))(?![\w])",
    re.IGNORECASE,
)
TIMES_PER = re.compile(
    # "2 (two) times daily", as printed prescriptions write it (fifteenth pass)
    r"(?P<n>\d+)\s*(?:\(\s*(?:[a-z]+|\d+)\s*\)\s*)?(?:times|x)\s*(?:(?:a|per|/|every)\s*(?P<unit>day|week|month)"
    # "5 mg three times weekly" (eleventh pass)
    r"|(?P<ly>daily|weekly|monthly)\b)",
    re.IGNORECASE,
)
# "Zofran 4 IV q6 prn": a bare "q" and a number is every N hours, as US sigs write it
# (eleventh pass); "x2 doses 4 hours apart" is every 4 hours.
Q_BARE = re.compile(
    r"(?<![\w])q\s?(?P<p>[1-9]\d?)(?![\w.])(?!\s*(?:-|to)?\s*\d*\s*(?:days?|d|weeks?|wks?|w"
    r"|months?|mins?|minutes?)\b)",
    re.IGNORECASE,
)
APART = re.compile(r"(?P<p>\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)\s+apart\b", re.IGNORECASE)
ONCE_ONLY = re.compile(
    r"(?<![\w])(?:stat|now|x\s*1(?!\d|\s*(?:/|days?|d\b|weeks?|wks?|months?))|once(?!\s+(?:a|per|"
    r"daily|weekly|monthly|yearly|annually|every|in))|single\s+dose|one\s+dose|1\s+dose"
    # "single application at bedtime": one application (seventeenth pass)
    r"|(?:single|one|1)\s+application|loading(?:\s+dose)?|"
    r"(?:on\s+)?day\s+1)(?![\w])",
    re.IGNORECASE,
)
# "up to four times a day when required" is the schedule, its ceiling being the frequency
# (thirteenth pass; batches 8 and 15 label it so), not a limit to mask.
MAX = re.compile(
    r"\b(?:max(?:imum)?|not\s+more\s+than|(?:upto|up\s+to)(?!\s+(?:(?:\d+|one|two|three|four"
    r"|five|six)\s+(?:times|x)\b|qds|qid|tds|tid|bd|bid)))\b[^,;]*",
    re.IGNORECASE,
)

# --- as needed, duration, route ------------------------------------------------------------

PRN_PATTERN = re.compile(
    r"(?<![\w])(?:p\.?r\.?n\.?|s\.?o\.?s\.?|as\s+needed|as\s+required|if\s+needed|if\s+required|"
    r"when\s+required|when\s+needed|as\s+and\s+when(?:\s+required)?|"
    r"if\s+(?:you|she|he|they)\s+needs?(?:\s+(?:it|them|one|to))?"
    # "Sumatriptan 50 mg at onset of migraine" (eleventh pass): taken when it starts
    # "at migraine onset" (twelfth pass): the condition named before "onset"
    r"|at\s+(?:the\s+)?(?:(?!(?:the|of)\b)[a-z]+\s+)?onset(?:\s+of)?)(?![\w])"
    # The reason may be a threshold ("PRN RR < 8", "prn SBP > 180").
    # "PRN with laxative cover", "PRN with food": what it is taken with is no reason
    r"(?:\s+(?:for\s+)?(?P<reason>(?!for\b|max\b|every\b|q\d|with\b)[a-z][a-z/ ]*?"
    # "PRN seizure lasting > 5 min" (fourteenth pass): the threshold may have its unit
    r"(?:\s*[<>]=?\s*\d+(?:\.\d+)?(?:\s*(?:min(?:ute)?s?|secs?|seconds?|h|hrs?|hours?|days?"
    r"|lbs?|kg|mmhg|%|bpm)\b)?)?))?"
    # or a time before the need: "PRN 1 hour before activity".
    # "PRN (max 4 doses/24h)": a bracket after a space too (tenth pass)
    r"(?=$|\s*[,.;:(]|\s+(?:and|then|for|every|max|up\s+to|q\d|before|prior|with)\b|\s+\d"
    r"|\s*#\s?\d)",  # "PRN severe pain #12" (the quantity dispensed, eleventh pass)
    re.IGNORECASE,
)
PRN_IF = re.compile(
    # "- omit if vomiting", "stop if cramps": a condition to hold, not a need (nineteenth pass)
    r"(?<!\bomit\s)(?<!\bskip\s)(?<!\bhold\s)(?<!\bstop\s)(?<!\bwithhold\s)"
    r"\bif\s+(?P<reason>(?:temp(?:erature)?|fever|febrile|pain|painful|vomit\w*|nausea|"
    r"wheez\w*|breathless\w*|sob|short\s+of\s+breath|dyspn\w*|headache|itch\w*|loose\s+stools?|cough|sleepless\w*|"
    r"anxious|agitat\w*|constipat\w*"
    # "Tab Pacitane 2 mg 1-0-0 only if stiffness", "if cramps" (nineteenth pass)
    r"|stiff\w*|rigid\w*|tremors?|cramps?|spasms?|restless\w*)[^,;]*)",
    re.IGNORECASE,
)
DURATION = re.compile(
    r"(?<![\w])(?:for|x|\u00d7|times|till|over|course\s+of)\s*(?:a\s+total\s+of\s+|another\s+|"
    r"(?:the\s+)?next\s+)?(?P<value>\d+(?:\.\d+)?|a|an|one)\s*"
    r"(?P<unit>days?|d|weeks?|wks?|w|months?|mos?|mo|mths?|mnths?)(?![\w])"
    r"|(?<![\w])(?:x\s*)?(?P<num>\d{1,2})\s*/\s*(?P<den>7|52|12)(?![\w/])",
    re.IGNORECASE,
)
DOSE_COUNT = re.compile(r"(?<![\w])x\s*(?P<n>\d+)\s*doses?\b", re.IGNORECASE)
NOTATION = {"7": "d", "52": "wk", "12": "mo"}

ROUTES: tuple[tuple[str, str], ...] = (
    (r"p\.?o\.?|orally|oral|by\s+mouth|per\s+os", "oral"),
    (r"i\.?v\.?|intravenous(?:ly)?|iv\s+push|ivpb|infusion|drip", "intravenous"),
    (r"s\.?c\.?|s/c|sub-?cut(?:aneous(?:ly)?)?|subq|sq|sub-?q", "subcutaneous"),
    (r"i\.?m\.?|intramuscular(?:ly)?", "intramuscular"),
    (r"s\.?l\.?|sublingual(?:ly)?|under\s+the\s+tongue", "sublingual"),
    (
        r"inhaled|inhaler|inhalation|nebuli[sz]ed|nebuli[sz]ation|nebs?|puffs?|mdi|rotacaps?|"
        r"respules?",
        "inhaled",
    ),
    (r"eye\s+drops?|ophthalmic|(?:both|each|left|right)\s+eyes?", "ophthalmic"),
    (r"ear\s+drops?|otic|(?:both|each|left|right)\s+ears?", "otic"),
    (r"nasal(?:ly)?|nasal\s+spray|intranasal|(?:each|both)\s+nostrils?", "nasal"),
    (r"topical(?:ly)?|cream|ointment|gel|lotion|apply", "topical"),
    (r"p\.?r\.?(?=\s|$)|rectal(?:ly)?|suppository", "rectal"),
    (r"transdermal|patch", "transdermal"),
)
ROUTE_RES = [(re.compile(rf"(?<![\w/])(?:{p})(?![\w/])", re.IGNORECASE), r) for p, r in ROUTES]
ORAL_PREFIX = re.compile(r"(?<![\w])(?:tabs?|tablets?|t|caps?|capsules?|syp|syr|syrup|susp)\.?\s*$")

STEP_SPLIT = re.compile(
    # "80 mg IV stat f/b 40 mg IV q12h": "f/b" is "followed by" (eighteenth pass)
    r"[,;]?\s*\b(?:and\s+then|then|followed\s+by|f/b|thereafter|after\s+that)\b"
    # "... and increase this by 1.25 mg every two weeks to a target of 5 mg": the titration
    # is steps of its own, not the start's schedule (sixteenth pass)
    r"|(?=\b(?:increas(?:e|ing)|up-?titrat(?:e|ing)|titrat(?:e|ing)\s+up)(?:\s+(?:this|it|the"
    r"\s+dose))?\s+by\s+\d)",
    re.IGNORECASE,
)
TAPER = re.compile(
    rf"\b(?:taper(?:ing)?|reduce|reducing|decrease|decreasing|wean(?:ing)?)\s+(?:by\s+)?"
    rf"(?P<step>{NUM})\s*(?P<unit>mg|mcg|g|units?|iu)?\s*(?:every|each|per|q|/)\s*"
    rf"(?P<n>\d+\s*)?(?P<per>days?|d|weeks?|wks?|w)\b"
    rf"(?:[^,;]*?\b(?:to|till|until|down\s+to)\s+(?P<floor>{NUM})\s*(?:mg|mcg|g|units?|iu)?)?",
    re.IGNORECASE,
)
# The same steps upwards, to a written target (sixteenth pass).
TITRATE_UP = re.compile(
    r"\b(?:increas(?:e|ing)|up-?titrat(?:e|ing)|titrat(?:e|ing)\s+up)(?:\s+(?:this|it|the\s+dose))?"
    rf"\s+by\s+(?P<step>{NUM})\s*(?P<unit>mg|mcg|g|units?|iu)?\s*(?:every|each|per|q|/)\s*"
    r"(?P<n>\d+\s*)?(?P<per>days?|d|weeks?|wks?|w)\b(?:[^,;]*?\b(?:up\s+)?to\s+(?:a\s+)?"
    rf"(?:(?:target|max(?:imum)?)\s+(?:dose\s+)?(?:of\s+)?)?(?P<ceil>{NUM})\s*(?P<cu>mg|mcg|g)?\b)?",
    re.IGNORECASE,
)
AFTER = re.compile(
    r"\b(?:after|in)\s+(?P<value>\d+(?:\.\d+)?|a|an|one)\s*(?P<unit>days?|weeks?|wks?|months?)\b",
    re.IGNORECASE,
)
MAX_TAPER_STEPS = 20


@dataclass
class Sig:
    """Everything read from one signature."""

    dose: float | None = None
    dose_unit: str | None = None
    strength: float | None = None
    strength_unit: str | None = None
    form_count: float | None = None
    form: str | None = None
    combination_strength: bool = False
    count_written: bool = False  # "2 tablets" written, not read off a 1-0-1 schedule
    timing: Timing | None = None
    as_needed: bool = False
    as_needed_for: str | None = None
    duration: Quantity | None = None
    route: str | None = None
    steps: list[DoseStep] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    before_start: int | None = None  # where a count written before the name starts


WORKED_OUT = re.compile(
    # "(wt 90 kg = 18 units)", "(total 350 mg)"; "(wt 20 kg = 900 mg PO BID)" (twentieth)
    rf"[^()]*?\(\s*(?:(?:wt|weight)\s*[:=]?\s*{NUM}\s*kg\s*)?(?:=\s*|->\s*|\u2192\s*|i\.?e\.?\s*"
    rf"|approx\.?\s*|~\s*|total(?:\s+dose)?\s*[:=]?\s*)?(?P<v>{NUM})\s*"
    r"(?P<u>mg|mcg|micrograms?|g|units?|iu)(?![\w/])[^()]*\)"
    # "- weight 80 kg, so 14,000 units" (sixteenth pass): the same told without brackets
    # "(max 16 mg); wt 12 kg = 7.2 mg", "; weight 14 kg, give 28 mg" (twenty-first pass)
    rf"|(?:[^()]|\([^()]*\))*?\b(?:wt|weight)\s*[:=]?\s*{NUM}\s*kg\s*[,;]?\s*"
    r"(?:so(?:\s+give)?|=|i\.?e\.?|giving|give|total)\s*"
    rf"(?P<v2>{NUM})\s*(?P<u2>mg|mcg|micrograms?|g|units?|iu)\b"
    # "5 micrograms/kg = 300 micrograms", "30 mL/kg bolus = 2250 mL" (twentieth pass)
    rf"|(?:\s*/\s*(?:day|d)\b)?(?:\s+[a-z]+)?\s*(?:=|->|\u2192)\s*(?P<v3>{NUM})\s*"
    r"(?P<u3>mg|mcg|micrograms?|g|units?|iu|ml|mls)(?![\w/])",
    re.IGNORECASE,
)
# After a combination's bare number, a schedule or a written count: the number names the
# variant ("Glycomet GP 2 1-0-1", "GP 1 1 tab BD"; twenty-first pass)
VARIANT_BEFORE = re.compile(r"\s+(?:\d+\s*-\s*\d+\s*-\s*\d|\d\s*(?:tabs?|tablets?)\b)", re.I)
