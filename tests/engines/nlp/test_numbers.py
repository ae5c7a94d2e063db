"""Spoken numbers -> digits, and the map back to the original text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepipe.engines.nlp.numbers import normalize_numbers, number_to_words, words_to_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("five hundred", 500),
        ("thirty eight point two", 38.2),
        ("ninety seven", 97),
        ("two and a half", 2.5),
        ("one and a half", 1.5),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("fifteen hundred", 1500),
        ("point five", 0.5),
        ("zero point two five", 0.25),
        ("ninety-nine", 99),
        ("two thousand and twenty", 2020),
        ("half", 0.5),
        ("a quarter", 0.25),
        ("twelve", 12),
        ("2 and a half", 2.5),
        ("Ninety Eight Point Six", 98.6),
        ("three and three quarters", 3.75),
    ],
)
def test_words_to_number(text: str, expected: float) -> None:
    assert words_to_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "hello", "five apples", "one forty", "point", "and"])
def test_not_a_single_number(text: str) -> None:
    assert words_to_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("one forty", 140), ("one oh five", 105), ("six fifty", 650), ("one twenty five", 125)],
)
def test_colloquial_hundreds(text: str, expected: float) -> None:
    assert words_to_number(text, colloquial=True) == expected
    assert words_to_number(text) is None


def test_normalize_replaces_and_maps_back() -> None:
    src = "BP is one forty over ninety and pulse seventy two"
    nt = normalize_numbers(src, colloquial=True)
    assert nt.text == "BP is 140 over 90 and pulse 72"
    i = nt.text.index("140")
    assert src[slice(*nt.to_original(i, i + 3))] == "one forty"
    j = nt.text.index("72")
    assert src[slice(*nt.to_original(j, j + 2))] == "seventy two"
    # Text outside numbers maps with the accumulated offset.
    k = nt.text.index("pulse")
    assert src[slice(*nt.to_original(k, k + 5))] == "pulse"
    # A span covering several numbers covers all their words.
    assert src[slice(*nt.to_original(i, j + 2))] == "one forty over ninety and pulse seventy two"


def test_normalize_strict_mode_keeps_juxtaposed_numbers_apart() -> None:
    assert normalize_numbers("one forty").text == "1 40"


def test_frequency_after_a_dose_is_not_swallowed() -> None:
    nt = normalize_numbers("paracetamol six fifty three times a day", colloquial=True)
    assert nt.text == "paracetamol 650 3 times a day"


def test_pronoun_one_is_left_alone() -> None:
    assert normalize_numbers("no one came, the one on the left").text == (
        "no one came, the one on the left"
    )
    assert normalize_numbers("take one tablet").text == "take 1 tablet"


def test_digits_are_reported_but_not_rewritten() -> None:
    nt = normalize_numbers("metformin 500 mg, one and a half tablets")
    assert nt.text == "metformin 500 mg, 1.5 tablets"
    values = [(n.value, n.spoken) for n in nt.numbers]
    assert values == [(500.0, False), (1.5, True)]


def _variants(n: int) -> st.SearchStrategy[str]:
    base = number_to_words(n)
    options = [base, base.replace(" ", "-") if n % 100 and n % 100 > 20 else base]
    if n % 100 and " hundred " in base:
        # British "and": "three hundred and twelve".
        head, _, tail = base.rpartition(" hundred ")
        options.append(f"{head} hundred and {tail}")
    elif n > 1000 and n % 1000 and n % 1000 < 100:
        head, _, tail = base.rpartition(" thousand ")
        options.append(f"{head} thousand and {tail}")
    return st.sampled_from(options)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=9999).flatmap(lambda n: st.tuples(st.just(n), _variants(n)))
)
def test_every_integer_round_trips(pair: tuple[int, str]) -> None:
    n, words = pair
    assert words_to_number(words) == n


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=9),
    st.sampled_from(["", "the reading was ", "temp "]),
)
def test_decimals_round_trip_inside_text(whole: int, tenth: int, prefix: str) -> None:
    spoken = f"{number_to_words(whole)} point {number_to_words(tenth)}"
    nt = normalize_numbers(f"{prefix}{spoken} today")
    assert nt.text == f"{prefix}{whole}.{tenth} today"
    num = nt.numbers[0]
    assert num.value == pytest.approx(float(f"{whole}.{tenth}"))
    assert nt.original[num.orig_start : num.orig_end] == spoken


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc one two forty .,-"))), st.booleans())
def test_normalize_never_crashes_and_spans_stay_in_bounds(text: str, colloquial: bool) -> None:
    nt = normalize_numbers(text, colloquial=colloquial)
    for num in nt.numbers:
        assert 0 <= num.orig_start <= num.orig_end <= len(text)
        assert nt.text[num.start : num.end]
    s, e = nt.to_original(0, len(nt.text))
    assert (s, e) == (0, len(text))
