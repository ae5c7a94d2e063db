"""Word error rate with numbers normalised, shared by the tests and the benchmark.

References are written the way people speak ("one forty over ninety", "thirty eight
point four"); Whisper writes digits ("140/90", "38.4"). Both sides are brought to the
same form before scoring: lower case, punctuation dropped, spoken numbers turned into
digits (including the clinical habit of saying 140 as "one forty"), a few unit
abbreviations and British spellings expanded/unified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import jiwer

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000}

# Abbreviations an ASR engine may write for what the speaker said in full.
_ABBREVIATIONS = {
    "mg": "milligrams", "mgs": "milligrams", "mcg": "micrograms", "µg": "micrograms",
    "ug": "micrograms", "kg": "kilograms", "kgs": "kilograms", "ml": "millilitres",
    "%": "percent", "bp": "blood pressure", "mmhg": "millimetres of mercury",
}  # fmt: skip
# Spelling variants that are the same word (British -> American, as Whisper's English
# models mostly write American).
_SPELLINGS = {
    "anaemia": "anemia", "oesophageal": "esophageal", "sulphate": "sulfate",
    "paediatric": "pediatric", "haemoglobin": "hemoglobin", "litres": "liters",
    "millilitres": "milliliters", "millimetres": "millimeters", "okay": "ok",
}  # fmt: skip


def _two_digit(tokens: list[str], i: int) -> tuple[int, int] | None:
    """A number 10..99 spoken at ``tokens[i]`` ("eighteen", "forty", "twenty four")."""
    if i >= len(tokens):
        return None
    word = tokens[i]
    if word in _TEENS:
        return _TEENS[word], i + 1
    if word in _TENS:
        value = _TENS[word]
        if i + 1 < len(tokens) and tokens[i + 1] in _UNITS and _UNITS[tokens[i + 1]] > 0:
            return value + _UNITS[tokens[i + 1]], i + 2
        return value, i + 1
    return None


def _cardinal(tokens: list[str], i: int) -> tuple[int, int] | None:
    """A spoken cardinal at ``tokens[i]``: "one hundred and four", "seven hundred and twenty"."""
    total = 0
    current = 0
    seen = False
    expect_small = True  # a unit/teen/tens may come next
    j = i
    while j < len(tokens):
        word = tokens[j]
        if word in _UNITS and expect_small:
            current += _UNITS[word]
            expect_small = False
        elif (word in _TEENS or word in _TENS) and expect_small:
            pair = _two_digit(tokens, j)
            assert pair is not None
            current += pair[0]
            j = pair[1]
            seen = True
            expect_small = False
            continue
        elif word == "hundred" and 0 < current < 100:
            current *= 100
            expect_small = True
        elif word == "thousand" and (current or seen):
            total += (current or 1) * 1000
            current = 0
            expect_small = True
        elif (
            word == "and"
            and seen
            and expect_small
            and j + 1 < len(tokens)
            and (tokens[j + 1] in _UNITS or tokens[j + 1] in _TEENS or tokens[j + 1] in _TENS)
        ):
            pass  # "one hundred and four"
        else:
            break
        seen = True
        j += 1
    if not seen:
        return None
    return total + current, j


def _number_at(tokens: list[str], i: int) -> tuple[str, int] | None:
    """The number spoken from ``tokens[i]`` as digits, and the index after it."""
    word = tokens[i]
    if word in _UNITS and _UNITS[word] > 0 and i + 1 < len(tokens):
        nxt = tokens[i + 1]
        if (nxt in _TEENS or nxt in _TENS) and (
            i + 2 >= len(tokens)
            or tokens[i + 2]
            not in (
                "hundred",
                "thousand",
            )
        ):
            # Clinical shorthand: "one forty" = 140, "one twenty four" = 124.
            pair = _two_digit(tokens, i + 1)
            assert pair is not None
            return str(_UNITS[word] * 100 + pair[0]), pair[1]
    parsed = _cardinal(tokens, i)
    if parsed is None:
        return None
    value, j = parsed
    digits = str(value)
    # Decimals: "thirty eight point four", "sixty eight point five".
    if j + 1 < len(tokens) and tokens[j] == "point" and tokens[j + 1] in _UNITS:
        decimals = []
        j += 1
        while j < len(tokens) and tokens[j] in _UNITS:
            decimals.append(str(_UNITS[tokens[j]]))
            j += 1
        digits += "." + "".join(decimals)
    return digits, j


def _words_to_digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        parsed = _number_at(tokens, i) if not tokens[i][0].isdigit() else None
        if parsed is None:
            out.append(tokens[i])
            i += 1
        else:
            out.append(parsed[0])
            i = parsed[1]
    return _join_hundreds(out)


def _join_hundreds(tokens: list[str]) -> list[str]:
    """Whisper sometimes writes "one hundred and three" as "100 and 3": make it 103."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (
            token.isdigit()
            and token.endswith("00")
            and i + 2 < len(tokens)
            and tokens[i + 1] == "and"
            and tokens[i + 2].isdigit()
            and int(tokens[i + 2]) < 100
        ):
            out.append(str(int(token) + int(tokens[i + 2])))
            i += 3
            continue
        out.append(token)
        i += 1
    return out


def normalise(text: str) -> str:
    """Lower-case, punctuation-free, numbers as digits; the form WER is computed on."""
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r"(?<=\d)\s*/\s*(?=\d)", " over ", text)  # 140/90 -> 140 over 90
    text = re.sub(r"(?<=\d)\s*%", " percent", text)
    text = re.sub(r"(?<=\d)(?=[a-zµ])", " ", text)  # 40mg -> 40 mg
    text = re.sub(r"\b(\d+)\.(?!\d)", r"\1", text)  # sentence-final "90." -> "90"
    text = text.replace("°c", " ").replace("°", " ")
    text = text.replace("'", "").replace("\u2019", "")  # I've -> ive on both sides
    text = re.sub(r"[^a-z0-9µ%.\s]|(?<!\d)\.|\.(?!\d)", " ", text)  # keep only 38.4's dot
    tokens = text.split()
    expanded: list[str] = []
    for token in tokens:
        token = _SPELLINGS.get(token, token)
        expanded.extend(_ABBREVIATIONS.get(token, token).split())
    return " ".join(_words_to_digits(expanded))


def word_error_rate(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """WER of ``hypothesis`` against ``reference`` after :func:`normalise`.

    Given lists, this is the corpus WER (total edits over total reference words), not the
    mean of per-clip WERs.
    """
    if isinstance(reference, str) != isinstance(hypothesis, str):
        raise TypeError("reference and hypothesis must both be strings or both be lists")
    if isinstance(reference, str):
        assert isinstance(hypothesis, str)
        refs, hyps = [normalise(reference)], [normalise(hypothesis)]
    else:
        refs = [normalise(r) for r in reference]
        hyps = [normalise(h) for h in hypothesis]
        if len(refs) != len(hyps):
            raise ValueError("reference and hypothesis lists differ in length")
    if not any(refs):
        raise ValueError("reference is empty after normalisation")
    # jiwer rejects empty hypothesis strings; a placeholder word counts as the deletions
    # (plus one insertion), which is the honest score for "recognised nothing".
    hyps = [h if h else "<empty>" for h in hyps]
    return float(jiwer.wer(refs, hyps))
