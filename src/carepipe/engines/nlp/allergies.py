"""Allergies and intolerances: "allergic to penicillin and sulfa, gets a rash".

    >>> [(a.substance, a.category) for a in find_allergies("she is allergic to penicillin")]
    [('penicillin', 'medication')]

"No known drug allergies" / "NKDA" is reported by ``no_known_allergies``. Negated mentions
("not allergic to anything", "no allergy to aspirin") are not allergies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from carepipe.engines.nlp.drug_names import lookup_medication, rxnorm_code
from carepipe.engines.nlp.lexicon.conditions import ALLERGENS
from carepipe.engines.nlp.matcher import PhraseMatcher, tokenize


@dataclass
class AllergyMention:
    """One substance the patient reacts to."""

    substance: str  # canonical (medication generic or allergen name), or the words said
    category: str  # medication | food | environment | other (FHIR AllergyIntolerance)
    start: int
    end: int
    confidence: float
    type: str = "allergy"  # allergy | intolerance
    reaction: str | None = None
    rxnorm: str | None = None
    surface: str = ""
    reaction_span: tuple[int, int] | None = None  # where the reaction was said


_TRIGGER_RE = re.compile(
    r"\b(?P<neg>(?:not|no|never|isn't|is not|denies(?: any)?|without)\s+(?:\w+\s+)?)?"
    r"(?:(?P<allergy>allergic to|allergy to|allergies to|allergy with|allergic reaction to|"
    r"allergies\s*(?:are|is|include|:)|hypersensitivity to|anaphylaxis to|reaction to|"
    r"reacts to|react to|reacted to|sensitive to)"
    r"|(?P<intol>intolerant (?:to|of)|intolerance to|can't take|cannot take|can not take|"
    r"doesn't tolerate|does not tolerate))\s+",
    re.IGNORECASE,
)
# "penicillin allergy", "sulfa allergic"
_POST_RE = re.compile(
    r"\b(?P<item>[a-z][a-z\- ]{1,30}?)\s+(?:allergy|allergic|allergies)\b", re.IGNORECASE
)
# "penicillin gives me a rash", "aspirin makes my breathing worse"
_CAUSES_RE = re.compile(
    r"\b(?P<item>[a-z][a-z\-]*(?: [a-z][a-z\-]*)?)\s+(?:tablets?\s+|pills?\s+)?(?:always\s+)?"
    r"(?:gives?|gave|causes?|caused|makes?|made|brings? (?:me |him |her )?out in|brought out)\s+"
    r"(?:me|him|her|them|my|his|her)?\s*(?:a |an |bad |terrible |severe )*"
    r"(?P<reaction>rash(?:es)?|hives|swell\w*|itch\w*|breath\w*(?: worse)?|wheez\w*|"
    r"vomit\w*|sick|anaphyla\w*|lips swell|face swell|throat swell)",
    re.IGNORECASE,
)
_NKA_RE = re.compile(
    r"\b(?:no known (?:drug |medication |medicine )?allerg(?:y|ies)|nkda|nka"
    r"|no drug allerg(?:y|ies)"
    r"|no allerg(?:y|ies)(?: to (?:any|anything))?|not allergic to (?:any|anything)\w*"
    r"|denies (?:any )?(?:drug )?allerg(?:y|ies)|no history of (?:drug )?allerg(?:y|ies)"
    r"|(?:i|we|he|she) (?:don't|do not|doesn't|does not) have any allerg(?:y|ies))\b",
    re.IGNORECASE,
)
# Only as the answer to an allergy question: "Any allergies? Not that we know of." (a bare
# "No" answers whatever was asked last, so it counts only after an allergy question).
_NKA_ANSWER_RE = re.compile(
    r"\s*(?:(?:patient|pt|mother|father|p)\s*:\s*)?(?:no|none|nope|nothing|not that (?:i|we) know"
    r"(?: of)?|none that (?:i|we) know(?: of)?|not to my knowledge|no known|not that we know)\b"
    r"(?!\s+(?:\w+\s+){0,2}(?:but|except|only|just)\b)",
    re.IGNORECASE,
)
_REACTIONS = [
    (r"anaphyla\w*", "anaphylaxis"),
    (r"hives|urticaria", "urticaria"),
    (r"rash(?:es)?", "rash"),
    (r"swell\w*|swollen|angioedema", "swelling"),
    (r"itch\w*", "itching"),
    (
        r"(?:shortness of breath|breathing (?:difficulty|problems?|worse)|difficulty breathing"
        r"|wheez\w*|breathless\w*|breath\w* worse)",
        "difficulty breathing",
    ),
    (r"vomit\w*|nausea|throw(?:s|ing)? up", "vomiting"),
    (r"diarrh\w*|loose motions", "diarrhea"),
    (r"upset stomach|stomach upset|gastritis", "stomach upset"),
]
_REACTION_RES = [(re.compile(r"\b(?:" + p + r")", re.IGNORECASE), r) for p, r in _REACTIONS]
_LIST_END_RE = re.compile(
    r"[.;!?\n]|\b(?:but|which|that|it|she|he|they|so|because|gives|give|causes|caused|makes"
    r"|made|got|gets|and (?:she|he|it|they|i|gets|got)|with|in the past|since|as a|when|i|i'm"
    r"|i've|we|you|okay|ok|your|doctor|noted|right)\b",
    re.IGNORECASE,
)
_SPLIT_RE = re.compile(r"\s*(?:,|\band\b|\bor\b|\balso\b|&|/)\s*", re.IGNORECASE)
_STOP = frozenset(
    {
        "the",
        "a",
        "an",
        "some",
        "any",
        "certain",
        "all",
        "his",
        "her",
        "my",
        "your",
        "medicine",
        "medicines",
        "drug",
        "drugs",
        "medication",
        "tablets",
        "food",
        "foods",
        "anything",
        "something",
    }
)
_FOOD = frozenset({"peanut", "tree nut", "shellfish", "fish", "egg", "milk", "wheat", "soy"})
_ENV = frozenset({"dust mite", "pollen", "animal dander", "bee venom", "latex", "adhesive tape"})
_DRUG_CLASSES = frozenset(
    {"penicillin", "sulfonamide", "nsaid", "cephalosporin", "iodinated contrast"}
)


@lru_cache(maxsize=1)
def _allergen_matcher() -> PhraseMatcher:
    phrases = [(k, k) for k in ALLERGENS]
    for k, syns in ALLERGENS.items():
        phrases += [(s, k) for s in syns]
    return PhraseMatcher(phrases)


def _classify(item: str) -> tuple[str, str, str | None, float] | None:
    """(substance, category, rxnorm, confidence) for the words of one list item."""
    words = [t.text for t in tokenize(item) if t.text not in _STOP]
    if not words:
        return None
    phrase = " ".join(words)
    allergen = _allergen_matcher().lookup(phrase)
    if allergen is None and len(words) == 2:
        # A qualified allergen: "grass pollen", "cow's milk" (the head noun last).
        allergen = _allergen_matcher().lookup(words[-1])
    if allergen is not None:
        category = (
            "food" if allergen in _FOOD else ("environment" if allergen in _ENV else "medication")
        )
        return allergen, category, None, 0.9
    med = lookup_medication(phrase)
    if med is None:
        # The longest known drug inside the item ("amoxicillin tablets").
        for n in range(len(words), 0, -1):
            for i in range(len(words) - n + 1):
                med = lookup_medication(" ".join(words[i : i + n]))
                if med:
                    break
            if med:
                break
    if med is not None:
        return med, "medication", rxnorm_code(med), 0.9
    # Validated against the drug, food and environmental lexicons: anything else ("ceiling",
    # "just") is not recorded as an allergen.
    return None


_ALLERGY_QUESTION_RE = re.compile(
    r"(?:\b(?:any|are you|is (?:he|she)|do you have|does (?:he|she) have|have you got)\s+"
    r"(?:known\s+|drug\s+|other\s+|medicine\s+|medication\s+)*|(?:^|(?<=[.?!]))\s*)"
    # The recogniser often writes the question's "?" as a comma ("any allergies, only to
    # peanuts"): a comma ends the question only before an answer's "only"/"just".
    r"allerg\w*(?:\s*,(?=\s*(?:only|just)\b)|[^?.]{0,40}\?)\s*",
    re.IGNORECASE,
)
_NEGATIVE_ANSWER_RE = re.compile(
    r"(?:no|none|nope|nothing|not that|not to my knowledge|nkda|i don't think so)\b"
    # "No, only grass pollen": a negative that goes on to name one is not a negative.
    r"(?!\s*,?\s*(?:only|just|except)\b)",
    re.IGNORECASE,
)
# What comes before the substance in an answer: "Yes, ...", "No, only ...", "Only to ...".
_ANSWER_LEAD_RE = re.compile(
    r"\s*(?:(?:yes|no|well)\b\s*,?\s*)?(?:(?:only|just|except)\b\s*)?(?:to\s+)?", re.IGNORECASE
)


def _answered_allergies(text: str, taken: list[tuple[int, int]]) -> list[AllergyMention]:
    """ "Any allergies? Codeine, it makes me vomit." -- the answer names the substance."""
    out: list[AllergyMention] = []
    for q in _ALLERGY_QUESTION_RE.finditer(text):
        start = q.end()
        label = re.match(r"(?:patient|pt|mother|father|p)\s*:\s*", text[start:], re.IGNORECASE)
        if label:
            start += label.end()
        if _NEGATIVE_ANSWER_RE.match(text, start):
            continue
        lead = _ANSWER_LEAD_RE.match(text, start)
        if lead:
            start = lead.end()
        stop = re.compile(r"[.;!?\n]").search(text, start)
        answer_end = stop.start() if stop else len(text)
        answer = text[start:answer_end]
        # The substances come first ("Sulfa drugs", "Codeine, it makes me vomit").
        head = re.split(r",|\b(?:it|they|which|that|gives?|makes?|causes?)\b", answer, maxsplit=1)
        reaction = None
        reaction_span = None
        for rx, name in _REACTION_RES:
            rm = rx.search(answer)
            if rm:
                reaction, reaction_span = name, (start + rm.start(), start + rm.end())
                break
        pos = start
        for part in _SPLIT_RE.split(head[0]):
            idx = text.find(part, pos) if part.strip() else -1
            if idx < 0:
                continue
            pos = idx + len(part)
            if any(idx < b and a < idx + len(part) for a, b in taken):
                continue
            got = _classify(part)
            if got is None or got[1] == "other":
                continue
            out.append(
                AllergyMention(
                    got[0],
                    got[1],
                    idx,
                    idx + len(part),
                    got[3] - 0.1,
                    reaction=reaction,
                    rxnorm=got[2],
                    surface=part,
                    reaction_span=reaction_span,
                )
            )
            taken.append((idx, idx + len(part)))
    return out


def no_known_allergies(text: str) -> tuple[int, int] | None:
    """Span of "no known drug allergies" / "NKDA" in ``text``, or None.

    A bare negative ("No.", "None that I know of") counts only as the answer to a question
    about allergies.
    """
    m = _NKA_RE.search(text)
    if m:
        return m.span()
    for q in _ALLERGY_QUESTION_RE.finditer(text):
        a = _NKA_ANSWER_RE.match(text, q.end())
        if a:
            return a.start() + (len(a.group(0)) - len(a.group(0).lstrip())), a.end()
    return None


def find_allergies(text: str) -> list[AllergyMention]:
    """Every allergy or intolerance stated in ``text``."""
    out: list[AllergyMention] = []
    taken: list[tuple[int, int]] = []
    for m in _TRIGGER_RE.finditer(text):
        if m.group("neg"):
            continue
        if _NKA_RE.match(text, m.start()):
            continue
        list_start = m.end()
        end_m = _LIST_END_RE.search(text, list_start)
        list_end = end_m.start() if end_m else len(text)
        list_end = min(list_end, list_start + 80)
        segment = text[list_start:list_end]
        tail = text[list_end : list_end + 80]
        reaction = None
        reaction_span = None
        stop = re.search(r"[.;!?\n]", tail)
        tail = tail[: stop.start()] if stop else tail
        for rx, name in _REACTION_RES:
            rm = rx.search(tail)
            if rm:
                reaction, reaction_span = name, (list_end + rm.start(), list_end + rm.end())
                break
            rm = rx.search(segment)
            if rm:
                reaction = name
                reaction_span = (list_start + rm.start(), list_start + rm.end())
                break
        pos = list_start
        for part in _SPLIT_RE.split(segment):
            idx = text.find(part, pos) if part else -1
            if idx < 0:
                continue
            pos = idx + len(part)
            if any(rx.search(part) for rx, _ in _REACTION_RES):
                continue  # "allergy to Augmentin, swelling of the lips": a reaction
            got = _classify(part)
            if got is None:
                continue
            substance, category, rx_code, conf = got
            if category == "other" and substance in ("anything", "nothing"):
                continue
            if substance in _DRUG_CLASSES:
                category = "medication"
            out.append(
                AllergyMention(
                    substance=substance,
                    category=category,
                    start=idx,
                    end=idx + len(part),
                    confidence=conf,
                    type="intolerance" if m.group("intol") else "allergy",
                    reaction=reaction,
                    rxnorm=rx_code,
                    surface=part,
                    reaction_span=reaction_span,
                )
            )
            taken.append((idx, idx + len(part)))
    for m in _CAUSES_RE.finditer(text):
        item_words = m.group("item").split()
        for n in (2, 1):
            if len(item_words) < n:
                continue
            phrase = " ".join(item_words[-n:])
            got = _classify(phrase)
            if got is None or got[1] == "other":
                continue
            s = m.start("item") + m.group("item").rfind(phrase)
            e = s + len(phrase)
            if any(a <= s < b for a, b in taken):
                break
            reaction = None
            for rx, name in _REACTION_RES:
                if rx.search(m.group("reaction")):
                    reaction = name
                    break
            if reaction is None and re.match(r"breath|wheez", m.group("reaction"), re.I):
                reaction = "difficulty breathing"
            out.append(
                AllergyMention(
                    got[0],
                    got[1],
                    s,
                    e,
                    got[3] - 0.1,
                    reaction=reaction,
                    rxnorm=got[2],
                    surface=text[s:e],
                    reaction_span=m.span("reaction"),
                )
            )
            taken.append((s, e))
            break
    out.extend(_answered_allergies(text, taken))
    for m in _POST_RE.finditer(text):
        item_words = m.group("item").split()
        # Only the last one or two words before "allergy" name the substance.
        for n in (2, 1):
            if len(item_words) < n:
                continue
            phrase = " ".join(item_words[-n:])
            got = _classify(phrase)
            if got is None or got[1] == "other":
                continue
            s = m.start("item") + m.group("item").rfind(phrase)
            e = s + len(phrase)
            if any(a <= s < b for a, b in taken):
                break
            before = text[max(0, s - 25) : s].lower()
            if re.search(r"\b(?:no|not|denies|without|never)\b[^.;]*$", before):
                break
            out.append(
                AllergyMention(
                    got[0], got[1], s, e, got[3] - 0.05, rxnorm=got[2], surface=text[s:e]
                )
            )
            taken.append((s, e))
            break
    out.sort(key=lambda a: a.start)
    return out
