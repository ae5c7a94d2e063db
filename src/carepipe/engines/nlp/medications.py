"""Medication mentions in free text: drug, dose, route, frequency, as-needed, duration.

    >>> m = find_medications("start metformin five hundred mg twice a day for 3 months")[0]
    >>> (m.name, m.dose, m.dose_unit, m.timing.frequency, m.timing.period_unit, m.duration)
    ('metformin', 500.0, 'mg', 2, 'd', (3.0, 'mo'))

Drugs are found by lexicon (generics, synonyms, brands; a one-letter ASR slip in a long
name is accepted at lower confidence). The signature (dose, route, frequency...) is read
from the words after the drug up to the next drug or the end of the clause, plus
"two puffs of", "500 mg of" in front of it. Spoken numbers are normalised first, and all
spans point into the text as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from carepipe.engines.nlp.lexicon.medications import BRANDS, GENERICS
from carepipe.engines.nlp.matcher import PhraseMatch, PhraseMatcher, edit_distance, tokenize
from carepipe.engines.nlp.negation import assertion
from carepipe.engines.nlp.numbers import NormalizedText, normalize_numbers

# --- result types ----------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Like FHIR ``Timing.repeat``: ``frequency`` times per ``period`` ``period_unit``."""

    frequency: int
    period: float
    period_unit: str  # "h" | "d" | "wk" | "mo"
    when: tuple[str, ...] = ()  # FHIR EventTiming codes: MORN, NIGHT, HS, ACM, PC...


@dataclass
class MedicationMention:
    """One medication mentioned in the text, with whatever signature was said."""

    name: str  # canonical lower-case generic
    dose: float | None = None
    dose_unit: str | None = None  # mg, g, mcg, mL, [iU], puff, tablet, capsule, drop...
    route: str | None = None  # oral, inhaled, subcutaneous, intravenous, topical...
    frequency_text: str | None = None  # as said: "twice a day"
    timing: Timing | None = None
    as_needed: bool = False
    duration: tuple[float, str] | None = None  # (value, "d"|"wk"|"mo"|"h")
    start: int = 0  # span of the whole mention (drug + signature) in the input
    end: int = 0
    confidence: float = 0.0
    rxnorm: str | None = None  # RxNorm ingredient RxCUI, only where known reliably
    surface: str = ""  # the drug name as written ("Dolo", "metforman")
    name_start: int = 0  # span of the drug name alone
    name_end: int = 0
    form: str | None = None  # tablet, capsule, syrup, inhaler, injection, cream, drops...
    quantity: float | None = None  # "two tablets" -> 2 (count per dose, beside strength)
    action: str | None = None  # start | stop | continue | increase | decrease
    assertion: str = "present"  # present | negated | hypothetical | possible | historical...
    matched_by: str = "lexicon"  # lexicon | brand | fuzzy
    notes: list[str] = field(default_factory=list)  # why confidence is what it is

    @property
    def negated(self) -> bool:
        """True for "no aspirin", "not taking metformin"."""
        return self.assertion == "negated"


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
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNIT_MAP), key=len, reverse=True))
_NUM = r"(\d+(?:\.\d+)?)"
# "500 mg", "500mg", "1.5 tablets", "10 units", "2 puffs", "0.5 %"
DOSE_RE = re.compile(
    _NUM + r"\s*(?:-\s*)?(" + _UNIT_ALT + r"|%)(?![A-Za-z])(?:\s+(?:international\s+)?units?)?",
    re.IGNORECASE,
)
INTERNATIONAL_UNITS_RE = re.compile(_NUM + r"\s*international\s+units?", re.IGNORECASE)

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
_ROUTE_RES = [(re.compile(p, re.IGNORECASE), r) for p, r in ROUTES]
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
_FORM_RES = [(re.compile(r"\b(?:" + p + r")", re.IGNORECASE), f) for p, f in FORMS]
_FORM_ROUTE = {
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
_FREQ_RES = [
    (re.compile(r"\b(?:" + p + r")", re.IGNORECASE), f, pe, u, w) for p, f, pe, u, w in _FREQ_TABLE
]
_EVERY_N_RE = re.compile(
    r"\b(?:every|q)\s*" + _N + r"(?:\s*(?:to|-)\s*" + _N + r")?\s*"
    r"(hours?|hrs?|h|hourly|days?|weeks?|wks?|months?)\b",
    re.IGNORECASE,
)
_N_TIMES_RE = re.compile(
    r"\b" + _N + r"\s*(?:times|x)\s*(?:a|per|every|/)\s*(day|week|month)\b", re.IGNORECASE
)
# Indian prescription shorthand "1-0-1" (morning-noon-night).
_MNN_RE = re.compile(r"\b([01](?:\.5)?)\s*-\s*([01](?:\.5)?)\s*-\s*([01](?:\.5)?)\b")
_PRN_RE = re.compile(
    r"\b(?:as needed|as required|when needed|when required|if needed|if required|prn|p\.r\.n\.?"
    r"|\bsos\b|as and when|when (?:you|he|she) (?:need|needs) it|if (?:there is |you have |"
    r"he has |she has )?(?:pain|fever|wheez\w*|breathless\w*))",
    re.IGNORECASE,
)
_DURATION_RE = re.compile(
    r"\b(?:for|x|times|over|course of)\s*(?:(?:the )?(?:next|another) )?"
    r"(" + r"\d+(?:\.\d+)?|a|an|one" + r")\s*(?:more\s+)?"
    r"(days?|weeks?|wks?|months?|hours?|hrs?)\b",
    re.IGNORECASE,
)
_DURATION_UNITS = {"day": "d", "week": "wk", "wk": "wk", "month": "mo", "hour": "h", "hr": "h"}

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
_ACTION_RES = [(re.compile(p, re.IGNORECASE), a) for p, a in _ACTIONS]

# Words that end the signature of one drug (a new clause about something else).
_CLAUSE_END_RE = re.compile(
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
_NOT_A_DRUG_AFTER = re.compile(
    r"^\s*(?:deficiency|deficient|levels?|saturation|sats?|sat\b|resistance|overload|"
    r"studies|study|stores|toxicity|allergy|sensitivity|intolerance|level|count|test|"
    r"replacement therapy is not)",
    re.IGNORECASE,
)
_SATURATION_AFTER = re.compile(
    r"^\s*(?:(?:is|was|at|of|level|levels|sat\w*|reading)\s+)*(?:about |around )?\d+(?:\.\d+)?"
    r"\s*(?:%|percent|per cent)",
    re.IGNORECASE,
)
_MED_CUE_RE = re.compile(
    r"\b(?:take|taking|takes|start|started|prescrib\w*|give|gave|giving|on|dose|tablets?|"
    r"capsules?|supplements?|injections?|units?|mg|mcg|g|ml|daily|twice|once|continue|stop|"
    r"spray|drops|nasal|cream|ointment|inhaler|syrup|sachets?|drip|infusion|nebuli[sz]\w+)\b",
    re.IGNORECASE,
)

LOW_CONFIDENCE_FUZZY = 0.5


@dataclass(frozen=True)
class _Lexicon:
    matcher: PhraseMatcher
    rxnorm: dict[str, str | None]
    brand_keys: frozenset[tuple[str, ...]]
    single_names: tuple[str, ...]  # one-word names for fuzzy matching


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    phrases: list[tuple[str, str]] = []
    for name in GENERICS:
        phrases.append((name, name))
    for name, row in GENERICS.items():
        for syn in row["synonyms"]:  # type: ignore[union-attr]
            phrases.append((syn, name))
    for brand, generic in BRANDS.items():
        phrases.append((brand, generic))
    from carepipe.engines.nlp.matcher import phrase_key

    singles = {name for name in GENERICS if " " not in name and len(name) >= 7}
    singles |= {
        s
        for row in GENERICS.values()
        for s in row["synonyms"]  # type: ignore[union-attr]
        if " " not in s and len(s) >= 7
    }
    return _Lexicon(
        matcher=PhraseMatcher(phrases),
        rxnorm={n: r["rxnorm"] for n, r in GENERICS.items()},  # type: ignore[misc]
        brand_keys=frozenset(phrase_key(b) for b in BRANDS),
        single_names=tuple(sorted(singles)),
    )


def lookup_medication(name: str) -> str | None:
    """The canonical generic for a name, synonym or brand ("Tylenol" -> "acetaminophen")."""
    return _lexicon().matcher.lookup(name)


def rxnorm_code(name: str) -> str | None:
    """RxNorm ingredient RxCUI of a canonical generic, where known."""
    canonical = lookup_medication(name) or name
    return _lexicon().rxnorm.get(canonical)


def _fuzzy_matches(text: str, taken: list[tuple[int, int]]) -> list[PhraseMatch]:
    """One-edit ASR slips in long drug names ("metforman", "amlodapine")."""
    lex = _lexicon()
    out: list[PhraseMatch] = []
    toks = tokenize(text)
    for idx, t in enumerate(toks):
        if len(t.text) < 7 or not t.text.isalpha():
            continue
        if any(s <= t.start < e for s, e in taken):
            continue
        best = None
        for cand in lex.single_names:
            if cand[0] != t.text[0] or abs(len(cand) - len(t.text)) > 1:
                continue
            limit = 1 if len(t.text) < 10 else 2
            d = edit_distance(t.text, cand, limit)
            if 0 < d <= limit and (best is None or d < best[0]):
                best = (d, cand)
        if best is not None:
            key = lex.matcher.lookup(best[1])
            if key is not None:
                out.append(PhraseMatch(key, t.text, t.start, t.end, idx, idx + 1))
    return out


def _timing(window: str) -> tuple[Timing | None, str | None, tuple[int, int] | None]:
    """Frequency in a signature window: (Timing, text as said, span in window)."""
    m = _EVERY_N_RE.search(window)
    if m:
        n = float(m.group(1))
        unit_word = m.group(3).lower()
        if unit_word.startswith("h"):
            unit = "h"
        elif unit_word.startswith("d"):
            unit = "d"
        elif unit_word.startswith("w"):
            unit = "wk"
        else:
            unit = "mo"
        return Timing(1, n, unit), m.group(0), m.span()
    m = _N_TIMES_RE.search(window)
    if m:
        unit = {"day": "d", "week": "wk", "month": "mo"}[m.group(2).lower()]
        return Timing(int(float(m.group(1))), 1, unit), m.group(0), m.span()
    m = _MNN_RE.search(window)
    if m:
        parts = [float(g) for g in m.groups()]
        count = sum(1 for p in parts if p > 0)
        when = tuple(w for w, p in zip(("MORN", "AFT", "NIGHT"), parts, strict=True) if p > 0)
        if count:
            return Timing(count, 1, "d", when), m.group(0), m.span()
    best: tuple[int, re.Match[str], int, float, str, tuple[str, ...]] | None = None
    for rx, f, pe, u, w in _FREQ_RES:
        for m in rx.finditer(window):
            # Prefer the longest phrase; on ties the earlier table row (more specific).
            length = m.end() - m.start()
            if best is None or length > best[0]:
                best = (length, m, f or 1, pe or 1, u, w)
    if best is not None:
        _, m, f, pe, u, w = best
        return Timing(f, pe, u, w), m.group(0), m.span()
    return None, None, None


def _duration(window: str) -> tuple[tuple[float, str] | None, tuple[int, int] | None]:
    for m in _DURATION_RE.finditer(window):
        raw = m.group(1).lower()
        value = 1.0 if raw in ("a", "an", "one") else float(raw)
        unit_word = m.group(2).lower().rstrip("s")
        unit = _DURATION_UNITS.get(unit_word, _DURATION_UNITS.get(unit_word[:2], "d"))
        # "2 times a day" is a frequency, not a duration.
        if m.group(0).lower().startswith("times"):
            continue
        return (value, unit), m.span()
    return None, None


def _route(window: str) -> str | None:
    for rx, route in _ROUTE_RES:
        if rx.search(window):
            return route
    return None


def _form(window: str) -> str | None:
    for rx, form in _FORM_RES:
        if rx.search(window):
            return form
    return None


def _window_end(norm: str, start: int, limit: int) -> int:
    m = _CLAUSE_END_RE.search(norm, start, limit)
    end = m.start() if m else limit
    # At most ~100 characters: a signature is short.
    return min(end, start + 100)


def _clause_start(norm: str, end: int, floor: int) -> int:
    lo = max(floor, end - 60)
    last = lo
    for m in re.finditer(r"[.;!?\n]", norm[lo:end]):
        last = lo + m.end()
    return last


def find_medications(text: str) -> list[MedicationMention]:
    """Every medication mentioned in ``text``, in order, with its signature.

    Negated or hypothetical mentions ("not on aspirin", "if the pain persists take
    ibuprofen") are returned too, with ``assertion`` set, so callers decide; allergies
    ("allergic to penicillin") are not medications and are skipped.
    """
    if not text:
        return []
    nt: NormalizedText = normalize_numbers(text, colloquial=True)
    norm = nt.text
    lex = _lexicon()
    toks = tokenize(norm)
    matches = lex.matcher.find(norm, toks)
    matches += _fuzzy_matches(norm, [(m.start, m.end) for m in matches])
    matches.sort(key=lambda m: m.start)
    out: list[MedicationMention] = []
    for idx, m in enumerate(matches):
        nxt = matches[idx + 1].start if idx + 1 < len(matches) else len(norm)
        prev_end = matches[idx - 1].end if idx > 0 else 0
        after = norm[m.end : nxt]
        if _NOT_A_DRUG_AFTER.match(after):
            continue
        if m.key == "oxygen" and _SATURATION_AFTER.match(after):
            continue  # "your oxygen is 92 percent" is a saturation
        before_start = _clause_start(norm, m.start, prev_end)
        before = norm[before_start : m.start]
        if re.search(
            r"\ballerg(?:ic|y|ies)\s+(?:reaction\s+)?(?:to|with)\s+(?:\w+\s+){0,3}$"
            r"|\bintoleran\w*\s+(?:to|of)\s+(?:\w+\s+){0,2}$|\breaction to\s*$"
            r"|\breact(?:s|ed)? (?:badly )?to\s*$",
            before,
            re.IGNORECASE,
        ):
            continue  # an allergy, reported by the allergies module
        w_end = _window_end(norm, m.end, nxt)
        window = norm[m.end : w_end]
        mention = _build(norm, m, before, before_start, window, lex)
        if mention is None:
            continue
        # Spans back to the original text.
        os_, oe = nt.to_original(mention.start, mention.end)
        ns, ne = nt.to_original(m.start, m.end)
        mention.start, mention.end = os_, oe
        mention.name_start, mention.name_end = ns, ne
        mention.surface = text[ns:ne]
        mention.assertion = assertion(text, ns, ne)
        if mention.assertion != "present":
            mention.notes.append(f"assertion:{mention.assertion}")
        out.append(mention)
    # A drug named as an allergen ("Codeine, it makes me vomit") is not being taken.
    from carepipe.engines.nlp.allergies import find_allergies  # allergies imports this module

    allergen_spans = [(a.start, a.end) for a in find_allergies(text)]
    return [m for m in out if not any(s <= m.name_start < e for s, e in allergen_spans)]


def _build(
    norm: str,
    m: PhraseMatch,
    before: str,
    before_start: int,
    window: str,
    lex: _Lexicon,
) -> MedicationMention | None:
    name = m.key
    is_brand = tuple(t.text for t in tokenize(m.surface)) in lex.brand_keys
    matched_by = "brand" if is_brand and name not in m.surface.lower() else "lexicon"
    if (
        m.surface.lower() != name
        and not any(
            m.surface.lower() == s
            for s in GENERICS[name]["synonyms"]  # type: ignore[operator]
        )
        and not is_brand
    ):
        matched_by = "fuzzy"
    mention = MedicationMention(name=name, rxnorm=lex.rxnorm.get(name), matched_by=matched_by)
    span_start, span_end = m.start, m.end
    conf = 0.7 if matched_by != "fuzzy" else LOW_CONFIDENCE_FUZZY

    # Dose after the name: the first strength, or a count of a dose form.
    strength = None
    count = None
    for dm in DOSE_RE.finditer(window):
        unit = UNIT_MAP.get(dm.group(2).lower(), dm.group(2))
        if dm.group(0).lower().rstrip().endswith("international units"):
            unit = "[iU]"
        if unit in STRENGTH_UNITS and strength is None:
            strength = (float(dm.group(1)), unit, dm.end())
        elif unit not in STRENGTH_UNITS and count is None:
            count = (float(dm.group(1)), unit, dm.end())
    # "two puffs of albuterol", "500 mg of amoxicillin", "one tablet of dolo"
    pre = re.search(
        _NUM + r"\s*(" + _UNIT_ALT + r")\s*(?:of\s+(?:the\s+)?)?(?:\w+\s+)?$", before, re.IGNORECASE
    )
    if pre:
        unit = UNIT_MAP.get(pre.group(2).lower(), pre.group(2))
        value = float(pre.group(1))
        if unit in STRENGTH_UNITS and strength is None:
            strength = (value, unit, 0)
            span_start = before_start + pre.start()
        elif unit not in STRENGTH_UNITS and count is None:
            count = (value, unit, 0)
            span_start = before_start + pre.start()
    if strength is None:
        # "metformin 500 twice a day", "dolo 650": a bare number right after the name.
        bare = re.match(
            r"\s*(?:-\s*)?"
            + _NUM
            + r"(?!\s*(?:\.\d|"
            + _UNIT_ALT
            + r"|times|x\b|days?|weeks?|months?|hours?|hrs?|years?|-\s*\d))",
            window,
            re.IGNORECASE,
        )
        if bare and float(bare.group(1)) >= 1:
            default_unit = "[iU]" if name.startswith("insulin") or name == "heparin" else "mg"
            strength = (float(bare.group(1)), default_unit, bare.end())
            mention.notes.append("unit assumed")
            conf -= 0.1
    if strength is not None:
        mention.dose, mention.dose_unit = strength[0], strength[1]
        if count is not None:
            mention.quantity = count[0]
            mention.form = count[1] if count[1] in ("tablet", "capsule") else None
        span_end = max(span_end, m.end + strength[2])
        conf += 0.15
    elif count is not None:
        mention.dose, mention.dose_unit = count[0], count[1]
        mention.quantity = count[0]
        span_end = max(span_end, m.end + count[2])
        conf += 0.1

    timing, ftext, fspan = _timing(window)
    if timing is not None and fspan is not None:
        mention.timing, mention.frequency_text = timing, ftext
        span_end = max(span_end, m.end + fspan[1])
        conf += 0.1
    prn = _PRN_RE.search(window)
    if prn:
        mention.as_needed = True
        span_end = max(span_end, m.end + prn.end())
    duration, dspan = _duration(window)
    if duration is not None and dspan is not None:
        mention.duration = duration
        span_end = max(span_end, m.end + dspan[1])

    sig = before[-40:] + " " + window
    mention.route = _route(sig)
    mention.form = mention.form or _form(sig)
    if mention.route is None:
        if mention.dose_unit in _FORM_ROUTE:
            mention.route = _FORM_ROUTE[mention.dose_unit]
        elif mention.form in _FORM_ROUTE:
            mention.route = _FORM_ROUTE[mention.form]
        elif mention.dose_unit == "[iU]" and name.startswith("insulin"):
            mention.route = "subcutaneous"
    if mention.route == "injection":
        mention.route = "subcutaneous" if name.startswith("insulin") else None
        mention.form = mention.form or "injection"

    for rx, action in _ACTION_RES:
        if rx.search(before[-40:]):
            mention.action = action
            break

    if name in AMBIGUOUS or m.surface.lower() in AMBIGUOUS:
        has_cue = (
            mention.dose is not None
            or mention.timing is not None
            or _MED_CUE_RE.search(before[-30:] + " " + window[:30])
        )
        if not has_cue:
            return None
        conf -= 0.1
    mention.start, mention.end = span_start, span_end
    mention.confidence = round(max(0.0, min(1.0, conf)), 3)
    return mention
