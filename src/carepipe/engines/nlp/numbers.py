"""Spoken numbers: "thirty eight point two" -> 38.2, and text with numbers written as digits.

ASR output spells numbers as words more often than not. Everything downstream (vitals,
doses, durations) wants digits, but must still point at the words the clinician said, so
``normalize_numbers`` keeps a map from the normalised text back to the original.

Grammar (longest match wins; anything else is left untouched)::

    number   := integer [decimal] [fraction] | decimal | fraction
    integer  := below_1000 ["million" [rest]] | below_1000 ["thousand" [rest]]
    below_1000 := ([1-9] | "a") "hundred" ["and"] [below_100]
                | below_100 "hundred" ...       ("fifteen hundred" = 1500)
                | below_100
    decimal  := "point" digit-word+           ("point two five" = .25; "oh" = 0)
    fraction := "and a half" | "and a quarter" | "and three quarters" | "half" | "a half"

Colloquial mode (``colloquial=True``) also reads a digit word followed by a tens or teen
word as hundreds, the way blood pressure and doses are said: "one forty" = 140,
"one oh five" = 105, "six fifty" = 650.

``normalize_numbers`` reads such hundreds in every mode where the writing leaves no other
reading: a hyphen between the digit word and the tens word ("two-fifty" = 250,
"one-twenty-five" = 125), or a tens word hyphened to its unit after the digit word ("one
twenty-five" = 125, "eight seventy-five" = 875); never as a clock time ("at two-thirty",
"seven-fifteen pm"). Spaced alone ("one forty") they stay two numbers unless colloquial.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,  # common misspelling in transcripts
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
FRACTIONS: dict[str, float] = {"half": 0.5, "quarter": 0.25}
DIGIT_WORDS: dict[str, int] = {**{k: v for k, v in UNITS.items() if v < 10}, "oh": 0, "o": 0}

NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | frozenset(SCALES) | frozenset(FRACTIONS)

# Words after which a lone "one" is a pronoun, not a number ("no one", "the one on the left").
_PRONOUN_ONE_BEFORE = frozenset(
    {"no", "any", "every", "the", "this", "that", "which", "each", "another", "little", "new"}
)

_TOKEN_RE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")


@dataclass(frozen=True)
class NumberSpan:
    """One number found in the text: where it is in both texts, and its value."""

    value: float
    start: int  # in the normalised text
    end: int
    orig_start: int  # in the original text
    orig_end: int
    spoken: bool  # True when it was written as words (and was replaced)


@dataclass
class NormalizedText:
    """Text with spoken numbers replaced by digits, and the way back to the original."""

    original: str
    text: str
    numbers: list[NumberSpan] = field(default_factory=list)
    # Replaced pieces as (norm_start, norm_end, orig_start, orig_end), sorted.
    _pieces: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)

    def _map(self, pos: int, *, is_end: bool) -> int:
        starts = [p[0] for p in self._pieces]
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0:
            ns, ne, os_, oe = self._pieces[i]
            if ns <= pos < ne or (is_end and ns < pos <= ne):
                # Inside a replaced number: the whole spoken phrase is the span.
                return oe if is_end else os_
            return oe + (pos - ne)
        return pos

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of ``text`` to the span of ``original`` it came from.

        A span that cuts into a replaced number widens to cover the whole spoken phrase.
        """
        if start > end:
            raise ValueError("start must not be after end")
        return self._map(start, is_end=False), max(
            self._map(start, is_end=False), self._map(end, is_end=True)
        )


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


# --- the parser over a list of lower-case word tokens -------------------------------------


def _below_100(toks: list[str], i: int) -> tuple[int, int] | None:
    """(value, next index) for 0..99 at ``i``, or None."""
    if i >= len(toks):
        return None
    w = toks[i]
    if w in TENS:
        if i + 1 < len(toks) and toks[i + 1] in UNITS and 0 < UNITS[toks[i + 1]] < 10:
            return TENS[w] + UNITS[toks[i + 1]], i + 2
        return TENS[w], i + 1
    if w in UNITS:
        return UNITS[w], i + 1
    if w.isdigit() and len(w) <= 2:
        return int(w), i + 1
    return None


def _below_1000(toks: list[str], i: int) -> tuple[int, int] | None:
    n = len(toks)
    if i < n and toks[i] == "a" and i + 1 < n and toks[i + 1] == "hundred":
        head: tuple[int, int] | None = (1, i + 1)
    else:
        head = _below_100(toks, i)
    if head is None:
        return None
    value, j = head
    if j < n and toks[j] == "hundred" and value > 0:
        total = value * 100
        j += 1
        rest = _optional_and(toks, j, _below_100)
        if rest is not None and rest[0] > 0:
            return total + rest[0], rest[1]
        return total, j
    return value, j


def _optional_and(toks: list[str], j: int, parser):  # type: ignore[no-untyped-def]
    """Parse ``parser`` at ``j``, allowing one "and" in front ("one hundred and five")."""
    if j < len(toks) and toks[j] == "and":
        got = parser(toks, j + 1)
        if got is not None:
            return got
        return None
    return parser(toks, j)


def _integer(toks: list[str], i: int) -> tuple[int, int] | None:
    head = _below_1000(toks, i)
    if head is None:
        if i + 1 < len(toks) and toks[i] == "a" and toks[i + 1] in ("thousand", "million"):
            head = (1, i + 1)
        else:
            return None
    value, j = head
    n = len(toks)
    if j < n and toks[j] == "million" and value > 0:
        total = value * 1_000_000
        j += 1
        rest = _optional_and(toks, j, _below_million)
        if rest is not None and rest[0] > 0:
            return total + rest[0], rest[1]
        return total, j
    if j < n and toks[j] == "thousand" and value > 0:
        total = value * 1000
        j += 1
        rest = _optional_and(toks, j, _below_1000)
        if rest is not None and rest[0] > 0:
            return total + rest[0], rest[1]
        return total, j
    return value, j


def _below_million(toks: list[str], i: int) -> tuple[int, int] | None:
    head = _below_1000(toks, i)
    if head is None:
        return None
    value, j = head
    if j < len(toks) and toks[j] == "thousand" and value > 0:
        rest = _optional_and(toks, j + 1, _below_1000)
        if rest is not None and rest[0] > 0:
            return value * 1000 + rest[0], rest[1]
        return value * 1000, j + 1
    return value, j


def _colloquial(toks: list[str], i: int) -> tuple[int, int] | None:
    """ "one forty" -> 140, "one twenty five" -> 125, "one oh five" -> 105, "six fifty" -> 650."""
    n = len(toks)
    if i + 1 >= n or toks[i] not in UNITS or not 1 <= UNITS[toks[i]] <= 9:
        return None
    hundreds = UNITS[toks[i]] * 100
    nxt = toks[i + 1]
    if nxt in ("oh", "o") and i + 2 < n and toks[i + 2] in UNITS and 0 < UNITS[toks[i + 2]] < 10:
        return hundreds + UNITS[toks[i + 2]], i + 3
    if nxt in TENS or (nxt in UNITS and UNITS[nxt] >= 10):
        rest = _below_100(toks, i + 1)
        if rest is not None:
            return hundreds + rest[0], rest[1]
    return None


# Words that make a spoken "two-thirty" a clock time, not 230: before it, and after it; and
# units of time, after which the tens word counts them ("one twenty-four hour urine").
_CLOCK_BEFORE = frozenset({"at", "by", "around", "till", "until", "from", "after", "before"})
_CLOCK_AFTER = frozenset({"am", "pm", "a", "p", "o", "oclock"})
_TIME_UNITS = frozenset(
    {"hour", "hours", "hr", "hrs", "h", "hourly", "minute", "minutes", "min", "mins"}
    | {"day", "days", "week", "weeks", "month", "months", "year", "years"}
)


def _written_hundreds(
    words: list[str], toks: list[tuple[str, int, int]], text: str, i: int
) -> tuple[int, int] | None:
    """ "two-fifty" / "one twenty-five" read as hundreds outside colloquial mode.

    Only where the hyphens say so: a hyphen between the digit word and the tens word, or a
    tens word hyphened to its unit right after the digit word. Not a clock time. ``words``:
    the lower-cased tokens ``toks`` may be read up to (a joinable run's end).
    """
    got = _colloquial(words, i)
    if got is None or words[i + 1] not in TENS:
        return None
    _value, j = got

    def hyphen(a: int) -> bool:
        return text[toks[a][2] : toks[a + 1][1]].strip() == "-"

    if not (hyphen(i) or (j == i + 3 and hyphen(i + 1))):
        return None
    if i > 0 and toks[i - 1][0] in _CLOCK_BEFORE:
        return None
    if j < len(toks) and toks[j][0] in _CLOCK_AFTER | _TIME_UNITS:
        return None
    return got


def _fraction_tail(toks: list[str], j: int) -> tuple[float, int] | None:
    """ "and a half" / "and a quarter" / "and three quarters" after an integer."""
    n = len(toks)
    if j + 2 < n and toks[j] == "and" and toks[j + 1] in ("a", "one") and toks[j + 2] in FRACTIONS:
        return FRACTIONS[toks[j + 2]], j + 3
    if j + 2 < n and toks[j] == "and" and toks[j + 1] == "three" and toks[j + 2] == "quarters":
        return 0.75, j + 3
    return None


def _decimal_tail(toks: list[str], j: int) -> tuple[str, int] | None:
    """ "point two five" -> ("25", next). Also "point twenty five" -> "25"."""
    n = len(toks)
    if j >= n or toks[j] != "point":
        return None
    k = j + 1
    digits = ""
    while k < n:
        w = toks[k]
        if w in DIGIT_WORDS:
            digits += str(DIGIT_WORDS[w])
            k += 1
        elif w.isdigit():
            digits += w
            k += 1
        elif w in TENS and not digits:
            got = _below_100(toks, k)
            assert got is not None
            digits += str(got[0])
            k = got[1]
            break
        else:
            break
    if not digits:
        return None
    return digits, k


def parse_number_at(
    toks: list[str], i: int, *, colloquial: bool = False
) -> tuple[float, int, str] | None:
    """Longest number starting at token ``i``: (value, next index, digits as written)."""
    n = len(toks)
    if i >= n:
        return None
    w = toks[i]
    # Fraction-only starts: "half", "a half", "a quarter", "one half".
    if w == "half":
        return 0.5, i + 1, "0.5"
    if w in ("a", "one") and i + 1 < n and toks[i + 1] in FRACTIONS:
        v = FRACTIONS[toks[i + 1]]
        return v, i + 2, _fmt(v)
    if w == "point":
        dec = _decimal_tail(toks, i)
        if dec is None:
            return None
        s = "0." + dec[0]
        return float(s), dec[1], s
    if w.isdigit() and len(w) > 2:
        intpart: tuple[int, int] | None = None
    else:
        intpart = _integer(toks, i)
    if colloquial:
        col = _colloquial(toks, i)
        if col is not None and (intpart is None or col[1] > intpart[1]):
            intpart = col
    if intpart is None:
        if re.fullmatch(r"\d+(?:\.\d+)?", w):
            # A number already written as digits: it may take "and a half" or "hundred".
            base = float(w)
            j = i + 1
            if j < n and toks[j] in SCALES and base.is_integer():
                base *= SCALES[toks[j]]
                j += 1
            frac = _fraction_tail(toks, j)
            if frac is not None and base.is_integer():
                return base + frac[0], frac[1], _fmt(base + frac[0])
            return base, j, _fmt(base) if j > i + 1 else w
        return None
    value, j = intpart
    dec = _decimal_tail(toks, j)
    if dec is not None:
        s = f"{value}.{dec[0]}"
        return float(s), dec[1], s
    frac = _fraction_tail(toks, j)
    if frac is not None:
        total = value + frac[0]
        return total, frac[1], _fmt(total)
    return float(value), j, str(value)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def words_to_number(text: str, *, colloquial: bool = False) -> float | None:
    """The number a whole phrase spells, or None if the phrase is not exactly one number.

    >>> words_to_number("thirty eight point two")
    38.2
    >>> words_to_number("two and a half")
    2.5
    >>> words_to_number("one forty") is None, words_to_number("one forty", colloquial=True)
    (True, 140.0)
    """
    toks = [t for t, _, _ in _tokens(text.replace("-", " "))]
    if not toks:
        return None
    got = parse_number_at(toks, 0, colloquial=colloquial)
    if got is None or got[1] != len(toks):
        return None
    return got[0]


def _is_joinable(text: str, a_end: int, b_start: int) -> bool:
    """Tokens of one spoken number are separated by spaces or a hyphen only."""
    gap = text[a_end:b_start]
    return gap.strip(" \t-") == "" and "\n" not in gap


def _parse_joined(
    words: list[str], toks: list[tuple[str, int, int]], text: str, i: int, *, colloquial: bool
) -> tuple[float, int, str] | None:
    """The number at token ``i`` of ``words`` (the first tokens of ``toks``), hyphened
    hundreds too."""
    got = parse_number_at(words, i, colloquial=colloquial)
    if colloquial:
        return got
    hundreds = _written_hundreds(words, toks, text, i)
    if hundreds is not None and (got is None or hundreds[1] > got[1]):
        value, j = hundreds
        return float(value), j, str(value)
    return got


def normalize_numbers(text: str, *, colloquial: bool = False) -> NormalizedText:
    """Replace spoken numbers with digits; keep a map back to the original text.

    Numbers already written as digits are reported in ``numbers`` but left as they are
    (unless they take a spoken tail, e.g. "2 and a half" -> "2.5").
    """
    toks = _tokens(text)
    words = [t for t, _, _ in toks]
    out: list[str] = []
    pieces: list[tuple[int, int, int, int]] = []
    numbers: list[NumberSpan] = []
    cursor = 0  # in the original
    npos = 0  # length of the normalised text so far
    i = 0
    while i < len(toks):
        w, s, e = toks[i]
        is_candidate = (
            w in NUMBER_WORDS or w in ("a", "point") or w[0].isdigit() or w in DIGIT_WORDS
        )
        if not is_candidate or (w in ("oh", "o")):
            i += 1
            continue
        # Only the tokens joined by spaces/hyphens belong to one number.
        k = i + 1
        while k < len(toks) and _is_joinable(text, toks[k - 1][2], toks[k][1]):
            k += 1
        got = _parse_joined(words[:k], toks, text, i, colloquial=colloquial)
        if got is None:
            i += 1
            continue
        value, j, digits = got
        if j < len(words) and words[j] in ("times", "time", "x") and j - i >= 2:
            # "fifty three times a day" after a dose: "three times" is the frequency.
            last = words[j - 1]
            if last in UNITS and 1 <= UNITS[last] <= 9 and words[j - 2] in TENS:
                shorter = _parse_joined(words[: j - 1], toks, text, i, colloquial=colloquial)
                if shorter is not None:
                    value, j, digits = shorter
        if (
            w == "one"
            and j == i + 1
            and i > 0
            and (words[i - 1] in _PRONOUN_ONE_BEFORE or (j < len(words) and words[j] == "of"))
        ):
            i += 1
            continue
        o_start, o_end = s, toks[j - 1][2]
        spoken = not (j == i + 1 and w[0].isdigit())
        if spoken:
            out.append(text[cursor:o_start])
            npos += o_start - cursor
            pieces.append((npos, npos + len(digits), o_start, o_end))
            numbers.append(NumberSpan(value, npos, npos + len(digits), o_start, o_end, True))
            out.append(digits)
            npos += len(digits)
            cursor = o_end
        else:
            n_start = npos + (o_start - cursor)
            numbers.append(NumberSpan(value, n_start, n_start + (o_end - o_start), s, e, False))
        i = j
    out.append(text[cursor:])
    return NormalizedText(original=text, text="".join(out), numbers=numbers, _pieces=pieces)


def number_to_words(n: int) -> str:
    """English words for 0..999,999,999 (used by tests and the benchmark's dev sentences)."""
    if n < 0:
        raise ValueError("negative numbers are not spoken here")
    inv_units = {v: k for k, v in UNITS.items()}
    inv_tens = {v: k for k, v in TENS.items() if k != "fourty"}

    def below_100(x: int) -> str:
        if x < 20:
            return inv_units[x]
        t, u = divmod(x, 10)
        return inv_tens[t * 10] + (f" {inv_units[u]}" if u else "")

    def below_1000(x: int) -> str:
        h, r = divmod(x, 100)
        parts = []
        if h:
            parts.append(f"{inv_units[h]} hundred")
        if r or not h:
            parts.append(below_100(r))
        return " ".join(parts)

    if n == 0:
        return "zero"
    parts = []
    m, rest = divmod(n, 1_000_000)
    if m:
        parts.append(f"{below_1000(m)} million")
    t, r = divmod(rest, 1000)
    if t:
        parts.append(f"{below_1000(t)} thousand")
    if r:
        parts.append(below_1000(r))
    return " ".join(parts)
