"""Doses said with no drug the lexicon knows: a medication the note could not read.

When the recogniser garbles a drug's name ("start f3xone 500 milligrams twice daily"), the
lexicon finds no drug and the whole order used to vanish from the note without a trace. A
drug's strength with a schedule or an order verb around it, outside every medication,
vital and lab the note did read, is reported instead, so a clinician is told that a
medication was said and not understood.

    >>> [u.text for u in find_unread_doses("Start f3xone 500 milligrams twice daily.", [])]
    ['Start f3xone 500 milligrams twice daily']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from carepipe.engines.nlp.medication_words import (
    DOSE_RE,
    EVERY_N_RE,
    FREQ_RES,
    MNN_RE,
    PRN_RE,
    UNIT_MAP,
)
from carepipe.engines.nlp.negation import sentence_bounds
from carepipe.engines.nlp.numbers import normalize_numbers

#: A strength is what only a drug has: a count of tablets or a volume may be of anything.
_DRUG_UNITS = frozenset({"mg", "mcg", "g", "[iU]", "meq"})
#: Words that make a strength an order or a current drug rather than, say, a lab value.
_ORDER_WORDS = re.compile(
    r"\b(?:start|starting|prescrib\w*|take|taking|give|giving|continue|increase|decrease"
    r"|reduce|switch|change|dose|tablets?|capsules?|injections?)\b",
    re.IGNORECASE,
)
#: "..., then twenty milligrams once daily", "then restart at 3 mg daily": a step of the
#: drug before it in the sentence (read, or itself reported as unread).
_STEP_BEFORE = re.compile(
    r"\b(?:(?:then|and)\s+(?:(?:restart|resume|increas|reduc|decreas|go(?:ing)?\s+(?:up|down))"
    r"\w*\s+)?(?:at\s+|to\s+)?|to\s+|or\s+)$",
    re.IGNORECASE,
)
#: How many words before the strength the reported fragment keeps (where the name was).
_WORDS_BEFORE = 4


@dataclass(frozen=True)
class UnreadDose:
    """A strength said with a schedule or an order verb, and no drug the note read."""

    text: str  # the fragment as said: a few words before the strength, to its schedule
    start: int  # span in the text given
    end: int


def find_unread_doses(text: str, read: Sequence[tuple[int, int]]) -> list[UnreadDose]:
    """The strengths in ``text`` outside every span in ``read`` (what the note understood:
    medications with their signatures, vitals, labs, allergies) that have a schedule or an
    order word in their sentence. Spans point into ``text`` as given."""
    norm = normalize_numbers(text)
    out: list[UnreadDose] = []
    for m in DOSE_RE.finditer(norm.text):
        if UNIT_MAP.get(m.group(2).lower(), m.group(2)) not in _DRUG_UNITS:
            continue
        if norm.text.startswith("/", m.end()):
            continue  # a concentration ("180 mg/dL"): a result, not a dose
        # "1,000 units": the pattern's number has no thousands separator, so step back.
        head = re.search(r"(?:\d{1,3},)+$", norm.text[: m.start()])
        first = head.start() if head else m.start()
        start, end = norm.to_original(first, m.end())
        if any(a < end and start < b for a, b in read):
            continue
        begin, stop = sentence_bounds(norm.text, m.start(), m.end())
        sentence_start = norm.to_original(begin, begin)[0]
        earlier = [*read, *((u.start, u.end) for u in out)]
        before = norm.text[begin:first]
        # The name was said in the strength's own clause: never reach back over a comma
        # into the drug before it ("..., Tab HCQS 200 mg 1-0-1").
        clause = before.rfind(",") + 1
        # A bare strength after a comma ("20 mg OD x 1 week, 15 mg OD") is a step too.
        step = _STEP_BEFORE.search(before) or (clause and not before[clause:].strip())
        if step and any(sentence_start <= b <= start for _, b in earlier):
            continue
        after = norm.text[m.end() : stop]
        cue = _schedule_end(after)
        if cue is None and not _ORDER_WORDS.search(before):
            continue
        words = list(re.finditer(r"\S+", before[clause:]))[-_WORDS_BEFORE:]
        frag_start = words[0].start() + begin + clause if words else first
        frag_end = m.end() + (cue or 0)
        s, e = norm.to_original(frag_start, frag_end)
        if out and s < out[-1].end:
            continue  # a second strength inside the fragment already reported
        out.append(UnreadDose(text=text[s:e].strip(" ,"), start=s, end=e))
    return out


def _schedule_end(after: str) -> int | None:
    """Where the schedule right after a strength ends ("twice daily", "every 8 hours",
    "as needed", "1-0-1"), within a few words of it; None when there is none."""
    window = after[:40]
    ends = [m.end() for rx, *_ in FREQ_RES for m in [rx.search(window)] if m]
    ends += [m.end() for rx in (EVERY_N_RE, PRN_RE, MNN_RE) for m in [rx.search(window)] if m]
    return min(ends) if ends else None
