"""NegEx-style assertion: is a finding negated, hypothetical, uncertain, or someone else's?

Chapman et al.'s NegEx, adapted to spoken consultations: a trigger phrase opens a scope
that runs forward (or backward, for post-triggers like "... was ruled out") up to a
terminator ("but", "however", a new clause with a subject) or a few words, whichever is
first. Pseudo-triggers ("no change", "not only") are skipped.

``assertion(text, start, end)`` looks at the sentence around ``[start, end)`` and returns
one of ``present``, ``negated``, ``hypothetical``, ``possible``, ``family``, ``historical``.
"""

from __future__ import annotations

import re
from typing import Literal

Assertion = Literal["present", "negated", "hypothetical", "possible", "family", "historical"]

# Scope in words after a pre-trigger (lists like "denies fever, chills or cough" fit).
SCOPE_WORDS = 8

_PRE_NEG = [
    r"no(?:t)?(?: (?:any|signs? of|evidence of|history of|complaints? of|h/o))?",
    r"denie[sd]",
    r"denying",
    r"without",
    r"negative for",
    r"free of",
    r"absence of",
    r"(?:has been |was |is )?ruled out",
    r"never (?:had|has|have|been)",
    r"(?:does|did|do)(?:n't| not) (?:have|had|has|complain of|report|take|use|feel)",
    r"(?:has|have|had)(?:n't| not) (?:had|been|got|any|noticed|taken)",
    r"isn't|is not|wasn't|was not|aren't|are not",
    r"not (?:on|taking|had|having|experiencing|noticed|complaining of)",
    r"nor",
    r"neither",
    r"resolution of",
    r"no longer",
    r"stopped having",
    # "avoid ibuprofen": advice against, not a prescription.
    r"avoid(?:ing)?",
    r"(?:do not|don't|never) (?:take|use|give)",
]
_POST_NEG = [
    r"(?:was|is|has been|been) ruled out",
    r"(?:is|are|was|were) (?:absent|negative|not present|gone|resolved|normal)",
    r"(?:has|have) (?:resolved|gone away|settled)",
    r"unlikely",
]
_PSEUDO = [
    r"no (?:increase|change|changes|further|new|significant change|improvement)",
    r"not only",
    r"not (?:certain|sure) (?:if|whether)",
    r"gram negative",
    r"no doubt",
    r"without (?:difficulty|any difficulty)",
]
_HYPOTHETICAL = [
    r"if(?: (?:you|he|she|they|it|there))?",
    r"in case(?: (?:of|you))?",
    r"should (?:you|he|she) (?:get|develop|have|notice)",
    r"watch (?:out )?for",
    r"look out for",
    r"warning signs?(?: (?:like|such as|of))?",
    r"return (?:if|for|with)",
    r"come back (?:if|with)",
    r"call(?: us)? if",
    r"to prevent",
    r"risk of",
    r"at risk for",
    r"screen(?:ing)? for",
    r"check(?:ing)? for",
    r"test(?:ing)? for",
]
_POSSIBLE = [
    r"possible",
    r"possibly",
    r"probable",
    r"suspected",
    r"suspect",
    r"(?:query|\?)",
    r"rule out",
    r"r/o",
    r"differentials?(?: (?:include|is))?",
    r"could be",
    r"may be",
    r"might be",
    r"concern(?:ed)? (?:for|about)",
    r"versus|vs",
]
_FAMILY = [
    r"family history of",
    r"fh of",
    r"(?:his|her|my|their|your) (?:mother|father|mom|dad|brother|sister|parents?|"
    r"grandmother|grandfather|aunt|uncle|son|daughter|siblings?)(?: (?:has|had|have|with|"
    r"who has|also has|suffers from|died of))?",
    r"(?:mother|father|mom|dad|brother|sister|parents|wife|husband) (?:has|had|have|with|"
    r"died of|(?:is|was|are|were) on|takes|(?:is|was) taking)",
    r"runs in the family",
    r"(?:anyone|anybody|someone|somebody|any one) (?:else )?in (?:the|your|his|her|their) family"
    r"(?: (?:have|has|had|with))?",
]
_HISTORICAL = [
    r"history of",
    r"h/o",
    r"past history of",
    r"previous(?:ly)?",
    r"years ago",
    r"as a child",
    r"in the past",
]
# A scope ends here (NegEx termination terms, plus spoken clause starts).
_TERMINATE = [
    r"but",
    r"just",
    r"only",
    r"instead",
    r"however",
    r"although",
    r"though",
    r"except",
    r"apart from",
    r"aside from",
    r"which",
    r"who",
    r"presents? with",
    r"complain(?:s|ing|ed)? of",
    r"reports?",
    r"now",
    r"still",
    r"and (?:he|she|they|i|we|the patient|patient|pt|you)",
    r"and (?:has|had|is|was|reports|complains|says|feels|notes)",
    r"so",
    r"because",
    r"since",
    r"though",
    r"otherwise",
    r"positive for",
    r"has",
    r"have",
    r"with",
]
# Negation scope also ends where a new clause with its own subject starts ("your diabetes
# is not controlled we will increase the metformin"); hypotheticals run on ("if you get").
_CLAUSE_SUBJECTS = [
    r"we|i|i'll|i'm|we'll|you|you'll|he|she|they|let's|will|going to",
    # ... or an instruction ("no need for scans, take paracetamol").
    r"take|start|continue|use|apply|give|add|stop|increase|reduce",
    # ... or a finding being reported ("no swelling x-ray shows osteoarthritis").
    r"shows?|showed|reveals?|revealed|confirms?|confirmed|suggests?|demonstrates?",
]


def _compile(parts: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(parts) + r")(?=\W|$)", re.IGNORECASE)


_PRE_RE = _compile(_PRE_NEG)
_POST_RE = _compile(_POST_NEG)
_PSEUDO_RE = _compile(_PSEUDO)
_HYP_RE = _compile(_HYPOTHETICAL)
_POSS_RE = _compile(_POSSIBLE)
_FAM_RE = _compile(_FAMILY)
_HIST_RE = _compile(_HISTORICAL)
_TERM_RE = _compile(_TERMINATE)
_NEG_TERM_RE = _compile(_TERMINATE + _CLAUSE_SUBJECTS)
_BOUNDARY_RE = re.compile(r"[.!?;\n]|\s-\s")
_WORD_RE = re.compile(r"\w+")


def _is_decimal_point(text: str, m: re.Match[str]) -> bool:
    i = m.start()
    return (
        m.group(0) == "."
        and 0 < i < len(text) - 1
        and text[i - 1].isdigit()
        and text[i + 1].isdigit()
    )


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence holding ``text[start:end]``: a stop, a newline or a
    spaced dash ends it, a decimal point does not."""
    left = 0
    for m in _BOUNDARY_RE.finditer(text, 0, start):
        if not _is_decimal_point(text, m):
            left = m.end()
    right = len(text)
    for m in _BOUNDARY_RE.finditer(text, end):
        if not _is_decimal_point(text, m):
            right = m.start()
            break
    return left, right


def _in_forward_scope(
    text: str, trig_end: int, start: int, max_words: int, term: re.Pattern[str]
) -> bool:
    """True when ``start`` is within the scope opened at ``trig_end``."""
    between = text[trig_end:start]
    if len(_WORD_RE.findall(between)) > max_words:
        return False
    return not term.search(between)


def _last_trigger(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text, lo, hi):
        last = m
    return last


def _pre_trigger_applies(
    pattern: re.Pattern[str],
    text: str,
    lo: int,
    start: int,
    max_words: int,
    term: re.Pattern[str] = _TERM_RE,
) -> bool:
    for m in pattern.finditer(text, lo, start):
        if _PSEUDO_RE.match(text, m.start()):
            continue
        if m.end() <= start and _in_forward_scope(text, m.end(), start, max_words, term):
            return True
    return False


def assertion(text: str, start: int, end: int) -> Assertion:
    """How the finding at ``text[start:end]`` is asserted in its sentence."""
    lo, hi = sentence_bounds(text, start, end)
    if _pre_trigger_applies(_PRE_RE, text, lo, start, SCOPE_WORDS, _NEG_TERM_RE):
        return "negated"
    post = _POST_RE.search(text, end, hi)
    if post is not None:
        # Post-triggers reach back a few words, never across a comma or a terminator.
        gap = text[end : post.start()]
        if "," not in gap and not _TERM_RE.search(gap) and len(_WORD_RE.findall(gap)) <= 3:
            return "negated"
    if _pre_trigger_applies(_FAM_RE, text, lo, start, 6):
        return "family"
    if _pre_trigger_applies(_HYP_RE, text, lo, start, 10):
        return "hypothetical"
    if _pre_trigger_applies(_POSS_RE, text, lo, start, 5):
        return "possible"
    if _pre_trigger_applies(_HIST_RE, text, lo, start, 6):
        return "historical"
    return "present"


def is_negated(text: str, start: int, end: int) -> bool:
    """True when the finding at ``text[start:end]`` is negated ("no chest pain")."""
    return assertion(text, start, end) == "negated"
