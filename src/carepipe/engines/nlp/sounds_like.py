"""Which drug might this garbled phrase be? Phonetic and fuzzy matching against the lexicon.

Speech recognisers break rare drug names into ordinary words ("furos might" for
furosemide, "safe triaxon" for ceftriaxone, "by sorporal" for bisoprolol). Written out
without spaces, those words still sound like the drug: their Metaphone codes (jellyfish)
and their letters (rapidfuzz) stay close to the name's. This module finds *drug slots* in
a transcript — the words right before a dose ("... 80 milligrams") or right after a
prescribing verb ("start ...", "allergic to ...") — and ranks lexicon names by how close
each slot sounds.

Two users: the ASR engine's second pass (the best few candidates become Whisper hotwords,
see :mod:`carepipe.engines.asr.biasing`) and the post-ASR correction
(:mod:`carepipe.engines.nlp.correction`), which only rewrites with strong evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz, process

from carepipe.engines.nlp.lexicon.medications import GENERICS

#: Names shorter than this are never proposed (too many ordinary words sound like them).
MIN_NAME_LETTERS = 5
#: A slot is at most this many words.
MAX_SLOT_WORDS = 4

_UNIT = (
    r"(?:milligrams?|milligrammes?|mg|micrograms?|mcg|grams?|g|units?|puffs?|millilit(?:er|re)s?"
    r"|ml|mls|percent|%|sprays?|tablets?|capsules?|drops?)"
)
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty"
    r"|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|half|point)"
)
# A dose: digits or number words, then a unit ("80 milligrams", "two point five mg").
_DOSE_RE = re.compile(
    r"(?<![\w.])(?:\d[\d,.]*|"
    + _NUMBER_WORD
    + r")(?:[\s-]+(?:\d[\d,.]*|"
    + _NUMBER_WORD
    + r"|and))*"
    r"\s*" + _UNIT + r"(?![a-z])",
    re.IGNORECASE,
)
# Words after which a drug name is expected.
_VERB_RE = re.compile(
    r"\b(?:start(?:ed|ing)?|take|taking|takes|give|giving|prescribe|prescribing|add|adding"
    r"|continue|continuing|carry on with|keep using|use|using|restart|increase|reduce|stop"
    r"|hold|on|allergic to|allergy to|intolerant of|intolerant to|react(?:ed|s)? to"
    r"|reaction to|avoid|tried|switch(?:ed)? to)\s+(?:the\s+|your\s+|a\s+|an\s+|some\s+)?",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_STOP_AT = re.compile(r"[.?!;:]")


@dataclass(frozen=True)
class Slot:
    """Words where a drug name is expected: ``text[start:end]`` and why."""

    start: int
    end: int
    text: str
    cue: str  # "dose" | "verb"


@dataclass(frozen=True)
class Candidate:
    """A lexicon name that a phrase sounds like."""

    name: str  # the lexicon surface (synonym or generic) that matched
    canonical: str  # canonical generic
    score: float  # 0..100 (combined phonetic and letter similarity)
    phonetic: float  # Metaphone code similarity 0..100
    letters: float  # letter similarity 0..100
    phrase: str  # the words compared (as in the text)
    start: int
    end: int


@dataclass(frozen=True)
class _Index:
    names: tuple[str, ...]
    canonical: tuple[str, ...]
    codes: tuple[str, ...]
    letters: tuple[str, ...]


def squash(phrase: str) -> str:
    """Letters only, lower case: "Furos might" -> "furosmight"."""
    return re.sub(r"[^a-z]", "", phrase.lower())


def phonetic_code(phrase: str) -> str:
    """Metaphone of the squashed phrase ("" when there are no letters)."""
    letters = squash(phrase)
    return jellyfish.metaphone(letters) if letters else ""


@lru_cache(maxsize=1)
def _index() -> _Index:
    names: list[str] = []
    canonical: list[str] = []
    for generic, row in GENERICS.items():
        for surface in (generic, *row["synonyms"]):  # type: ignore[misc]
            s = str(surface).lower()
            if len(squash(s)) < MIN_NAME_LETTERS or s in names:
                continue
            names.append(s)
            canonical.append(generic)
    return _Index(
        names=tuple(names),
        canonical=tuple(canonical),
        codes=tuple(phonetic_code(n) for n in names),
        letters=tuple(squash(n) for n in names),
    )


def _length_ok(phrase_letters: str, name_letters: str) -> bool:
    a, b = len(phrase_letters), len(name_letters)
    return 0.6 * b <= a <= 1.6 * b + 2


def rank(phrase: str, limit: int = 5) -> list[Candidate]:
    """Lexicon names closest to ``phrase`` by combined phonetic + letter similarity."""
    letters = squash(phrase)
    if len(letters) < 4:
        return []
    index = _index()
    code = phonetic_code(phrase)
    phon = process.extract(code, index.codes, scorer=fuzz.ratio, limit=40)
    lett = process.extract(letters, index.letters, scorer=fuzz.ratio, limit=40)
    scores: dict[int, tuple[float, float]] = {}
    for _, _, i in phon:
        scores[i] = (0.0, 0.0)
    for _, _, i in lett:
        scores[i] = (0.0, 0.0)
    out = []
    for i in scores:
        if not _length_ok(letters, index.letters[i]):
            continue
        p = fuzz.ratio(code, index.codes[i])
        q = fuzz.ratio(letters, index.letters[i])
        out.append(
            Candidate(
                name=index.names[i],
                canonical=index.canonical[i],
                score=round(0.55 * p + 0.45 * q, 1),
                phonetic=round(p, 1),
                letters=round(q, 1),
                phrase=phrase,
                start=0,
                end=0,
            )
        )
    out.sort(key=lambda c: -c.score)
    best: list[Candidate] = []
    seen: set[str] = set()
    for c in out:
        if c.canonical in seen:
            continue
        seen.add(c.canonical)
        best.append(c)
        if len(best) >= limit:
            break
    return best


def _words_before(text: str, pos: int, floor: int) -> list[tuple[int, int]]:
    """Spans of up to MAX_SLOT_WORDS words before ``pos``, not crossing a sentence end."""
    lo = max(floor, pos - 80)
    stop = None
    for m in _STOP_AT.finditer(text, lo, pos):
        # A decimal point inside a number is not a sentence end.
        if m.group() == "." and 0 < m.start() < len(text) - 1 and text[m.start() + 1].isdigit():
            continue
        stop = m.end()
    lo = stop if stop is not None else lo
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, lo, pos)]
    return spans[-MAX_SLOT_WORDS:]


def _words_after(text: str, pos: int) -> list[tuple[int, int]]:
    hi = min(len(text), pos + 80)
    m_stop = _STOP_AT.search(text, pos, hi)
    hi = m_stop.start() if m_stop else hi
    d = _DOSE_RE.search(text, pos, hi)
    hi = d.start() if d else hi
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, pos, hi)]
    return spans[:MAX_SLOT_WORDS]


def drug_slots(text: str) -> list[Slot]:
    """Places in ``text`` where a drug name is expected (before a dose, after a verb)."""
    slots: list[Slot] = []
    for m in _DOSE_RE.finditer(text):
        spans = _words_before(text, m.start(), 0)
        if spans:
            s, e = spans[0][0], spans[-1][1]
            slots.append(Slot(s, e, text[s:e], "dose"))
    for m in _VERB_RE.finditer(text):
        spans = _words_after(text, m.end())
        if spans:
            s, e = spans[0][0], spans[-1][1]
            slots.append(Slot(s, e, text[s:e], "verb"))
    slots.sort(key=lambda s: (s.start, s.end))
    return slots


def best_in_slot(text: str, slot: Slot, limit: int = 3) -> list[Candidate]:
    """The best candidates over every run of consecutive words inside ``slot``.

    Runs ending at the slot's end are tried for dose slots (the name sits right before the
    dose), runs starting at its start for verb slots.
    """
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, slot.start, slot.end)]
    runs: list[tuple[int, int]] = []
    for n in range(1, len(spans) + 1):
        if slot.cue == "dose":
            runs.append((spans[-n][0], spans[-1][1]))
        else:
            runs.append((spans[0][0], spans[n - 1][1]))
    pooled: dict[str, Candidate] = {}
    for s, e in runs:
        for c in rank(text[s:e], limit=limit):
            c = Candidate(c.name, c.canonical, c.score, c.phonetic, c.letters, text[s:e], s, e)
            if c.canonical not in pooled or c.score > pooled[c.canonical].score:
                pooled[c.canonical] = c
    return sorted(pooled.values(), key=lambda c: -c.score)[:limit]
