"""Precision guards found by probing the engine (docs/orders.md, "Known gaps" of 2026-11-28):
an analyte that is also a medicine, a drug named only to time another, and "ASA grade".

Each rule has its near misses beside it: the phrases that must keep their old reading.
"""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine


def _read(engine: RulesOrdersEngine, text: str) -> tuple[list[tuple], list[str], list[str]]:
    r = engine.extract(text)
    meds = [(m.name, m.dose, m.dose_unit) for m in r.medications]
    return meds, [s.display for s in r.services], r.not_understood


@pytest.mark.parametrize(
    ("text", "meds"),
    [
        ("IV potassium 40 mEq over 4 hours", [("potassium chloride", 40.0, "meq")]),
        ("Oral potassium supplements", [("potassium chloride", None, None)]),
        ("Glucose gel 15 g buccal", [("dextrose", 15.0, "g")]),
        ("Tab Glucose 25 g stat", [("dextrose", 25.0, "g")]),
        ("5% glucose 500 ml IV over 8 h", [("dextrose", 500.0, "mL")]),
        ("Magnesium 2 g IV over 20 min", [("magnesium sulfate", 2.0, "g")]),
    ],
)
def test_an_analyte_given_as_a_medicine_is_the_medicine_not_a_test(engine, text, meds) -> None:
    got_meds, services, _ = _read(engine, text)
    assert got_meds == meds
    assert services == []


def test_an_analyte_given_whose_salt_is_not_written_is_listed_not_tested(engine) -> None:
    # Oral magnesium may be the oxide, citrate or glycinate: no guess, and no magnesium test.
    meds, services, not_understood = _read(engine, "Magnesium 400 mg PO daily")
    assert (meds, services) == ([], [])
    assert not_understood == ["Magnesium 400 mg PO daily"]


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("Check glucose and potassium", ["Glucose", "Potassium"]),
        ("Serum potassium tomorrow", ["Potassium"]),
        ("recheck potassium in 4 hours", ["Potassium"]),
        ("75 g OGTT next week", ["Oral glucose tolerance test"]),
    ],
)
def test_an_analyte_named_as_a_test_stays_a_test(engine, text, services) -> None:
    meds, got, _ = _read(engine, text)
    assert (meds, got) == ([], services)


def test_the_glucose_load_of_a_tolerance_test_is_neither_a_drug_nor_a_second_test(engine) -> None:
    meds, services, _ = _read(engine, "OGTT with 75 g glucose")
    assert (meds, services) == ([], ["Oral glucose tolerance test"])


@pytest.mark.parametrize(
    "text",
    [
        "Folic acid 5 mg weekly, the day after MTX.",
        "Folic acid 5 mg the day after methotrexate",
    ],
)
def test_a_drug_named_to_time_another_is_not_ordered(engine, text) -> None:
    meds, _, _ = _read(engine, text)
    assert meds == [("folic acid", 5.0, "mg")]


def test_a_time_reference_alone_in_its_clause_is_listed_not_dropped(engine) -> None:
    meds, _, not_understood = _read(
        engine, "Calcium carbonate 500 mg OD, 4 hours apart from levothyroxine"
    )
    assert meds == [("calcium carbonate", 500.0, "mg")]
    assert not_understood == ["4 hours apart from levothyroxine"]


@pytest.mark.parametrize(
    ("text", "meds"),
    [
        # A dose of its own makes it an order, whatever comes before it.
        (
            "Paracetamol 1 g now and ibuprofen 400 mg 2 hours after paracetamol",
            [("acetaminophen", 1.0, "g"), ("ibuprofen", 400.0, "mg")],
        ),
        (
            "Take MTX 15 mg weekly. Folic acid 5 mg weekly the day after MTX",
            [("methotrexate", 15.0, "mg"), ("folic acid", 5.0, "mg")],
        ),
    ],
)
def test_the_timing_drug_ordered_elsewhere_is_ordered_once(engine, text, meds) -> None:
    got, _, _ = _read(engine, text)
    assert got == meds


@pytest.mark.parametrize(
    "text", ["ASA grade II, fit for surgery", "ASA III E", "ASA physical status 2"]
)
def test_the_anaesthetic_grade_is_not_aspirin(engine, text) -> None:
    meds, _, not_understood = _read(engine, text)
    assert meds == []
    assert not_understood  # listed, never dropped


@pytest.mark.parametrize(
    ("text", "dose"), [("ASA 81 mg daily", 81.0), ("ASA 75 mg OD", 75.0), ("Start ASA", None)]
)
def test_asa_as_a_drug_is_still_aspirin(engine, text, dose) -> None:
    meds, _, _ = _read(engine, text)
    assert [(m[0], m[1]) for m in meds] == [("aspirin", dose)]
