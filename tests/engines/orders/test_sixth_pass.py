"""Sixth pass of the orders engine (issue 12): the general rules written after batch 8 was
retired to dev, each with guards for phrases that must not become orders."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_services


def _timing(engine: RulesOrdersEngine, text: str) -> list[tuple]:
    r = engine.extract(text)
    return [
        (
            m.name,
            m.timing.frequency if m.timing else None,
            m.timing.period if m.timing else None,
            m.timing.periodUnit if m.timing else None,
        )
        for m in r.medications
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Prolia 60 mg SC every 6 months", ("denosumab", 1, 6.0, "mo")),
        ("Zoledronic acid 5 mg IV once yearly", ("zoledronic acid", 1, 1.0, "a")),
        ("zoledronic acid 5 mg IV annually", ("zoledronic acid", 1, 1.0, "a")),
        ("denosumab 60 mg SC every six months", ("denosumab", 1, 6.0, "mo")),
    ],
)
def test_long_intervals(engine: RulesOrdersEngine, text: str, want: tuple) -> None:
    assert _timing(engine, text) == [want]


def test_once_alone_is_still_a_single_dose(engine: RulesOrdersEngine) -> None:
    assert _timing(engine, "Zoledronic acid 4 mg IV once") == [
        ("zoledronic acid", None, None, None)
    ]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Start Champix 0.5 mg OD", "varenicline"),
        ("Apply Tacroz 0.1% ointment BD", "tacrolimus"),
        ("Protopic 0.03% ointment BD", "tacrolimus"),
        ("Mag oxide 400 mg PO BID", "magnesium oxide"),
    ],
)
def test_sixth_pass_drug_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Cardiac rehab referral", ["Cardiac rehabilitation"]),
        ("pulmonary rehabilitation referral", ["Pulmonary rehabilitation"]),
        (
            "Total IgE, AEC, skin prick test",
            ["Absolute eosinophil count", "Skin prick test", "Total IgE"],
        ),
        ("FAST scan", ["FAST ultrasound"]),
        ("eFAST", ["FAST ultrasound"]),
        ("cranial ultrasound", ["Cranial ultrasound"]),
        ("urine for cytology x 3", ["Urine cytology"]),
        ("CSF culture", ["CSF culture"]),
        ("serial ECGs", ["ECG"]),
        ("Pulmonology and sleep medicine referrals", ["Pulmonology", "Sleep clinic"]),
        ("paracetamol level at 4 hrs, LFT", ["Hepatic function panel", "Paracetamol level"]),
        ("f/u 3/12 with HbA1c, fundus", ["Fundoscopy", "HbA1c"]),
        ("see you in 3 months with a fasting lipid test", ["Lipid panel"]),
    ],
)
def test_sixth_passorder_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    "text",
    [
        "ECG done - sinus rhythm, no acute ST changes.",
        "Reports reviewed: HbA1c 7.1 %, lipids within target.",
        "Her DEXA last month showed osteopenia",
        "CT head was normal",
        "Fast from midnight",  # "fast" in lower case is not the FAST scan
        "aec",  # the eosinophil count is written in capitals
        "Mag 2.1 today",  # "mag" alone is no drug
        "Pulmonology",  # a specialty with no referral word is not a referral
        "Uterine fundus at umbilicus",  # an exam finding, not fundoscopy
    ],
)
def test_results_and_words_are_not_orders(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.medications == []


def test_a_result_with_an_order_verb_still_orders(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Repeat echo, last one showed EF 35%") == ["Echocardiogram"]
