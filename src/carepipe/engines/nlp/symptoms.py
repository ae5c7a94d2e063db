"""Symptoms with duration and assertion: "cough for three days", "no chest pain".

>>> s = find_symptoms("I've had a dry cough for three days but no fever")
>>> [(x.name, x.duration, x.assertion) for x in s]
[('cough', (3.0, 'd'), 'present'), ('fever', None, 'negated')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from carepipe.engines.nlp.durations import find_durations
from carepipe.engines.nlp.lexicon.symptoms import AMBIGUOUS_SYMPTOM_SURFACES, SYMPTOMS
from carepipe.engines.nlp.matcher import PhraseMatcher, tokenize
from carepipe.engines.nlp.negation import assertion
from carepipe.engines.nlp.numbers import normalize_numbers


@dataclass
class SymptomMention:
    """A symptom as mentioned; ``assertion`` says whether the patient has it."""

    name: str
    snomed: str | None
    start: int
    end: int
    confidence: float
    assertion: str = "present"
    duration: tuple[float, str] | None = None
    duration_text: str | None = None
    severity: str | None = None
    surface: str = ""

    @property
    def present(self) -> bool:
        """True when the patient has it (not negated, hypothetical or someone else's)."""
        return self.assertion in ("present", "historical")


_SITES: dict[str, str] = {
    "knee": "knee pain",
    "knees": "knee pain",
    "back": "back pain",
    "lower back": "back pain",
    "chest": "chest pain",
    "stomach": "abdominal pain",
    "tummy": "abdominal pain",
    "belly": "abdominal pain",
    "abdomen": "abdominal pain",
    "head": "headache",
    "throat": "sore throat",
    "ear": "ear pain",
    "ears": "ear pain",
    "eye": "eye pain",
    "eyes": "eye pain",
    "neck": "neck pain",
    "shoulder": "shoulder pain",
    "shoulders": "shoulder pain",
    "leg": "leg pain",
    "legs": "leg pain",
    "calf": "leg pain",
    "joints": "joint pain",
    "joint": "joint pain",
    "tooth": "toothache",
    "teeth": "toothache",
    "hip": "hip pain",
    "ankle": "ankle pain",
    "wrist": "wrist pain",
    "elbow": "elbow pain",
    "arm": "arm pain",
    "hand": "hand pain",
    "foot": "foot pain",
    "feet": "foot pain",
}
_SITE_ALT = "|".join(sorted((re.escape(s) for s in _SITES), key=len, reverse=True))
_PAIN_IN_RE = re.compile(
    r"\b(?:pain|pains|ache|aching|discomfort|soreness)\s+(?:in|on|of|at|around)\s+"
    r"(?:(?:my|the|his|her|your|their|both|left|right|lower|upper)\s+)*(?P<site>"
    + _SITE_ALT
    + r")\b",
    re.IGNORECASE,
)
_SITE_PAIN_RE = re.compile(
    r"\b(?:(?:my|the|his|her|your|left|right|both)\s+)*(?P<site>" + _SITE_ALT + r")\s+"
    r"(?:(?:is|are|has been|have been|keeps?)\s+)?(?:pain|pains|ache|aches|aching|paining|hurts|"
    r"hurting|sore|is sore|discomfort)\b",
    re.IGNORECASE,
)
_SEVERITY_RE = re.compile(
    r"\b(severe|severely|bad|terrible|worst|excruciating|intense|mild|slight|mildly|moderate|"
    r"a little|a bit of|high grade|low grade)\b",
    re.IGNORECASE,
)
_SEVERITY_MAP = {
    "severe": "severe",
    "severely": "severe",
    "bad": "severe",
    "terrible": "severe",
    "worst": "severe",
    "excruciating": "severe",
    "intense": "severe",
    "high grade": "severe",
    "mild": "mild",
    "slight": "mild",
    "mildly": "mild",
    "a little": "mild",
    "a bit of": "mild",
    "low grade": "mild",
    "moderate": "moderate",
}
# A complaint cue before an ambiguous word ("I have pain", "she's been tired").
_CUE_RE = re.compile(
    r"\b(?:have|has|had|having|feel|feels|feeling|felt|getting|get|gets|got|complain\w*|"
    r"report\w*|experienc\w*|suffer\w*|noticed|with|been|some|any|severe|mild|bad|terrible|"
    r"sharp|dull|constant|occasional|lot of|no|denies|also)\s+(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)
_NOT_SYMPTOM_AFTER = re.compile(
    r"^\s*(?:of|is|was|:)?\s*\d|^\s*(?:hands|feet|water|weather|drinks|reading|chart|check"
    r"|of waiting|of this)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _matcher() -> PhraseMatcher:
    phrases: list[tuple[str, str]] = [(n, n) for n in SYMPTOMS]
    for name, row in SYMPTOMS.items():
        phrases += [(s, name) for s in row["synonyms"]]  # type: ignore[union-attr]
    return PhraseMatcher(phrases, plurals=True, skip_determiners=True)


def _sentence_end(text: str, pos: int) -> int:
    m = re.compile(r"(?<!\d)[.!?;\n]|[.!?;](?!\d)").search(text, pos)
    return m.start() if m else len(text)


def _sentence_start(text: str, pos: int) -> int:
    last = 0
    for m in re.finditer(r"(?<!\d)[.!?;\n]|[.!?;](?!\d)", text[:pos]):
        last = m.end()
    return last


def find_symptoms(text: str) -> list[SymptomMention]:
    """Every symptom mentioned in ``text`` (negated ones too, see ``assertion``)."""
    nt = normalize_numbers(text)
    norm = nt.text
    toks = tokenize(norm)
    hits: list[tuple[str, int, int, bool]] = []  # (name, start, end, ambiguous) in norm
    for m in _matcher().find(norm, toks):
        hits.append((m.key, m.start, m.end, m.surface.lower() in AMBIGUOUS_SYMPTOM_SURFACES))
    for rx in (_PAIN_IN_RE, _SITE_PAIN_RE):
        for m in rx.finditer(norm):
            name = _SITES[m.group("site").lower()]
            # A composed "knee pain" replaces the bare "pain" / "knee" it covers.
            hits = [h for h in hits if h[2] <= m.start() or h[1] >= m.end()]
            hits.append((name, m.start(), m.end(), False))
    hits.sort(key=lambda h: h[1])
    out: list[SymptomMention] = []
    used_durations: set[int] = set()
    for name, s, e, ambiguous in hits:
        before = norm[max(0, s - 40) : s]
        if _NOT_SYMPTOM_AFTER.match(norm[e : e + 20]):
            continue
        if ambiguous and not _CUE_RE.search(before):
            continue
        os_, oe = nt.to_original(s, e)
        row = SYMPTOMS.get(name)
        mention = SymptomMention(
            name=name,
            snomed=row["snomed"] if row else None,  # type: ignore[arg-type]
            start=os_,
            end=oe,
            confidence=0.65 if ambiguous else 0.85,
            surface=text[os_:oe],
        )
        mention.assertion = assertion(text, os_, oe)
        sev = _SEVERITY_RE.search(norm[max(0, s - 25) : s])
        if sev:
            mention.severity = _SEVERITY_MAP[sev.group(1).lower()]
        # Duration: the nearest one in the same sentence after the symptom, else one just
        # before it that no earlier symptom has taken ("for 3 days I've had a cough").
        if mention.assertion != "negated":
            sent_lo, sent_hi = _sentence_start(norm, s), _sentence_end(norm, e)
            after = [
                d
                for d in find_durations(norm, e, min(sent_hi, e + 60))
                # Stop at the next symptom: "cough for 3 days and fever for 1 day".
                if not any(e <= h[1] < d.start for h in hits)
            ]
            before_d = [
                d
                for d in find_durations(norm, max(sent_lo, s - 50), s)
                if d.start not in used_durations
                and not any(d.end <= h[1] < s or d.start > h[2] for h in hits if h[1] < s)
            ]
            dur = after[0] if after else (before_d[-1] if before_d else None)
            if dur is not None:
                used_durations.add(dur.start)
                mention.duration = (dur.value, dur.unit)
                ds, de = nt.to_original(dur.start, dur.end)
                mention.duration_text = text[ds:de]
                if dur.start > e:
                    mention.end = max(mention.end, de)
        out.append(mention)
    # The same symptom twice in a row (e.g. "fever ... feverish") stays twice: the note
    # engine merges by name; here we report what was said.
    return out
