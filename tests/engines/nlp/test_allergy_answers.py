"""Allergy answers as the recogniser writes them: where an allergen is expected (the slots the
ASR's rescoring asks the decoder about) and answers whose question was lost.

The sentences are dev-split transcripts of the scribe evaluation (docs/scribe.md, 2026-11-29).
"""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.allergies import allergen_slots, find_allergies


def _slots(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], cue) for s, e, cue in allergen_slots(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "Codeine makes me vomit" as heard: the answer and the words before the reaction.
        (
            "Any drug allergies? Code I makes me vomit.",
            {("Code I", "answer"), ("Code I", "reaction")},
        ),
        # The question's "?" written as a comma, the answer's "only to" skipped.
        ("any allergies, only to be noticed, any chest pain", {("be noticed", "answer")}),
        ("Any allergies? Beastings? I swell up badly.", {("Beastings", "answer")}),
        ("Any allergies? Sticking plastic make me rich.", {("Sticking plastic", "answer")}),
        ("Yes, aspirin makes my breathing worse.", {("aspirin", "reaction")}),
    ],
)
def test_the_words_that_should_name_the_allergen(text: str, expected: set) -> None:
    assert set(_slots(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Any allergies? No.",
        "Any allergies? None that I know of.",
        "Any drug allergies? No, none.",
        # Not an allergy question, not a reaction.
        "Any chest pain? Sometimes when I walk.",
        "Walking makes me tired.",
        # The substance comes after "allergic to": the drug slots' business.
        "Any allergies? I'm allergic to penicillin.",
    ],
)
def test_no_slot_where_no_allergen_is_named(text: str) -> None:
    assert allergen_slots(text) == []


@pytest.mark.parametrize(
    ("text", "said", "substance", "reaction"),
    [
        # dev e35 from audio: the question "Any allergies?" was heard "any oxygen".
        ("No, no fever, any oxygen. Milk, he gets a rash.", "Milk", "milk", "rash"),
        ("Bee stings, I swell up badly.", "Bee stings", "bee venom", "swelling"),
        ("Penicillin, I get hives.", "Penicillin", "penicillin", "urticaria"),
    ],
)
def test_a_substance_then_its_reaction_is_an_allergy(
    text: str, said: str, substance: str, reaction: str
) -> None:
    (a,) = find_allergies(text)
    assert (a.substance, a.reaction) == (substance, reaction)
    assert text[a.start : a.end] == said  # the evidence span the reviewer is shown


@pytest.mark.parametrize(
    "text",
    [
        "Headache, I get nausea.",  # not a substance
        "Yesterday, he gets a rash.",
        "Milk, he gets tired.",  # not a reaction
        "Any rash? Yes, I get a rash.",
    ],
)
def test_no_allergy_without_a_substance_and_a_reaction(text: str) -> None:
    assert find_allergies(text) == []


def test_a_corrected_answer_is_read_as_before() -> None:
    # What the rescoring's proposal makes of dev e10 ("Code I makes me vomit").
    (a,) = find_allergies("Any drug allergies? Codeine makes me vomit.")
    assert (a.substance, a.reaction) == ("codeine", "vomiting")


@pytest.mark.parametrize(
    ("text", "substance"),
    [
        # dev e38, noisy: "Any allergies to medicines?" heard as a statement.
        ("And it allergic to medicines. No, only glass pollen.", "pollen"),
        # dev e30, noisy: "Pollen gives me hay fever" heard "Pollen pins, BKT".
        ("Any allergies? Pollen pins, BKT, meh", "pollen"),
        # dev e26, noisy, after the rescoring's "sticking plaster".
        ("Any allergies? Sticking plaster has made me rich.", "adhesive tape"),
    ],
)
def test_answers_as_the_recogniser_writes_them(text: str, substance: str) -> None:
    assert [a.substance for a in find_allergies(text)] == [substance]


@pytest.mark.parametrize(
    "text",
    [
        "Any allergies? Not to any of the dust.",
        "Any allergies? Never had any with eggs.",
        # A sentence about allergies is a question only before "(No,) only / just ...".
        "He had an allergy test. Dust was fine.",
        "His allergies are better. No, he is fine.",
    ],
)
def test_a_negated_or_unasked_answer_names_no_allergen(text: str) -> None:
    assert find_allergies(text) == []
