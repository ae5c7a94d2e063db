"""Split an order text into clauses, each with its character range.

"Start metformin 500 mg twice daily, order HbA1c and lipid panel, follow up in 3 months"
gives three clauses. Sentences split at ``. ; ! ?`` and new lines (not at decimal points),
then at commas (not inside numbers like 1,000) and at "and"/"then"/"also" when a new
order verb follows ("... and start nitrofurantoin"). A plain "and" between nouns stays:
"HbA1c and lipid panel" is one clause with two orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.engines.orders.lexicon import VERBS

# A period after a prescription abbreviation ("Tab.", "Inj.", "Cont.", "Adv.") is not
# the end of a sentence.
_ABBREVIATIONS = ("tab", "tabs", "cap", "caps", "inj", "syp", "syr", "susp", "cont", "adv",
                  "t", "c", "s", "dr", "no", "vs", "approx", "max", "sr", "er", "xl")  # fmt: skip
_NOT_AFTER = "".join(
    rf"(?<!\b{a})(?<!\b{a.capitalize()})(?<!\b{a.upper()})" for a in _ABBREVIATIONS
)
# "H. pylori" is a name, not the end of a sentence.
# "...(max 16 mg); wt 12 kg = 7.2 mg": the weight and the amount worked out from it go on
# with the dose by weight before the semicolon (twenty-first pass)
_SENTENCE_END = re.compile(
    rf"(?<!\d){_NOT_AFTER}\.(?!\d)(?!\s*[Pp][Yy][Ll][Oo][Rr][Ii]\b)|[!?\n]|(?<=\d)\.(?=\s|$)"
    r"|;(?!\s*(?:wt|weight)\s*[:=]?\s*\d+(?:\.\d+)?\s*kg\s*[,;]?\s*(?:so|=|give|giving)\s*\d)",
    re.IGNORECASE,
)
# "- weight 15 kg, so 200 mg TDS": the amount worked out from the weight goes on with the
# dose by weight (twentieth pass)
_COMMA = re.compile(
    r",(?!\d{3}\b)(?!(?<=kg,)\s*(?:so|giving|give|i\.?e\.?|total|=)\s*\d)", re.IGNORECASE
)
_VERB_WORDS = sorted(
    {
        *VERBS,
        "order",
        "check",
        "recheck",
        "repeat",
        "get",
        "obtain",
        "send",
        "refer",
        "follow",
        "return",
        "review",
        "see",
        "schedule",
        "arrange",
        "book",
        "switch",
    },
    key=len,
    reverse=True,
)
_JOIN_BEFORE_VERB = re.compile(
    r"\s+(?:and|then|also|plus|&)\s+(?=(?:please\s+)?(?:"
    + "|".join(re.escape(v) for v in _VERB_WORDS)
    + r")\b)"
    # "but" always turns to something else: "order a CBC but not a chest x-ray".
    + r"|\s+but\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    """One clause: its text and ``[start, end)`` in the text it was cut from."""

    text: str
    start: int
    end: int
    sentence: int  # index of the sentence it belongs to (for verb inheritance)


def _pieces(text: str, start: int, end: int, splitter: re.Pattern[str]) -> list[tuple[int, int]]:
    out = []
    cursor = start
    for m in splitter.finditer(text, start, end):
        out.append((cursor, m.start()))
        cursor = m.end()
    out.append((cursor, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",-:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",-:"):
        end -= 1
    return start, end


_DOTTED = re.compile(r"(?<![A-Za-z])(?:[A-Za-z]\.){2,}(?![A-Za-z])")


def collapse_dotted_abbreviations(text: str) -> str:
    """ "b.i.d." -> "bid   ", "p.o." -> "po  ": same length, so offsets stay valid."""
    return _DOTTED.sub(lambda m: m.group(0).replace(".", "").ljust(len(m.group(0))), text)


# A printed prescription's "Sig:" line is the signature of the drug on the line before it
# ("Lisinopril 20 mg tablet\nSig: Take 1 tab PO daily"; sixteenth pass).
_SIG_LINE = re.compile(r"\n(?=[ \t]*sig\s*:)", re.IGNORECASE)


def join_sig_lines(text: str) -> str:
    """``text`` with each line break before a "Sig:" line made a space (offsets kept)."""
    return _SIG_LINE.sub(" ", text)


def split_clauses(text: str) -> list[Clause]:
    """Clauses of ``text`` in order; pieces without a letter or digit are dropped.

    Offsets refer to ``text``; dotted abbreviations should be collapsed first.
    Digits count: after number normalisation a spoken "eighteen" is "18", and
    whether such a clause was words is for the caller to judge on the original.
    """
    clauses: list[Clause] = []
    for sent_no, (s0, s1) in enumerate(_pieces(text, 0, len(text), _SENTENCE_END)):
        for c0, c1 in _pieces(text, s0, s1, _COMMA):
            for j0, j1 in _pieces(text, c0, c1, _JOIN_BEFORE_VERB):
                a, b = _trim(text, j0, j1)
                if a < b and re.search(r"[A-Za-z0-9]", text[a:b]):
                    clauses.append(Clause(text[a:b], a, b, sent_no))
    return clauses
