"""Diagnoses with ICD-10 / SNOMED CT codes: "high blood pressure" -> hypertension (I10).

    >>> d = find_diagnoses("known case of sugar, and I think this is a chest infection")
    >>> [(x.name, x.icd10, x.verification) for x in d]
    [('type 2 diabetes mellitus', 'E11.9', 'confirmed'), ('pneumonia', 'J18.9', 'confirmed')]

``verification`` follows FHIR Condition.verificationStatus: ``confirmed``, ``provisional``
("possible pneumonia", "rule out dengue") and ``refuted`` ("no diabetes"). Family history
("mother has diabetes") and hypothetical mentions ("if you get a chest infection") are
returned with their ``assertion`` so callers can leave them out of the patient's problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from carepipe.engines.nlp.lexicon.conditions import (
    AMBIGUOUS_CONDITION_SURFACES,
    CONDITIONS,
)
from carepipe.engines.nlp.lexicon.symptoms import SYMPTOMS
from carepipe.engines.nlp.matcher import PhraseMatcher, tokenize
from carepipe.engines.nlp.negation import assertion


@dataclass
class DiagnosisMention:
    """A condition as mentioned, with codes and how certain the speaker was."""

    name: str
    icd10: str | None
    snomed: str | None
    start: int
    end: int
    confidence: float
    assertion: str = "present"
    verification: str = "confirmed"  # confirmed | provisional | refuted
    surface: str = ""
    chronic_history: bool = False  # "known case of", "history of"

    @property
    def present(self) -> bool:
        """True when it is the patient's condition (confirmed or provisional)."""
        return self.assertion in ("present", "possible", "historical")


# A diagnostic cue before the phrase: needed for surfaces that are ordinary words.
_ADJ = (
    r"(?:(?:a|an|the|some|mild|moderate|severe|acute|chronic|uncontrolled|controlled|long standing"
    r"|longstanding|early|bad|viral|bacterial|type|mechanical|simple|recurrent|stable|known)\s+)*"
)
# Strong cues name a diagnosis outright; one more free word may sit between.
_DX_STRONG_CUE_RE = re.compile(
    r"\b(?:known case of|k/?c/?o|kco|diagnosed with|diagnosis (?:is|of)|dx|this is|it's|it is"
    r"|looks like|likely|consistent with|probably|i think|impression|assessment|suggestive of"
    r"|suspect|possible|suffering from|suffers from|treat\w* for|on treatment for"
    r"|on medication for|medicines? for|tablets? for)\s+" + _ADJ + r"(?:[a-z]+\s+)?$",
    re.IGNORECASE,
)
# Weak cues ("has", "with", "a") only with the usual adjectives in between.
_DX_CUE_RE = re.compile(
    r"\b(?:history of|h/o|has|have|had|having|got|patient of|case of|managing|for (?:his|her"
    r"|your|their)|with|due to|secondary to|a|an|no|known)\s+" + _ADJ + r"$",
    re.IGNORECASE,
)
_DX_CUE_AFTER_RE = re.compile(
    r"^\s*(?:is|are|has been|was)\s+(?:well |poorly |not )?(?:controlled|uncontrolled|"
    r"under control|stable|worse|better)",
    re.IGNORECASE,
)
_NOT_DX_AFTER_RE = re.compile(
    r"^\s*(?:hands|feet|water|weather|drinks?|sores?|sweats?|compress|level|levels|reading|"
    r"readings|check|test|tablets?|free|intake|shower|bath|day|days|night|room|air|wind|"
    r"chart|diary|log|control|monitoring|strips?|meter|"
    r"is \d|was \d|of \d|\d)",
    re.IGNORECASE,
)
# Generic surfaces get a little less confidence than specific ones ("diabetes" vs "type 2").
GENERIC_SURFACES = frozenset(
    {
        "diabetes",
        "diabetic",
        "diabetes mellitus",
        "dm",
        "sugar",
        "sugars",
        "thyroid",
        "ulcer",
        "arthritis",
        "hepatitis",
        "cold",
        "reflux",
        "kidney disease",
        "anxiety",
    }
)
# Conditions a generic word ("diabetes", "sugar") can stand for: when a specific member is
# named in the same consultation, the generic mention means that one.
CONDITION_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "type 2 diabetes mellitus",
            "type 1 diabetes mellitus",
            "gestational diabetes",
            "prediabetes",
        }
    ),
    frozenset({"osteoarthritis", "rheumatoid arthritis", "gout"}),
    frozenset({"viral hepatitis", "fatty liver", "cirrhosis of liver"}),
)
_CHRONIC_RE = re.compile(
    r"\b(?:known case of|k/?c/?o|kco|history of|h/o|since \d+ years|"
    r"for \d+ years|long standing|longstanding)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _matcher() -> PhraseMatcher:
    phrases: list[tuple[str, str]] = [(n, n) for n in CONDITIONS]
    for name, row in CONDITIONS.items():
        phrases += [(s, name) for s in row["synonyms"]]  # type: ignore[union-attr]
    return PhraseMatcher(phrases, plurals=True, skip_determiners=True)


@lru_cache(maxsize=1)
def _symptom_words() -> frozenset[str]:
    words = set(SYMPTOMS)
    for row in SYMPTOMS.values():
        words.update(row["synonyms"])  # type: ignore[arg-type]
    return frozenset(words)


# A raised reading said to be "still" / "again" high is known hypertension, not a one-off.
_BP_STILL_HIGH_RE = re.compile(
    r"\b(?:blood pressure|bp|pressure)\b[^.;?!]{0,40}?\b(?:still|remains|remaining|again"
    r"|persistently|consistently|always)\s+(?:too\s+|very\s+|quite\s+)?(?:high|raised|elevated|up)\b",
    re.IGNORECASE,
)


def lookup_condition(name: str) -> str | None:
    """The canonical condition for a name or synonym ("high BP" -> "hypertension")."""
    return _matcher().lookup(name)


def find_diagnoses(text: str) -> list[DiagnosisMention]:
    """Every condition mentioned in ``text`` (refuted and family ones included, flagged)."""
    toks = tokenize(text)
    out: list[DiagnosisMention] = []
    for m in _BP_STILL_HIGH_RE.finditer(text):
        row = CONDITIONS["hypertension"]
        a = assertion(text, m.start(), m.end())
        if a in ("negated", "hypothetical", "family"):
            continue
        out.append(
            DiagnosisMention(
                name="hypertension",
                icd10=row["icd10"],  # type: ignore[arg-type]
                snomed=row["snomed"],  # type: ignore[arg-type]
                start=m.start(),
                end=m.end(),
                confidence=0.65,
                assertion="present",
                surface=m.group(0),
                chronic_history=True,
            )
        )
    for m in _matcher().find(text, toks):
        surface = m.surface.lower()
        before = text[max(0, m.start - 50) : m.start]
        after = text[m.end : m.end + 25]
        if _NOT_DX_AFTER_RE.match(after):
            continue
        needs_cue = surface in AMBIGUOUS_CONDITION_SURFACES or surface in _symptom_words()
        has_cue = bool(
            _DX_STRONG_CUE_RE.search(before)
            or _DX_CUE_RE.search(before)
            or _DX_CUE_AFTER_RE.match(after)
        )
        if needs_cue and not has_cue:
            continue
        row = CONDITIONS[m.key]
        conf = 0.85
        if surface in GENERIC_SURFACES or needs_cue:
            conf = 0.7
        a = assertion(text, m.start, m.end)
        verification = {"negated": "refuted", "possible": "provisional"}.get(a, "confirmed")
        out.append(
            DiagnosisMention(
                name=m.key,
                icd10=row["icd10"],  # type: ignore[arg-type]
                snomed=row["snomed"],  # type: ignore[arg-type]
                start=m.start,
                end=m.end,
                confidence=conf if a != "possible" else min(conf, 0.6),
                assertion=a,
                verification=verification,
                surface=m.surface,
                chronic_history=bool(_CHRONIC_RE.search(before)),
            )
        )
    out.sort(key=lambda d: d.start)
    return out
