"""Post-ASR repair of a transcript, every change kept with its evidence (never silent).

Two kinds of change, both made before the note engine reads the text:

``number_form``
    Whisper writes numbers its own way: "1.64 over 98" for "one sixty four over ninety
    eight", "1-16 over 74", "one 28 over 80", "heart rate is 1.10", "6, 15 milligrams" for
    "six fifteen/fifty milligrams". Where a vital or dose context makes the literal reading
    implausible and the joined reading plausible, the digits are joined ("164 over 98").
    When word timestamps are known, pieces are joined only if they were said without a
    pause (under ``MAX_JOIN_GAP`` seconds apart).
``drug_name``
    A phrase in a drug slot (before a dose, after "start"/"allergic to") that is not a
    known name but sounds like one (Metaphone + letters, see
    :mod:`carepipe.engines.nlp.sounds_like`) is replaced by it when the evidence is
    strong: similarity over ``MIN_SCORE`` (higher without a dose nearby), a clear margin
    over the runner-up, and, where the drug's usual dose range is known, the dose said
    next to it inside that range.

``rescored``
    A drug slot the ASR stage rescored by forced alignment
    (:mod:`carepipe.engines.asr.slot_rescoring`): its proposals come in with the transcript
    (``prepare(..., rescored=...)``) and take the place of a ``drug_name`` change on the
    same words.

Every change is a :class:`Correction` (what was heard, what it became, where, the scores,
the runner-up and the context that allowed it); the note marks items built on a changed
span so the reviewer sees both readings.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from carepipe.engines.nlp.dose_ranges import DOSE_RANGES, in_mg
from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.nlp.sounds_like import Candidate, best_in_slot, drug_slots, squash

#: Similarity (0..100) a drug-name correction needs with a dose next to it / without.
MIN_SCORE = 76.0
MIN_SCORE_NO_DOSE = 86.0
#: ... and with a dose next to a drug whose usual range is not recorded.
MIN_SCORE_UNKNOWN_RANGE = 84.0
MIN_PHONETIC = 70.0
#: Lead over the second-best candidate.
MIN_MARGIN = 4.0
#: Phrases with fewer letters are never rewritten (too many ordinary words).
MIN_LETTERS = 6
#: Seconds between two number pieces for them to count as one spoken number.
MAX_JOIN_GAP = 0.35


@dataclass(frozen=True)
class WordSpan:
    """A recognised word's place in the transcript text, its times and probability."""

    start: int
    end: int
    t_start: float
    t_end: float
    probability: float


@dataclass
class Correction:
    """One change to the transcript and why it was made."""

    kind: str  # "number_form" | "drug_name" | "rescored"
    original: str
    replacement: str
    start: int  # span in the transcript as recognised
    end: int
    new_start: int = 0  # span in the corrected text
    new_end: int = 0
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class PreparedText:
    """The corrected transcript, the changes, and the way back to the recognised text."""

    source: str
    text: str
    corrections: list[Correction]
    words: list[WordSpan]
    # (new_start, new_end, src_start, src_end) of every replaced piece, sorted.
    _pieces: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of :attr:`text` to the recognised text (widening into edits)."""

        def one(pos: int, is_end: bool) -> int:
            starts = [p[0] for p in self._pieces]
            i = bisect.bisect_right(starts, pos) - 1
            if i < 0:
                return pos
            ns, ne, ss, se = self._pieces[i]
            if ns <= pos < ne or (is_end and ns < pos <= ne):
                return se if is_end else ss
            return se + (pos - ne)

        s = one(start, False)
        return s, max(s, one(end, True))

    def corrections_in(self, start: int, end: int) -> list[Correction]:
        """Corrections whose corrected span overlaps ``[start, end)`` of :attr:`text`."""
        return [c for c in self.corrections if c.new_start < end and start < c.new_end]

    def word_probabilities(self, start: int, end: int) -> list[float]:
        """ASR probabilities of the recognised words under ``[start, end)`` of :attr:`text`."""
        s, e = self.to_source(start, end)
        return [w.probability for w in self.words if w.start < e and s < w.end]


def word_spans(transcript: Any) -> list[WordSpan]:
    """Locate every word of ``transcript.segments[*].words`` in ``transcript.text``."""
    text = transcript.text
    out: list[WordSpan] = []
    cursor = 0
    for seg in transcript.segments:
        for w in seg.words:
            token = w.text.strip()
            if not token:
                continue
            i = text.find(token, cursor)
            if i < 0:
                continue
            out.append(WordSpan(i, i + len(token), w.start, w.end, w.probability))
            cursor = i + len(token)
    return out


# --- number forms ----------------------------------------------------------------------

_VITAL_CUE = (
    r"(?:blood pressure|pressure|bp|heart rate|pulse|rate|temperature|temp|saturations?|sats"
    r"|weight|weighs|glucose|sugar)"
)
# The diastolic after "over", as written or with its tens read as "to" ("8 to 4"): both
# pieces of "1.32 over 8 to 4" are Whisper's forms of one spoken reading, and each is
# corrected by its own rule (the "to" by ``_TENS_TO_RE``).
_DIASTOLIC = r"\s*(?:over|/)\s*(?:\d{2,3}(?!\d)|[2-9]\s+to\s+[1-9]\b)"
# "1.64 over 98", "1-16 over 74", "1,16 over 74", "1 16 over 74", "1.32 over 8 to 4"
_BP_SPLIT_RE = re.compile(
    r"(?<![\d.])(?P<h>[12])(?P<sep>[.,\- ]\s?)(?P<t>\d{2})(?P<tail>" + _DIASTOLIC + ")",
    re.IGNORECASE,
)
# "one 28 over 80", "two 10 over ..."
_BP_WORD_RE = re.compile(
    r"\b(?P<h>one|two)\s+(?P<t>\d{2})(?P<tail>" + _DIASTOLIC + ")", re.IGNORECASE
)
# "blood pressure is 138.82": "one thirty eight over eighty two" written as a decimal.
_BP_DECIMAL_RE = re.compile(
    r"\b(?:blood pressure|pressure|bp)\b[^.\d]{0,20}?(?<![\d.])"
    r"(?P<s>\d{2,3})\.(?P<d>\d{2,3})(?!\d)",
    re.IGNORECASE,
)
# "blood pressure 98 or 60": "over" heard as "or".
_BP_OR_RE = re.compile(
    r"\b(?:blood pressure|pressure|bp)\b[^.\d]{0,20}?(?<![\d.])(?P<s>\d{2,3})(?P<or>\s+or\s+)"
    r"(?P<d>\d{2,3})(?!\d)",
    re.IGNORECASE,
)
# A spoken vital written as a decimal after its cue: "heart rate is 1.10" (110), "pulse
# of 1.04", "temperature 1.01" (101 F); "pulse is 9.4" (94), "respiratory rate 2.6" (26).
_VITAL_DECIMAL_RE = re.compile(
    r"\b(?P<cue>heart rate|pulse|respiratory rate|rate|temperature|temp|saturations?|sats)\b"
    r"(?P<mid>[^.\d]{0,20}?)(?<![\d.])(?P<h>[1-9])\.(?P<t>\d{2}(?!\d)|\d(?![\d.]))",
    re.IGNORECASE,
)
# Where the joined value is plausible: (as "1.dd" -> 1dd, as "d.d" -> dd), None: not read.
_VITAL_DECIMAL_RANGES: dict[str, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    "temperature": ((95, 110), None),
    "temp": ((95, 110), None),
    "heart rate": ((100, 199), (40, 99)),
    "pulse": ((100, 199), (40, 99)),
    # "rate" alone may be an infusion's ("rate 2.5 ml an hour"): only the hundreds.
    "rate": ((100, 199), None),
    "respiratory rate": ((100, 199), (10, 60)),
    "saturation": (None, (70, 99)),
    "saturations": (None, (70, 99)),
    "sats": (None, (70, 99)),
}
# "blood pressure is 88 over 52, plus 124": "pulse" heard as "plus" in a list of vitals.
_PLUS_RE = re.compile(
    r"(?<=[,;]\s)(?P<w>plus)(?=\s+(?:is\s+|of\s+)?(?P<v>\d{2,3})(?![\d.])"
    r"(?!\s*(?:mg|milligrams?|mcg|micrograms?|units?|percent|%|ml|grams?)))",
    re.IGNORECASE,
)
_VITAL_BEFORE_RE = re.compile(
    r"\b(?:blood pressure|bp|saturations?|sats|temperature|respiratory rate)\b[^.?!]{0,50}$",
    re.IGNORECASE,
)
# "one twenty two over seventy six" heard as "120 to over 76": the "two" written "to".
_UNITS_TO_RE = re.compile(
    r"(?<![\d.])(?P<s>[1-2]?\d0)(?P<to>\s+to)(?=\s+over\s+\d{2,3}(?!\d))", re.IGNORECASE
)
# "ceftriaxone to grams intravenously": a dose unit needs a number, so "to" is "two".
_TWO_UNIT_RE = re.compile(
    r"(?<=[A-Za-z]\s)(?P<to>to)(?=\s+(?:grams?|milligrams?|micrograms?|units|tablets"
    r"|puffs|drops|capsules)\b)",
    re.IGNORECASE,
)
# "6, 15 milligrams": a digit, a comma, two digits, a unit.
_DOSE_SPLIT_RE = re.compile(
    r"(?<![\d.,])(?P<h>[1-9]),\s(?P<t>\d{1,2})(?P<tail>\s*(?:milligrams?|mg|micrograms?|mcg"
    r"|kilo\w*|kgs?|pounds?))\b",
    re.IGNORECASE,
)
# "ninety four kilograms" heard as "9 to 4 kilograms" (or "9 to 4kg": no word boundary
# before the unit), "over eighty four" as "over 8 to 4":
# a tens digit and a units digit joined by "to", where a range makes no sense (a weight, or
# the diastolic after "over").
_TENS_TO_RE = re.compile(
    r"(?P<pre>\bover\s+|\bweigh(?:s|t|ed)?\s+(?:is\s+)?)?(?<![\d.,])(?P<h>[2-9])\s+to\s+"
    r"(?P<t>[1-9])(?![.,]?\d)(?P<tail>\s*(?:kilo\w*|kgs?|pounds?))?",
    re.IGNORECASE,
)
_WORD_DIGIT = {"one": "1", "two": "2"}
# "one hundred and forty" written "100, and 40" / "100 and 2 kilograms".
_SMALL = (
    r"\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty"
    r"|seventy|eighty|ninety"
)
_HUNDRED_AND_RE = re.compile(
    r"(?<![\d.,])(?P<h>[1-9])00,?\s+and\s+(?P<t>" + _SMALL + r")\b(?![.,]\d)", re.IGNORECASE
)
_CONTEXT_BEFORE_RE = re.compile(
    r"(?:" + _VITAL_CUE + r"|rate|pulse|weight|is|was|of)\W*$", re.IGNORECASE
)
_UNIT_AFTER_RE = re.compile(
    r"^\s*(?:milligrams?|mg|micrograms?|mcg|kilo\w*|kg|pounds?|centimet\w*|cm|beats|percent)",
    re.IGNORECASE,
)


def _gap_ok(words: Sequence[WordSpan], start: int, end: int) -> tuple[bool, float | None]:
    """Were the words of ``text[start:end]`` said without a pause between them?"""
    inside = [w for w in words if w.start < end and start < w.end]
    if len(inside) < 2:
        return True, None
    gap = max(b.t_start - a.t_end for a, b in pairwise(inside))
    return gap <= MAX_JOIN_GAP, round(gap, 3)


def _number_forms(
    text: str, words: Sequence[WordSpan], drug_ends: Sequence[int] = ()
) -> list[Correction]:
    """Whisper's number forms in ``text``; ``drug_ends``: where corrected drug names end."""
    out: list[Correction] = []

    def add(start: int, end: int, replacement: str, rule: str, extra: dict[str, Any]) -> None:
        ok, gap = _gap_ok(words, start, end)
        if not ok:
            return
        evidence = {"rule": rule, **extra}
        if gap is not None:
            evidence["pause_seconds"] = gap
        out.append(
            Correction(
                kind="number_form",
                original=text[start:end],
                replacement=replacement,
                start=start,
                end=end,
                evidence=evidence,
            )
        )

    for m in _BP_SPLIT_RE.finditer(text):
        systolic = int(m.group("h") + m.group("t"))
        if 70 <= systolic <= 260:
            add(
                m.start(),
                m.end("t"),
                str(systolic),
                "blood_pressure_hundreds",
                {"literal": m.group(0).strip(), "read_as": f"{systolic}{m.group('tail')}"},
            )
    for m in _BP_DECIMAL_RE.finditer(text):
        sys_v, dia_v = int(m.group("s")), int(m.group("d"))
        if 70 <= sys_v <= 260 and 30 <= dia_v <= 160 and sys_v > dia_v:
            add(
                m.start("s"),
                m.end("d"),
                f"{sys_v} over {dia_v}",
                "blood_pressure_decimal",
                {"literal": m.group("s") + "." + m.group("d")},
            )
    for m in _BP_OR_RE.finditer(text):
        sys_v, dia_v = int(m.group("s")), int(m.group("d"))
        if 70 <= sys_v <= 260 and 30 <= dia_v <= 160 and sys_v > dia_v:
            add(m.start("or"), m.end("or"), " over ", "blood_pressure_or", {})
    for m in _BP_WORD_RE.finditer(text):
        systolic = int(_WORD_DIGIT[m.group("h").lower()] + m.group("t"))
        if 70 <= systolic <= 260:
            add(m.start(), m.end("t"), str(systolic), "blood_pressure_hundreds", {})
    for m in _VITAL_DECIMAL_RE.finditer(text):
        hundreds = len(m.group("t")) == 2
        if hundreds and m.group("h") != "1":
            continue
        cue = m.group("cue").lower()
        bounds = _VITAL_DECIMAL_RANGES[cue][0 if hundreds else 1]
        value = int(m.group("h") + m.group("t"))
        if bounds is not None and bounds[0] <= value <= bounds[1]:
            rule = "vital_hundreds" if hundreds else "vital_tens_decimal"
            add(m.start("h"), m.end("t"), str(value), rule, {"cue": cue})
    for m in _PLUS_RE.finditer(text):
        if 30 <= int(m.group("v")) <= 220 and _VITAL_BEFORE_RE.search(text[: m.start()]):
            add(m.start("w"), m.end("w"), "pulse", "pulse_heard_as_plus", {})
    for m in _UNITS_TO_RE.finditer(text):
        systolic = int(m.group("s")) + 2
        if 70 <= systolic <= 260:
            add(m.start("s"), m.end("to"), str(systolic), "two_heard_as_to", {})
    for m in _TWO_UNIT_RE.finditer(text):
        before = re.findall(r"[A-Za-z]+", text[max(0, m.start() - 40) : m.start()])[-3:]
        # Only right after a drug's name, as heard or as corrected ("ceftriaxone to grams",
        # "safe triaxone to grams", "salbutamol inhaler to puffs"): elsewhere "to" may be
        # the word it looks like.
        if any(lookup_medication(w) for w in before) or any(
            m.start() - 25 <= e <= m.start() for e in drug_ends
        ):
            add(m.start("to"), m.end("to"), "2", "two_heard_as_to", {})
    for m in _HUNDRED_AND_RE.finditer(text):
        from carepipe.engines.nlp.numbers import words_to_number

        tail = m.group("t")
        small = int(tail) if tail.isdigit() else int(words_to_number(tail) or 0)
        before = text[max(0, m.start() - 30) : m.start()]
        after = text[m.end() : m.end() + 15]
        if not (_CONTEXT_BEFORE_RE.search(before) or _UNIT_AFTER_RE.match(after)):
            continue
        add(
            m.start(),
            m.end(),
            str(int(m.group("h")) * 100 + small),
            "hundred_and",
            {"literal": m.group(0)},
        )
    for m in _DOSE_SPLIT_RE.finditer(text):
        # "6, 15 milligrams" -> 615, "9, 4 kilograms" -> 94: digits said as one number.
        value = int(m.group("h") + m.group("t"))
        add(m.start(), m.end("t"), str(value), "split_number", {"literal": m.group(0)})
    for m in _TENS_TO_RE.finditer(text):
        if not (m.group("pre") or m.group("tail")):
            continue  # "2 to 3 times a day" is a range
        value = int(m.group("h") + m.group("t"))
        add(m.start("h"), m.end("t"), str(value), "tens_read_as_to", {"literal": m.group(0)})
    return out


# --- drug names ------------------------------------------------------------------------

_DOSE_AFTER_RE = re.compile(
    r"^\W{0,3}(?P<v>\d+(?:\.\d+)?)\s*(?P<u>milligrams?|mg|micrograms?|mcg|grams?|g|units?)\b",
    re.IGNORECASE,
)
_UNIT_WORD = {
    "milligram": "mg",
    "mg": "mg",
    "microgram": "mcg",
    "mcg": "mcg",
    "gram": "g",
    "g": "g",
}


def _dose_after(text: str, end: int) -> tuple[float, str] | None:
    m = _DOSE_AFTER_RE.match(text[end : end + 30])
    if not m:
        return None
    unit = m.group("u").lower().rstrip("s")
    return float(m.group("v")), _UNIT_WORD.get(unit, "[iU]" if unit.startswith("unit") else unit)


def _dose_fits(canonical: str, dose: tuple[float, str] | None) -> bool | None:
    """True/False when the drug's usual range is known and a mass dose was said; else None."""
    if dose is None or canonical not in DOSE_RANGES:
        return None
    low, high, unit = DOSE_RANGES[canonical]
    if unit == "[iU]":
        return dose[1] == "[iU]" and low <= dose[0] <= high
    mg = in_mg(dose[0], dose[1])
    if mg is None:
        return None
    return low * 0.5 <= mg <= high * 2


def dose_check(text: str, end: int, canonical: str) -> tuple[str | None, bool | None]:
    """The dose said right after ``text[:end]`` ("80 mg") and whether it is inside the usual
    range of ``canonical`` (None when no dose was said or the range is not known)."""
    dose = _dose_after(text, end)
    return (None if dose is None else f"{dose[0]:g} {dose[1]}"), _dose_fits(canonical, dose)


def _is_known(phrase: str) -> bool:
    return lookup_medication(phrase) is not None


def _drug_names(text: str) -> list[Correction]:
    out: list[Correction] = []
    for slot in drug_slots(text):
        cands = best_in_slot(text, slot, limit=4)
        if not cands:
            continue
        best: Candidate = cands[0]
        if _is_known(best.phrase):
            continue  # already a lexicon name (a perfect score on a phrase that is not one,
            # e.g. "metform in", is the name split by the recogniser: corrected below)
        # A known drug anywhere in the phrase means the phrase is not a garbled name.
        if any(_is_known(w) for w in re.findall(r"[A-Za-z]+", best.phrase)):
            continue
        if len(squash(best.phrase)) < MIN_LETTERS:
            continue
        runner_up = next((c for c in cands[1:] if c.canonical != best.canonical), None)
        margin = best.score - runner_up.score if runner_up else 100.0
        dose, fits = dose_check(text, best.end, best.canonical)
        threshold = MIN_SCORE if dose is not None else MIN_SCORE_NO_DOSE
        if dose is not None and fits is None:
            threshold = max(threshold, MIN_SCORE_UNKNOWN_RANGE)
        if fits is False:
            continue  # "8 milligrams" next to a drug never given at 8 mg: not this drug
        if best.score < threshold or best.phonetic < MIN_PHONETIC or margin < MIN_MARGIN:
            continue
        out.append(
            Correction(
                kind="drug_name",
                original=best.phrase,
                replacement=best.name,
                start=best.start,
                end=best.end,
                score=best.score,
                evidence={
                    "canonical": best.canonical,
                    "phonetic": best.phonetic,
                    "letters": best.letters,
                    "cue": slot.cue,
                    "dose": dose,
                    "dose_in_usual_range": fits,
                    "runner_up": None
                    if runner_up is None
                    else {"name": runner_up.name, "score": runner_up.score},
                },
            )
        )
    return out


def _apply(source: str, edits: list[Correction]) -> tuple[str, list[tuple[int, int, int, int]]]:
    out: list[str] = []
    pieces = []
    cursor = 0
    npos = 0
    for c in edits:
        out.append(source[cursor : c.start])
        npos += c.start - cursor
        c.new_start, c.new_end = npos, npos + len(c.replacement)
        pieces.append((c.new_start, c.new_end, c.start, c.end))
        out.append(c.replacement)
        npos += len(c.replacement)
        cursor = c.end
    out.append(source[cursor:])
    return "".join(out), pieces


def _rescored(text: str, rescored: Sequence[dict[str, Any]]) -> list[Correction]:
    """The slot rescoring's proposals (:mod:`carepipe.engines.asr.slot_rescoring`, in the
    transcript's ``extra["rescored"]``) as corrections of kind ``rescored``."""
    out = []
    for r in rescored:
        start, end = int(r["start"]), int(r["end"])
        if text[start:end] != r["original"]:
            continue  # not this transcript's text: never apply blindly
        out.append(
            Correction(
                kind="rescored",
                original=r["original"],
                replacement=r["replacement"],
                start=start,
                end=end,
                score=r.get("score"),
                evidence={"canonical": r.get("canonical"), **(r.get("evidence") or {})},
            )
        )
    return out


def prepare(
    text: str,
    words: Sequence[WordSpan] = (),
    *,
    drug_names: bool = True,
    rescored: Sequence[dict[str, Any]] = (),
) -> PreparedText:
    """Correct ``text`` (number forms, then drug names); every change is recorded.

    ``rescored``: the ASR stage's drug-slot proposals (``Transcript.extra["rescored"]``);
    where one covers a slot, it replaces the spelling-based drug-name correction there.
    """
    chosen_by_audio = _rescored(text, rescored)
    names = _drug_names(text) if drug_names else []
    names = [
        n for n in names if not any(n.start < r.end and r.start < n.end for r in chosen_by_audio)
    ]
    names += chosen_by_audio
    candidates = _number_forms(text, words, [c.end for c in names]) + names
    candidates.sort(key=lambda c: (c.start, -(c.end - c.start)))
    chosen: list[Correction] = []
    for c in candidates:
        if chosen and c.start < chosen[-1].end:
            continue  # overlapping proposals: the earlier (longer) one wins
        chosen.append(c)
    corrected, pieces = _apply(text, chosen)
    return PreparedText(text, corrected, chosen, list(words), pieces)
