"""NegEx-style assertion status."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.negation import assertion, is_negated


def status(text: str, target: str) -> str:
    i = text.index(target)
    return assertion(text, i, i + len(target))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("no chest pain", "chest pain"),
        ("denies fever, chills or cough", "cough"),
        ("she denies fever", "fever"),
        ("without any vomiting", "vomiting"),
        ("negative for diabetes", "diabetes"),
        ("he doesn't have a headache", "headache"),
        ("I haven't had any fever", "fever"),
        ("dengue was ruled out", "dengue"),
        ("the rash has resolved", "rash"),
        ("no history of asthma", "asthma"),
        ("not on any blood thinners like warfarin", "warfarin"),
    ],
)
def test_negated(text: str, target: str) -> None:
    assert status(text, target) == "negated"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("chest pain", "chest pain"),
        ("no fever but has a cough", "cough"),
        ("denies fever. Reports cough", "cough"),
        ("no change in the cough", "cough"),
        ("not only headache but also vomiting", "headache"),
        ("no fever, however she has chest pain", "chest pain"),
        ("she has had no fever and she reports a headache", "headache"),
    ],
)
def test_present(text: str, target: str) -> None:
    assert status(text, target) == "present"


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("come back if you get chest pain", "chest pain", "hypothetical"),
        ("watch for fever", "fever", "hypothetical"),
        ("possible pneumonia", "pneumonia", "possible"),
        ("rule out dengue", "dengue", "possible"),
        ("mother has diabetes", "diabetes", "family"),
        ("family history of asthma", "asthma", "family"),
        ("Mother is on levothyroxine", "levothyroxine", "family"),
        ("her husband takes warfarin", "warfarin", "family"),
        ("history of asthma as a child", "asthma", "historical"),
    ],
)
def test_other_assertions(text: str, target: str, expected: str) -> None:
    assert status(text, target) == expected


def test_scope_ends_at_the_sentence() -> None:
    text = "No fever. Cough for two days."
    assert status(text, "Cough") == "present"
    assert is_negated(text, 3, 8)


def test_scope_is_limited_in_words() -> None:
    text = "no problems with the medicines you gave me last time but the knee pain is back"
    assert status(text, "knee pain") == "present"
