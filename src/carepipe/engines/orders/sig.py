"""A medication's signature: dose, tablet count, frequency, duration, route, steps.

``parse_sig(window, before, ...)`` reads the words after a drug name (up to the next
drug or the end of the clause) and the few words before it ("half a tablet of ...").
It understands, beside the usual "500 mg twice daily for 7 days":

- numbers with thousands separators and fractions: "60,000 IU", "½ tab", "1/2 tab";
- tablet counts times the strength: "25 mg half tab" is 12.5 mg, "Dolo 650 1 tab" 650 mg;
  counts of puffs, drops, sprays and sachets stay counts ("2 puffs");
- Indian schedules: "1-0-1" (morning-noon-night), "½-0-0", "1-1-1-1";
- shorthand: "x7d", "x 5/7", "BBF", "qhs", "q8h", "q5min", "SOS", "stat", "x1";
- weekly, alternate-day and once-only doses ("stat", "single dose": ``count`` 1);
- weight-based doses ("15 mg/kg") and combination strengths ("875/125 mg": no single dose);
- dose steps: "300 mg stat then 75 mg OD", "30 mg x 1 week then taper by 5 mg every
  week", "20 mg x 5 days then 10 mg x 5 days then stop".

Every piece of text the parser used is returned in ``consumed`` (offsets into the
window), so the engine can tell which words it did not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carepipe.engines.orders.lexicon import TIME_UNITS
from carepipe.engines.orders.models import DoseStep, Quantity, Timing

# --- numbers -------------------------------------------------------------------------------

_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75}
NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:\s*[½¼¾])?|[½¼¾]|\.\d+)"


def to_number(raw: str) -> float:
    """ "60,000" -> 60000, "½" -> 0.5, "1½" -> 1.5, "0.5" -> 0.5."""
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
    "drop": "drop",
    "drops": "drop",
    "spray": "spray",
    "sprays": "spray",
    "sachet": "sachet",
    "sachets": "sachet",
    "respule": "respule",
    "respules": "respule",
    "rotacap": "rotacap",
    "rotacaps": "rotacap",
    "ampoule": "ampoule",
    "vial": "vial",
    "teaspoon": "teaspoon",
    "teaspoons": "teaspoon",
    "tsp": "teaspoon",
}
# Forms whose count is the dose itself, whatever the product's strength.
COUNTED_FORMS = frozenset({"puff", "drop", "spray", "respule"})
# (An inhaled rotacap's count is its dose too; it is reported as capsules.)
_SOLID = frozenset({"tablet", "capsule", "sachet"})


def _alt(words: dict[str, str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_STRENGTH = re.compile(
    rf"(?<![\w.])(?P<v>{NUM})\s*(?P<u>{_alt(STRENGTH_UNITS)})(?P<perkg>\s*/\s*kg\b)?(?![\w])",
    re.IGNORECASE,
)
_CONCENTRATION = re.compile(
    rf"(?<![\w.]){NUM}\s*(?:mg|mcg|g|gm|iu|units?)\s*/\s*(?:{NUM}\s*)?(?:ml|cc|l)\b",
    re.IGNORECASE,
)
_COMBO_STRENGTH = re.compile(
    rf"(?<![\w./-]){NUM}\s*/\s*{NUM}(?:\s*/\s*{NUM})?(?:\s*(?:mg|mcg|g)\b)?(?![\w/])"
    r"(?!\s*(?:a\s+)?(?:tab|cap|pill))",
    re.IGNORECASE,
)
_COUNT = re.compile(
    rf"(?<![\w.])(?P<v>{NUM}|\d+\s*/\s*[24]|half|quarter)\s*(?:a\s+|an\s+)?"
    rf"(?P<f>{_alt(FORMS)})\b\.?",
    re.IGNORECASE,
)
_SCHEDULE_PART = r"(?:[012](?:\.5)?|[½¼¾]|1½)"
_SCHEDULE = re.compile(
    rf"(?<![\w./-])(?P<a>{_SCHEDULE_PART})\s*-\s*(?P<b>{_SCHEDULE_PART})\s*-\s*"
    rf"(?P<c>{_SCHEDULE_PART})(?:\s*-\s*(?P<d>{_SCHEDULE_PART}))?(?![\w./-])"
)
# A strength written without a unit right after the name: "Glycomet 500", "amox 500".
_BARE = re.compile(
    rf"^[\s-]*(?:(?:sr|er|xl|cr|mr|od|retard|forte|ds|plus)\b[\s-]*)?(?P<v>{NUM})(?P<k>k\b)?"
    r"(?![\d.])(?!\s*(?:%|/|-\s*\d|times\b|x\b|days?\b|d\b|weeks?\b|wks?\b|months?\b|"
    r"hours?\b|hrs?\b|h\b|min(?:ute)?s?\b|doses?\b))",
    re.IGNORECASE,
)
_IMPLICIT_ONE = re.compile(r"^\s*(?P<f>sachets?|respules?)\b", re.IGNORECASE)
# Inhaler and nebuliser counts written after the device: "rotacap 1 BD", "respules 2".
_COUNT_AFTER = re.compile(
    r"(?<![\w])(?P<f>rotacaps?|respules?|puffs?)\s+(?P<v>[1-4](?:\.5)?)(?![\d.]|\s*(?:mg|mcg|%))",
    re.IGNORECASE,
)
# The dose form named before the drug: "Tab", "T.", "Cap", "Inj".
_PREFIX_FORM = re.compile(r"(?<![\w])(?P<f>tabs?|tablets?|t|caps?|capsules?)\.?\s*$", re.I)
_INHALED_FORMS = frozenset({"puff", "respule", "rotacap"})

# --- frequency -----------------------------------------------------------------------------

# (pattern, frequency, period, periodUnit, when codes)
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
    (
        r"(?:once\s+)?weekly|once\s+(?:a|per|every)\s+week|every\s+week|(?:a|per)\s+week|/\s*wk",
        1,
        1,
        "wk",
        (),
    ),
    (r"(?:once\s+)?monthly|once\s+(?:a|per)\s+month|every\s+month", 1, 1, "mo", ()),
    (
        r"q\.?d|o\.?d|once\s+(?:a\s+day|daily)|daily|every\s+day|(?:a|per)\s+day|/\s*day",
        1,
        1,
        "d",
        (),
    ),
    (r"q\.?h\.?s|h\.?s|at\s+bed\s*time|bedtime|before\s+(?:bed|sleep)|nocte", 1, 1, "d", ("HS",)),
    (r"at\s+night|nightly|every\s+night|each\s+night|in\s+the\s+night", 1, 1, "d", ("NIGHT",)),
    (r"every\s+morning|each\s+morning|in\s+the\s+morning|q\.?am|mane", 1, 1, "d", ("MORN",)),
    (r"every\s+evening|in\s+the\s+evening|q\.?pm", 1, 1, "d", ("EVE",)),
    (r"bbf|before\s+breakfast", 1, 1, "d", ("ACM",)),
    (r"after\s+breakfast", 1, 1, "d", ("PCM",)),
    (r"after\s+lunch", 1, 1, "d", ("PCD",)),
    (r"with\s+(?:dinner|supper)", 1, 1, "d", ("CV",)),
    (r"after\s+dinner", 1, 1, "d", ("PCV",)),
    (r"before\s+dinner", 1, 1, "d", ("ACV",)),
    (r"at\s+\d{1,2}(?::\d\d)?\s*(?:am|pm)", 1, 1, "d", ()),
    (r"before\s+(?:each\s+|every\s+)?meals?|a\.?c\.?(?=\s|$)", 3, 1, "d", ("AC",)),
    (r"with\s+(?:each\s+|every\s+)?meals?", 3, 1, "d", ("C",)),
)
_FREQ_RES = [
    (re.compile(rf"(?<![\w/])(?:{p})(?![\w])", re.IGNORECASE), f, per, u, w)
    for p, f, per, u, w in _FREQ
]
# Words that only say WHEN a daily dose is taken: they do not override a stated count.
_WHEN_ONLY = frozenset({"HS", "NIGHT", "MORN", "EVE", "ACM", "PCM", "PCD", "CV", "PCV", "ACV"})
_EVERY = re.compile(
    r"(?<![\w])(?:every|q)\s*(?P<p>\d+(?:\.\d+)?)(?:\s*(?:to|-|\u2013)\s*(?P<pmax>\d+(?:\.\d+)?))?"
    r"\s*(?P<unit>hours?|hrs?|h|hourly|minutes?|mins?|min|days?|d|weeks?|wks?|w)(?![\w])",
    re.IGNORECASE,
)
_TIMES_PER = re.compile(
    r"(?P<n>\d+)\s*(?:times|x)\s*(?:a|per|/|every)\s*(?P<unit>day|week|month)", re.IGNORECASE
)
_ONCE_ONLY = re.compile(
    r"(?<![\w])(?:stat|now|x\s*1(?!\d|\s*(?:/|days?|d\b|weeks?|wks?|months?))|once(?!\s+(?:a|per|"
    r"daily|weekly|monthly|every|in))|single\s+dose|one\s+dose|1\s+dose|loading(?:\s+dose)?|"
    r"(?:on\s+)?day\s+1)(?![\w])",
    re.IGNORECASE,
)
_MAX = re.compile(r"\b(?:max(?:imum)?|not\s+more\s+than|upto|up\s+to)\b[^,;]*", re.IGNORECASE)

# --- as needed, duration, route ------------------------------------------------------------

_PRN = re.compile(
    r"(?<![\w])(?:p\.?r\.?n\.?|s\.?o\.?s\.?|as\s+needed|as\s+required|if\s+needed|if\s+required|"
    r"when\s+required|when\s+needed|as\s+and\s+when(?:\s+required)?)(?![\w])"
    r"(?:\s+(?:for\s+)?(?P<reason>(?!for\b|max\b|every\b|q\d)[a-z][a-z/ ]*?))?"
    r"(?=$|[,.;(]|\s+(?:and|then|for|every|max|up\s+to|q\d)\b)",
    re.IGNORECASE,
)
_PRN_IF = re.compile(
    r"\bif\s+(?P<reason>(?:temp(?:erature)?|fever|febrile|pain|painful|vomit\w*|nausea|"
    r"wheez\w*|breathless\w*|sob|headache|itch\w*|loose\s+stools?|cough|sleepless\w*|"
    r"anxious|agitat\w*|constipat\w*)[^,;]*)",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"(?<![\w])(?:for|x|times|till|over|course\s+of)\s*(?:a\s+total\s+of\s+|another\s+|"
    r"(?:the\s+)?next\s+)?(?P<value>\d+(?:\.\d+)?|a|an|one)\s*"
    r"(?P<unit>days?|d|weeks?|wks?|w|months?|mos?|mo)(?![\w])"
    r"|(?<![\w])(?:x\s*)?(?P<num>\d{1,2})\s*/\s*(?P<den>7|52|12)(?![\w/])",
    re.IGNORECASE,
)
_DOSE_COUNT = re.compile(r"(?<![\w])x\s*(?P<n>\d+)\s*doses?\b", re.IGNORECASE)
_NOTATION = {"7": "d", "52": "wk", "12": "mo"}

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
_ROUTE_RES = [(re.compile(rf"(?<![\w/])(?:{p})(?![\w/])", re.IGNORECASE), r) for p, r in ROUTES]
_ORAL_PREFIX = re.compile(
    r"(?<![\w])(?:tabs?|tablets?|t|caps?|capsules?|syp|syr|syrup|susp)\.?\s*$"
)

_STEP_SPLIT = re.compile(
    r"[,;]?\s*\b(?:and\s+then|then|followed\s+by|thereafter|after\s+that)\b", re.IGNORECASE
)
_TAPER = re.compile(
    rf"\b(?:taper(?:ing)?|reduce|reducing|decrease|decreasing|wean(?:ing)?)\s+(?:by\s+)?"
    rf"(?P<step>{NUM})\s*(?P<unit>mg|mcg|g|units?|iu)?\s*(?:every|each|per|q|/)\s*"
    rf"(?P<n>\d+\s*)?(?P<per>days?|d|weeks?|wks?|w)\b"
    rf"(?:[^,;]*?\b(?:to|till|until|down\s+to)\s+(?P<floor>{NUM})\s*(?:mg|mcg|g|units?|iu)?)?",
    re.IGNORECASE,
)
_AFTER = re.compile(
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
    timing: Timing | None = None
    as_needed: bool = False
    as_needed_for: str | None = None
    duration: Quantity | None = None
    route: str | None = None
    steps: list[DoseStep] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    before_start: int | None = None  # where a count written before the name starts


# --- the pieces ----------------------------------------------------------------------------


def _count_value(raw: str) -> float:
    low = raw.lower().replace(" ", "")
    if low == "half":
        return 0.5
    if low == "quarter":
        return 0.25
    if re.fullmatch(r"\d+/\d+", low):
        a, b = low.split("/")
        return int(a) / int(b)
    return to_number(raw)


def parse_timing(text: str, consumed: list[tuple[int, int]] | None = None) -> Timing | None:
    """Frequency words -> ``Timing`` (with ``count`` 1 for once-only doses)."""
    text = _MAX.sub(lambda m: " " * len(m.group(0)), text)  # "max 3 per day" is a limit
    used = consumed if consumed is not None else []
    m = _SCHEDULE.search(text)
    if m:
        parts = [m.group(k) for k in "abcd" if m.group(k) is not None]
        values = [to_number(p) for p in parts]
        nonzero = [v for v in values if v > 0]
        if nonzero:
            used.append(m.span())
            names = ("MORN", "AFT", "NIGHT") if len(values) == 3 else ("MORN", "AFT", "EVE", "HS")
            when = [w for w, v in zip(names, values, strict=True) if v > 0]
            return Timing(frequency=len(nonzero), period=1, periodUnit="d", when=when or None)
    m = _EVERY.search(text)
    if m:
        used.append(m.span())
        unit_word = m.group("unit").lower()
        unit = "h" if unit_word.startswith("h") else TIME_UNITS.get(unit_word, "d")
        if unit_word.startswith("min"):
            unit = "min"
        pmax = float(m.group("pmax")) if m.group("pmax") else None
        return Timing(frequency=1, period=float(m.group("p")), periodMax=pmax, periodUnit=unit)  # type: ignore[arg-type]
    m = _TIMES_PER.search(text)
    if m:
        used.append(m.span())
        unit = {"day": "d", "week": "wk", "month": "mo"}[m.group("unit").lower()]
        return Timing(frequency=int(m.group("n")), period=1, periodUnit=unit)  # type: ignore[arg-type]
    hits = []
    for rx, f, per, u, when in _FREQ_RES:
        for mm in rx.finditer(text):
            hits.append((mm.start(), mm.end(), f, per, u, when))
    if hits:
        used.extend((h[0], h[1]) for h in hits)
        counted = [h for h in hits if not (set(h[5]) & _WHEN_ONLY)]
        # The earliest phrase; at one position the longest ("twice weekly", not "twice").
        chosen = min(counted or hits, key=lambda h: (h[0], -(h[1] - h[0])))
        when_codes = sorted(
            {w for h in hits for w in h[5] if h[2] == chosen[2] and h[4] == chosen[4]}
        )
        return Timing(
            frequency=chosen[2],
            period=chosen[3],
            periodUnit=chosen[4],  # type: ignore[arg-type]
            when=when_codes or None,
        )
    m = _ONCE_ONLY.search(text)
    if m:
        used.append(m.span())
        return Timing(count=1)
    return None


def parse_duration(text: str, consumed: list[tuple[int, int]] | None = None) -> Quantity | None:
    """ "x 5 days", "x7d", "for 2 weeks", "x 5/7" -> a Quantity."""
    for m in _DURATION.finditer(text):
        if m.group("num"):
            value, unit = float(m.group("num")), _NOTATION[m.group("den")]
        else:
            raw = m.group("value").lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            unit_word = m.group("unit").lower()
            unit = TIME_UNITS.get(unit_word) or TIME_UNITS.get(unit_word.rstrip("s"), "d")
            if m.group(0).lower().startswith(("times", "over")) and unit not in ("d", "wk", "mo"):
                continue
        if value <= 0:
            continue
        if consumed is not None:
            consumed.append(m.span())
        return Quantity(value=value, unit=unit)  # type: ignore[arg-type]
    return None


def parse_prn(text: str, consumed: list[tuple[int, int]] | None = None) -> tuple[bool, str | None]:
    """(as_needed, reason) from "SOS", "prn pain", "if temp > 100 F"."""
    m = _PRN.search(text)
    if m:
        if consumed is not None:
            consumed.append(m.span())
        reason = (m.group("reason") or "").strip() or None
        return True, reason
    m2 = _PRN_IF.search(text)
    if m2:
        if consumed is not None:
            consumed.append(m2.span())
        return True, m2.group("reason").strip()
    return False, None


def parse_route(text: str, before: str = "") -> str | None:
    """Route words ("po", "IV", "subq", "SL", "nebs", "eye drops") -> FHIR-friendly words."""
    best: tuple[int, str] | None = None
    for rx, route in _ROUTE_RES:
        m = rx.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), route)
    if best is not None:
        return best[1]
    if _ORAL_PREFIX.search(before.lower().rstrip()):
        return "oral"
    return None


def _strengths(text: str, used: list[tuple[int, int]]) -> tuple[tuple[float, str] | None, bool]:
    """(first strength, whether a combination strength "75/10" was written)."""
    masked = text
    for m in _CONCENTRATION.finditer(text):
        used.append(m.span())
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    combo = False
    for m in _COMBO_STRENGTH.finditer(masked):
        _left, right = re.split(r"\s*/\s*", m.group(0).strip())[:2]
        if re.sub(r"\D", "", right) in ("7", "52", "12"):
            continue  # "5/7", "2/52": days and weeks, not a strength
        combo = True
        used.append(m.span())
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    for m in _STRENGTH.finditer(masked):
        unit = STRENGTH_UNITS[m.group("u").lower()]
        if m.group("perkg"):
            unit = f"{unit}/kg"
        used.append(m.span())
        return (to_number(m.group("v")), unit), combo
    return None, combo


def _count(text: str, used: list[tuple[int, int]]) -> tuple[float, str] | None:
    for m in _COUNT.finditer(text):
        value = _count_value(m.group("v"))
        if 0 < value <= 10:  # "250 rotacap" is a strength, not 250 capsules
            used.append(m.span())
            return value, FORMS[m.group("f").lower()]
    return None


def _one_step(text: str, default_unit: str, combination: bool, sig: Sig) -> None:
    """Fill dose, timing, duration, PRN of one step's text into ``sig``."""
    used = sig.consumed
    strength, combo = _strengths(text, used)
    count = _count(text, used)
    if count is None:
        after = _COUNT_AFTER.search(text)
        if after is not None:
            used.append(after.span())
            count = (to_number(after.group("v")), FORMS[after.group("f").lower()])
    timing = parse_timing(text, used)
    schedule = _SCHEDULE.search(text)
    schedule_count: float | None = None
    if schedule is not None:
        values = [to_number(g) for g in schedule.groups() if g is not None]
        nonzero = {v for v in values if v > 0}
        if len(nonzero) == 1:
            schedule_count = nonzero.pop()
        elif nonzero:
            schedule_count = next(v for v in values if v > 0)
            sig.notes.append("unequal doses in the schedule: the first is given")
    if strength is None and not combo:
        bare = _BARE.match(text)
        if bare is not None:
            value = to_number(bare.group("v")) * (1000 if bare.group("k") else 1)
            rest = text[bare.end() :]
            if value <= 2 and (combination or re.match(r"\s*(?:[a-z]|\d-)", rest, re.I)):
                if count is None:
                    count = (value, sig.form or "tablet")
            elif value > 0:
                strength = (value, default_unit)
                sig.notes.append("unit assumed")
            used.append(bare.span("v"))
    if count is None and strength is None:
        implicit = _IMPLICIT_ONE.match(text)
        if implicit is not None:
            count = (1.0, FORMS[implicit.group("f").lower()])
            used.append(implicit.span())
    sig.combination_strength = sig.combination_strength or combo
    if strength is not None:
        sig.strength, sig.strength_unit = strength
    if count is not None:
        sig.form_count, sig.form = count
    elif schedule_count is not None:
        sig.form_count = schedule_count
    sig.timing = timing
    sig.duration = parse_duration(text, used)
    dose_count = _DOSE_COUNT.search(text)
    if dose_count is not None:
        used.append(dose_count.span())
        if sig.timing is not None and sig.timing.count is None:
            sig.timing.count = int(dose_count.group("n"))
    prn, reason = parse_prn(text, used)
    sig.as_needed = sig.as_needed or prn
    sig.as_needed_for = sig.as_needed_for or reason
    _compose_dose(sig)


def _compose_dose(sig: Sig) -> None:
    """dose = strength x count for solid forms; a count of puffs/drops is the dose."""
    if sig.form in COUNTED_FORMS and sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, sig.form
    elif sig.form == "rotacap" and sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, "capsule"
    elif sig.strength is not None:
        count = sig.form_count if (sig.form in _SOLID or sig.form is None) else None
        if count is not None and count > 0 and sig.strength_unit != "mL":
            sig.dose = round(sig.strength * count, 6)
        else:
            sig.dose = sig.strength
        sig.dose_unit = sig.strength_unit
    elif sig.combination_strength:
        sig.dose, sig.dose_unit = None, None
    elif sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, sig.form or "tablet"


def _before_count(before: str, sig: Sig) -> None:
    """ "half a tablet of (the) amlodipine", "2 puffs of salbutamol"."""
    m = re.search(
        rf"(?P<v>{NUM}|half|\d+\s*/\s*[24])\s*(?:a\s+|an\s+)?(?P<f>{_alt(FORMS)})\s+"
        r"(?:of\s+)?(?:the\s+|your\s+)?(?:tab(?:let)?s?\.?\s+|cap(?:sule)?s?\.?\s+)?$",
        before,
        re.IGNORECASE,
    )
    if m is None:
        return
    sig.form_count = _count_value(m.group("v"))
    sig.form = FORMS[m.group("f").lower()]
    sig.before_start = m.start()


def _expand_taper(start: DoseStep, m: re.Match[str]) -> list[DoseStep]:
    """ "taper by 5 mg every week" from 30 mg: 25, 20, 15, 10, 5 mg a week each."""
    if start.dose is None:
        return []
    step = to_number(m.group("step"))
    per_n = float(m.group("n")) if m.group("n") else 1.0
    per = TIME_UNITS.get(m.group("per").lower()) or TIME_UNITS.get(m.group("per").lower()[:2], "d")
    floor = to_number(m.group("floor")) if m.group("floor") else step
    if step <= 0 or step >= start.dose:
        return []
    every = Quantity(value=per_n, unit=per)  # type: ignore[arg-type]
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


def _step_of(sig: Sig, text: str) -> DoseStep:
    return DoseStep(
        dose=sig.dose,
        dose_unit=sig.dose_unit,
        timing=sig.timing,
        duration=sig.duration,
        text=text.strip(" ,;"),
    )


def continue_steps(
    previous: DoseStep,
    text: str,
    default_unit: str = "mg",
    offset: int = 0,
    consumed: list[tuple[int, int]] | None = None,
) -> list[DoseStep]:
    """Steps that ``text`` adds after ``previous`` ("then 75 mg OD", "taper by 5 mg weekly").

    ``previous`` may be completed in place (a duration read from "after 2 weeks").
    """
    out: list[DoseStep] = []
    last = previous
    for seg_start, seg_end in _segments(text):
        seg = text[seg_start:seg_end]
        taper = _TAPER.search(seg)
        if taper is not None:
            if consumed is not None:
                consumed.append(
                    (offset + seg_start + taper.start(), offset + seg_start + taper.end())
                )
            expanded = _expand_taper(last, taper)
            out.extend(expanded)
            if expanded:
                last = expanded[-1]
            continue
        sub = Sig()
        _one_step(seg, default_unit, False, sub)
        if sub.dose is None and sub.timing is None:
            continue
        after = _AFTER.search(seg)
        if after is not None and last.duration is None:
            raw = after.group("value").lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            unit = TIME_UNITS.get(after.group("unit").lower()) or "d"
            last.duration = Quantity(value=value, unit=unit)  # type: ignore[arg-type]
            sub.consumed.append(after.span())
        if consumed is not None:
            consumed.extend(
                (offset + seg_start + s, offset + seg_start + e) for s, e in sub.consumed
            )
        step = _step_of(sub, seg)
        if step.timing is None and last.timing is not None:
            step.timing = last.timing.model_copy()
            if step.timing.count == 1:
                step.timing = None
        if step.dose is None:
            step.dose, step.dose_unit = last.dose, last.dose_unit
        elif step.dose_unit is None:
            step.dose_unit = last.dose_unit
        out.append(step)
        last = step
    return out


def _segments(text: str) -> list[tuple[int, int]]:
    out = []
    cursor = 0
    for m in _STEP_SPLIT.finditer(text):
        out.append((cursor, m.start()))
        cursor = m.end()
    out.append((cursor, len(text)))
    return [(s, e) for s, e in out if text[s:e].strip()]


def parse_sig(
    window: str,
    before: str = "",
    default_unit: str = "mg",
    combination: bool = False,
) -> Sig:
    """Read the signature in ``window`` (the words after a drug name).

    ``before`` is the clause text before the name (for "half a tablet of X", "Tab", "Inj").
    """
    sig = Sig()
    prefix = _PREFIX_FORM.search(before.rstrip())
    if prefix is not None:
        sig.form = FORMS.get(prefix.group("f").lower(), "tablet")
    _before_count(before, sig)
    segments = _segments(window)
    first_end = segments[0][1] if segments else len(window)
    first_text = window[:first_end]
    _one_step(first_text, default_unit, combination, sig)
    sig.route = parse_route(window, before)
    if sig.route is None and sig.form in COUNTED_FORMS and sig.form in ("puff", "respule"):
        sig.route = "inhaled"
    rest_start = first_end
    if rest_start < len(window):
        first = _step_of(sig, first_text)
        more = continue_steps(first, window[rest_start:], default_unit, rest_start, sig.consumed)
        if more:
            sig.steps = [first, *more]
            sig.duration = first.duration
    return sig
