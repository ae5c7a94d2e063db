"""Conventions of the orders corpus settled by the lead on 2026-11-29 (rules 2.16.0), from
the dev labels, never from a holdout's: tablets written after a slash strength are the dose
("Co-codamol 30/500 two tablets" is 2 tablets, as 12 of the 17 dev labels of such words
give it), while a count read off an Indian schedule ("Tab Telma-AM 40/5 1-0-0") stays no
dose, as all 14 dev labels of those give none; and the international name of an ingredient
is the ingredient ("phenoxymethylpenicillin" is penicillin V). Every sentence here was
written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.orders import RulesOrdersEngine


@pytest.fixture(scope="module")
def engine() -> RulesOrdersEngine:
    return RulesOrdersEngine()


def _dose(engine: RulesOrdersEngine, text: str) -> tuple:
    (m,) = engine.extract(text).medications
    return m.dose, m.dose_unit


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Co-codamol 30/500 two tablets QDS PRN", (2.0, "tablet")),
        ("Percocet 5/325 1 tab PO q6h PRN pain", (1.0, "tablet")),
        ("Norco 5/325 1-2 tabs q4h prn", (1.0, "tablet")),
        ("Sinemet 25/100 one and a half tablets TDS", (1.5, "tablet")),
        ("Augmentin 500/125 one tablet TDS for 5 days", (1.0, "tablet")),
    ],
)
def test_tablets_written_after_a_slash_strength_are_the_dose(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert _dose(engine, text) == want


@pytest.mark.parametrize(
    "text",
    [
        "Tab Telma-AM 40/5 1-0-0",  # the count is the schedule's, not written as tablets
        "Tab Janumet 50/500 1-0-1 after food",
        "Augmentin 875/125 mg BD x 7 days",  # no count at all
        "Co-codamol 30/500 QDS PRN",
    ],
)
def test_a_slash_strength_without_written_tablets_gives_no_dose(
    engine: RulesOrdersEngine, text: str
) -> None:
    assert _dose(engine, text) == (None, None)


def test_a_counted_form_and_a_single_strength_are_unchanged(engine: RulesOrdersEngine) -> None:
    assert _dose(engine, "Seretide 250/25 two puffs BD") == (2.0, "puff")
    assert _dose(engine, "Amlodipine 10 mg half tab OD") == (5.0, "mg")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Phenoxymethylpenicillin", "penicillin v"),
        ("glycopyrronium bromide", "glycopyrrolate"),
        ("Polyethylene glycol 3350", "polyethylene glycol"),
        ("macrogol 3350", "polyethylene glycol"),
    ],
)
def test_other_names_of_one_ingredient_are_that_ingredient(name: str, canonical: str) -> None:
    assert lookup_medication(name) == canonical


def test_an_unrelated_name_is_not_equated() -> None:
    assert lookup_medication("benzylpenicillin") == "benzylpenicillin"
    assert lookup_medication("polyethylene") is None
