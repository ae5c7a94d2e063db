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

from carepipe.engines.nlp.allergies import find_allergies
from carepipe.engines.nlp.drug_names import Lexicon, drug_lexicon
from carepipe.engines.nlp.lexicon.medications import GENERICS
from carepipe.engines.nlp.matcher import PhraseMatch, edit_distance, tokenize
from carepipe.engines.nlp.medication_words import (
    ACTION_RES,
    AMBIGUOUS,
    CLAUSE_END_RE,
    DOSE_RE,
    DURATION_RE,
    DURATION_UNITS,
    EVERY_N_RE,
    FORM_RES,
    FORM_ROUTE,
    FREQ_RES,
    LOW_CONFIDENCE_FUZZY,
    MED_CUE_RE,
    MNN_RE,
    N_TIMES_RE,
    NOT_A_DRUG_AFTER,
    NOT_THE_DRUG_AFTER,
    NUM,
    PRN_RE,
    ROUTE_RES,
    SATURATION_AFTER,
    STRENGTH_UNITS,
    UNIT_ALT,
    UNIT_MAP,
)
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


def _fuzzy_matches(text: str, taken: list[tuple[int, int]]) -> list[PhraseMatch]:
    """One-edit ASR slips in long drug names ("metforman", "amlodapine")."""
    lex = drug_lexicon()
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
    m = EVERY_N_RE.search(window)
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
    m = N_TIMES_RE.search(window)
    if m:
        unit = {"day": "d", "week": "wk", "month": "mo"}[m.group(2).lower()]
        return Timing(int(float(m.group(1))), 1, unit), m.group(0), m.span()
    m = MNN_RE.search(window)
    if m:
        parts = [float(g) for g in m.groups()]
        count = sum(1 for p in parts if p > 0)
        when = tuple(w for w, p in zip(("MORN", "AFT", "NIGHT"), parts, strict=True) if p > 0)
        if count:
            return Timing(count, 1, "d", when), m.group(0), m.span()
    best: tuple[int, re.Match[str], int, float, str, tuple[str, ...]] | None = None
    for rx, f, pe, u, w in FREQ_RES:
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
    for m in DURATION_RE.finditer(window):
        raw = m.group(1).lower()
        value = 1.0 if raw in ("a", "an", "one") else float(raw)
        unit_word = m.group(2).lower().rstrip("s")
        unit = DURATION_UNITS.get(unit_word, DURATION_UNITS.get(unit_word[:2], "d"))
        # "2 times a day" is a frequency, not a duration.
        if m.group(0).lower().startswith("times"):
            continue
        return (value, unit), m.span()
    return None, None


def _route(window: str) -> str | None:
    for rx, route in ROUTE_RES:
        if rx.search(window):
            return route
    return None


def _form(window: str) -> str | None:
    for rx, form in FORM_RES:
        if rx.search(window):
            return form
    return None


def _window_end(norm: str, start: int, limit: int) -> int:
    m = CLAUSE_END_RE.search(norm, start, limit)
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
    lex = drug_lexicon()
    toks = tokenize(norm)
    matches = lex.matcher.find(norm, toks)
    matches += _fuzzy_matches(norm, [(m.start, m.end) for m in matches])
    matches.sort(key=lambda m: m.start)
    out: list[MedicationMention] = []
    for idx, m in enumerate(matches):
        nxt = matches[idx + 1].start if idx + 1 < len(matches) else len(norm)
        prev_end = matches[idx - 1].end if idx > 0 else 0
        after = norm[m.end : nxt]
        if NOT_A_DRUG_AFTER.match(after):
            continue
        surface_rule = NOT_THE_DRUG_AFTER.get(norm[m.start : m.end].lower())
        if surface_rule is not None and surface_rule.match(after):
            continue
        if m.key == "oxygen" and SATURATION_AFTER.match(after):
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
    allergen_spans = [(a.start, a.end) for a in find_allergies(text)]
    return [m for m in out if not any(s <= m.name_start < e for s, e in allergen_spans)]


def _build(
    norm: str,
    m: PhraseMatch,
    before: str,
    before_start: int,
    window: str,
    lex: Lexicon,
) -> MedicationMention | None:
    name = m.key
    is_brand = tuple(t.text for t in tokenize(m.surface)) in lex.brand_keys
    matched_by = "brand" if is_brand and name not in m.surface.lower() else "lexicon"
    if (
        m.surface.lower() != name
        and not any(
            m.surface.lower() == s
            for s in GENERICS.get(name, {}).get("synonyms", ())  # type: ignore[attr-defined]
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
        NUM + r"\s*(" + UNIT_ALT + r")\s*(?:of\s+(?:the\s+)?)?(?:\w+\s+)?$", before, re.IGNORECASE
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
            + NUM
            + r"(?!\s*(?:\.\d|"
            + UNIT_ALT
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
    prn = PRN_RE.search(window)
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
        if mention.dose_unit in FORM_ROUTE:
            mention.route = FORM_ROUTE[mention.dose_unit]
        elif mention.form in FORM_ROUTE:
            mention.route = FORM_ROUTE[mention.form]
        elif mention.dose_unit == "[iU]" and name.startswith("insulin"):
            mention.route = "subcutaneous"
    if mention.route == "injection":
        mention.route = "subcutaneous" if name.startswith("insulin") else None
        mention.form = mention.form or "injection"

    for rx, action in ACTION_RES:
        if rx.search(before[-40:]):
            mention.action = action
            break

    if name in AMBIGUOUS or m.surface.lower() in AMBIGUOUS:
        has_cue = (
            mention.dose is not None
            or mention.timing is not None
            or MED_CUE_RE.search(before[-30:] + " " + window[:30])
        )
        if not has_cue:
            return None
        conf -= 0.1
    mention.start, mention.end = span_start, span_end
    mention.confidence = round(max(0.0, min(1.0, conf)), 3)
    return mention
