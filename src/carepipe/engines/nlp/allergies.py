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
# "Milk, he gets a rash.", "Bee stings, I swell up.": a sentence that opens with the
# substance, then the reaction (how answers are said when the question was lost).
_THEN_REACTS_RE = re.compile(
    r"(?:^|(?<=[.?!]))\s*(?P<item>[a-z][a-z\-']*(?: [a-z][a-z\-']*)?)\s*,\s*"
    r"(?:he|she|i|they|we|it)\s+(?:gets?|got|breaks? out in|broke out in|comes? out in|"
    r"came out in)?\s*(?:a |an |bad |terrible |severe )*"
    r"(?P<reaction>rash(?:es)?|hives|swell\w*|itch\w*|wheez\w*|vomit\w*|anaphyla\w*)",
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


def _category(allergen: str) -> str:
    return "food" if allergen in _FOOD else ("environment" if allergen in _ENV else "medication")


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
    if allergen is None and len(words) == 2 and lookup_medication(phrase) is None:
        # The allergen first and a word the recogniser added after it ("Pollen pins, BKT"
        # for "Pollen gives me hay fever").
        allergen = _allergen_matcher().lookup(words[0])
    if allergen is not None:
        return allergen, _category(allergen), None, 0.9
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
    negated = any(w in ("not", "no", "never", "without", "nothing", "none") for w in words)
    for n in range(len(words) - 1, 0, -1) if len(words) > 2 and not negated else ():
        # The longest allergen inside a longer item ("sticking plaster has made me itch").
        for i in range(len(words) - n + 1):
            allergen = _allergen_matcher().lookup(" ".join(words[i : i + n]))
            if allergen is not None:
                return allergen, _category(allergen), None, 0.9
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


# The question heard as a statement ("Any allergies to medicines?" as "And it allergic to
# medicines."): a sentence about allergies counts as the question only before an answer
# that goes on to name one ("No, only grass pollen", "Just nuts").
_ALLERGY_STATEMENT_RE = re.compile(
    r"\ballerg\w*[^?.!]{0,40}[.!]\s*(?=(?:no\s*,?\s*)?(?:only|just)\b)", re.IGNORECASE
)


def _answer_starts(text: str) -> list[int]:
    """Where the substance of each non-negative answer to an allergy question begins
    ("Any allergies? Yes, only to |peanuts.")."""
    out = []
    questions = [*_ALLERGY_QUESTION_RE.finditer(text), *_ALLERGY_STATEMENT_RE.finditer(text)]
    for q in questions:
        start = q.end()
        label = re.match(r"(?:patient|pt|mother|father|p)\s*:\s*", text[start:], re.IGNORECASE)
        if label:
            start += label.end()
        if _NEGATIVE_ANSWER_RE.match(text, start):
            continue
        lead = _ANSWER_LEAD_RE.match(text, start)
        if lead:
            start = lead.end()
        out.append(start)
    return sorted(set(out))


_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Where the words that name the substance end: a comma or sentence end, or the reaction
# ("Codeine makes me vomit", "Milk, he gets a rash").
_HEAD_END_RE = re.compile(
    r"[,.;:!?\n]|\b(?:it|they|which|that|gives?|gave|makes?|made|causes?|caused|gets?|got"
    r"|i'm|i've|he|she|he's|she's)\b",
    re.IGNORECASE,
)
# "<substance> makes me vomit", "<substance>, it gives him a rash": the words before the
# reaction verb.
_REACTION_CUE_RE = re.compile(
    r"(?P<item>(?:[A-Za-z][\w'\-]*\s+){0,2}[A-Za-z][\w'\-]*)(?:\s*,\s*(?:it|they|that))?"
    r"\s+(?:always\s+)?"
    r"(?:gives?|gave|causes?|caused|makes?|made)\s+(?:me|him|her|them|my|his)\s+"
    r"(?:a\s+|an\s+|bad\s+|really\s+)?(?=" + "|".join(p for p, _ in _REACTIONS) + r"|sick\b)",
    re.IGNORECASE,
)
#: At most this many words name the substance in an answer or before a reaction.
ALLERGEN_SLOT_WORDS = 3


def allergen_slots(text: str) -> list[tuple[int, int, str]]:
    """Where an allergen's name is expected in ``text`` (a transcript), as (start, end, cue):

    - ``"answer"``: the first words of a non-negative answer to an allergy question ("Any
      drug allergies? |Code I| makes me vomit.", "any allergies, only to |be noticed|");
    - ``"reaction"``: the words right before a reaction ("|Code I| makes me vomit").

    The recogniser often garbles those short answers; the ASR's slot rescoring
    (:mod:`carepipe.engines.asr.slot_rescoring`) asks the decoder which allergen or drug
    name the audio of such a slot supports. Answers that start with a negative ("No.",
    "None that I know of") have no slot.
    """
    out: list[tuple[int, int, str]] = []
    for start in _answer_starts(text):
        stop = _HEAD_END_RE.search(text, start)
        end = stop.start() if stop else len(text)
        words = list(_WORD_RE.finditer(text, start, end))[:ALLERGEN_SLOT_WORDS]
        if words and words[0].start() - start <= 1:
            out.append((words[0].start(), words[-1].end(), "answer"))
    for m in _REACTION_CUE_RE.finditer(text):
        opened = max(text.rfind(p, 0, m.start("item")) for p in ".?!\n") + 1
        if _TRIGGER_RE.search(text[opened : m.end("item")]):
            continue  # "allergic to X, it makes me itch": X is the trigger's slot
        words = list(_WORD_RE.finditer(text, m.start("item"), m.end("item")))
        if words:
            out.append((words[0].start(), words[-1].end(), "reaction"))
    # "Just a rash": a reaction, not a substance misheard.
    out = [x for x in out if not any(rx.search(text[x[0] : x[1]]) for rx, _ in _REACTION_RES)]
    return sorted(set(out))


def _answered_allergies(text: str, taken: list[tuple[int, int]]) -> list[AllergyMention]:
    """ "Any allergies? Codeine, it makes me vomit." -- the answer names the substance."""
    out: list[AllergyMention] = []
    for start in _answer_starts(text):
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
    causes = [*_CAUSES_RE.finditer(text), *_THEN_REACTS_RE.finditer(text)]
    for m in sorted(causes, key=lambda m: m.start()):
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
