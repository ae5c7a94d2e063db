"""Seventeenth pass of the orders engine (issue 12): the general rules written after batch 19
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: a decline after a dash ("X - avoid", "- pt refused"), a verdict abbreviated
after a test ("neg", "wnl"), what was considered and set aside, a drug "was stopped" and a
reaction a drug gave are history, a stop carries no dose, a count inside a limit is no
dose, a single application is one dose. Then actions: "advised to stop" after a drug told,
a change written "<old sig> to <new sig>", an IV-to-oral switch written as a heading; and
vocabulary. Every sentence here was written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services


def _med(engine: RulesOrdersEngine, text: str) -> tuple:
    """(name, action, dose, unit, (frequency, period, period unit, count) or None)."""
    (m,) = engine.extract(text).medications
    t = m.timing
    timing = None if t is None else (t.frequency, t.period, t.periodUnit, t.count)
    return (m.name, m.action, m.dose, m.dose_unit, timing)


# --- precision: a decline after a dash -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Ibuprofen - avoid, peptic ulcer.", "Ibuprofen - avoid"),
        ("Diclofenac gel - avoid given asthma", "Diclofenac gel - avoid given asthma"),
        ("MRI lumbar spine offered - pt declines.", "MRI lumbar spine offered - pt declines"),
        ("Barium swallow suggested - patient refused due to cost", "Barium swallow"),
        ("Talked through citalopram 10 mg OD - she declined", "citalopram 10 mg OD - she declined"),
    ],
)
def test_a_decline_after_a_dash_orders_nothing(
    engine: RulesOrdersEngine, text: str, negated: str
) -> None:
    result = engine.extract(text)
    assert result.medications == [] and result.services == []
    assert any(negated in n for n in result.negated)


@pytest.mark.parametrize(
    ("text", "meds"),
    [
        # a condition or a thing of its own after the dash: still the order
        ("Metformin 500 mg BD - avoid if eGFR below 30", [("metformin", "start", 500, "mg")]),
        ("Tab Metrogyl 400 mg TDS - avoid alcohol", [("metronidazole", "start", 400, "mg")]),
        ("Start sertraline 50 mg OD - patient agrees", [("sertraline", "start", 50, "mg")]),
    ],
)
def test_a_dash_that_declines_nothing_keeps_the_order(
    engine: RulesOrdersEngine, text: str, meds: list
) -> None:
    assert order_meds(engine, text) == meds


# --- precision: results and what was weighed -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Labs: HbA1c 6.9, TSH wnl. Start amlodipine 5 mg OD.",
        "Troponin neg; start aspirin 75 mg OD",
        "CXR NAD. Start amoxicillin 500 mg TDS.",
    ],
)
def test_an_abbreviated_verdict_makes_the_test_a_result(
    engine: RulesOrdersEngine, text: str
) -> None:
    result = engine.extract(text)
    assert result.services == []
    assert len(result.medications) == 1


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("Check TSH and lipid profile", ["Lipid panel", "TSH"]),
        ("Repeat troponin in 3 hours", ["Troponin"]),
        ("D-dimer, then CTPA if positive", ["CT pulmonary angiography", "D-dimer"]),
    ],
)
def test_tests_asked_for_are_still_ordered(
    engine: RulesOrdersEngine, text: str, services: list
) -> None:
    assert order_services(engine, text) == services


def test_what_was_considered_and_set_aside_is_negated(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Considered MRI knee, but exam reassuring - not needed now.")
    assert result.services == []
    assert any("Considered MRI knee" in n for n in result.negated)


def test_a_suggestion_to_consider_is_listed_not_negated(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Consider MRI knee")
    assert result.services == [] and result.negated == []
    assert result.not_understood == ["Consider MRI knee"]


# --- precision: history ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Inj enoxaparin was stopped on day 5.",
        "IV vancomycin was discontinued after 48 hours.",
        "Had a rash with Tab Septran 480 last year.",
        "Developed cough on ramipril 5 mg OD in 2022.",
    ],
)
def test_a_drug_stopped_or_a_reaction_told_is_history(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).medications == []


@pytest.mark.parametrize(
    ("text", "meds"),
    [
        ("Stop enoxaparin.", [("enoxaparin", "stop", None, None)]),
        ("Had rash, so start cetirizine 10 mg OD", [("cetirizine", "start", 10, "mg")]),
    ],
)
def test_a_stop_now_and_a_start_stay_orders(
    engine: RulesOrdersEngine, text: str, meds: list
) -> None:
    assert order_meds(engine, text) == meds


# --- a stop carries no dose ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "action"),
    [
        ("D/c atenolol 50 mg BD.", "atenolol", "stop"),
        ("Stop Tab Ecosprin 75 mg 0-1-0", "aspirin", "stop"),
        ("Hold metformin 1 g BD for 48 h after contrast", "metformin", "hold"),
        ("Pedal oedema on nifedipine 20 mg BD - stop.", "nifedipine", "stop"),
    ],
)
def test_a_stop_or_hold_carries_no_dose(
    engine: RulesOrdersEngine, text: str, name: str, action: str
) -> None:
    assert _med(engine, text) == (name, action, None, None, None)


def test_the_start_beside_a_stop_keeps_its_dose(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "D/c atenolol 50 mg BD. Start bisoprolol 5 mg OD.") == [
        ("atenolol", "stop", None, None),
        ("bisoprolol", "start", 5, "mg"),
    ]


def test_a_taper_to_a_stop_keeps_its_steps(engine: RulesOrdersEngine) -> None:
    (m,) = engine.extract(
        "Prednisolone 20 mg OD x 1 week, then 10 mg OD x 1 week, then stop"
    ).medications
    assert m.dose == 20 and len(m.steps) >= 2


# --- signatures: limits and single applications ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "dose", "unit"),
    [
        ("Tab Crocin 500 SOS (max 4 tabs/day)", 500, "mg"),
        ("Tab Dolo 650 1 tab TDS, max 4 tabs a day", 650, "mg"),
        ("Ibuprofen 400 mg PRN (maximum 3 tablets in 24 h)", 400, "mg"),
    ],
)
def test_a_count_inside_a_limit_is_no_dose(
    engine: RulesOrdersEngine, text: str, dose: float, unit: str
) -> None:
    result = engine.extract(text)
    (m,) = result.medications
    assert (m.dose, m.dose_unit) == (dose, unit)
    assert result.not_understood == []


def test_a_count_before_a_limit_is_still_the_dose(engine: RulesOrdersEngine) -> None:
    (m,) = engine.extract("Tab Meftal-Spas 2 tabs SOS, max 6 tabs/day").medications
    assert (m.dose, m.dose_unit) == (2, "tablet")


@pytest.mark.parametrize(
    "text",
    [
        "Permethrin 5% cream single application at bedtime",
        "Clotrimazole pessary 500 mg one application at night",
    ],
)
def test_a_single_application_is_one_dose(engine: RulesOrdersEngine, text: str) -> None:
    (m,) = engine.extract(text).medications
    assert m.timing is not None and m.timing.count == 1 and m.timing.frequency is None


def test_an_application_every_night_is_daily(engine: RulesOrdersEngine) -> None:
    (m,) = engine.extract("Permethrin 5% cream apply at bedtime for 3 nights").medications
    assert m.timing is not None and m.timing.count is None and m.timing.frequency == 1


# --- actions: advised to stop, a change from one sig to another, IV to oral --------------------


@pytest.mark.parametrize(
    "text",
    [
        "She is taking naproxen 500 mg BD. Told to stop.",
        "Pt reports using diclofenac 50 mg TDS for weeks. Advised to stop.",
        "Has been using OTC naproxen for knee pain - advised to stop.",
        "Takes ibuprofen for back pain - told to stop given the warfarin.",
    ],
)
def test_advice_to_stop_stops_the_drug_told(engine: RulesOrdersEngine, text: str) -> None:
    meds = engine.extract(text).medications
    assert [m.action for m in meds if m.name != "warfarin"] == ["stop"]


def test_advice_to_stop_something_else_stops_no_drug(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Start metformin 500 mg BD. Advised to stop smoking.") == [
        ("metformin", "start", 500, "mg")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Change omeprazole 40 mg IV BD to 20 mg PO OD.",
            ("omeprazole", "change", 20, "mg", (1, 1, "d", None)),
        ),
        (
            "Increase amlodipine 5 mg to 10 mg OD",
            ("amlodipine", "change", 10, "mg", (1, 1, "d", None)),
        ),
        # the new signature leaves out the schedule: the one written before stays
        ("Change metformin 500 mg BD to 1 g", ("metformin", "change", 1, "g", (2, 1, "d", None))),
    ],
)
def test_a_change_takes_the_signature_after_to(
    engine: RulesOrdersEngine, text: str, expected: tuple
) -> None:
    assert _med(engine, text) == expected


def test_a_change_to_another_drug_is_a_stop_and_a_start(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Change metformin to sitagliptin 50 mg OD") == [
        ("metformin", "stop", None, None),
        ("sitagliptin", "start", 50, "mg"),
    ]


def test_an_iv_to_oral_switch_heading_is_one_change(engine: RulesOrdersEngine) -> None:
    meds = engine.extract(
        "Day 2 IV cefuroxime, afebrile. IV to oral switch: cefuroxime 500 mg BD PO for 5 days."
    ).medications
    assert [(m.name, m.action, m.dose, m.route) for m in meds] == [
        ("cefuroxime", "change", 500, "oral")
    ]


def test_an_iv_to_oral_switch_with_nothing_told_is_a_start(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "IV to oral switch: cefuroxime 500 mg BD PO") == [
        ("cefuroxime", "start", 500, "mg")
    ]


# --- vocabulary -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tab Cyclopam 1 tab SOS for colic", "acetaminophen / dicyclomine"),
        ("Tab Osteofos 70 mg once weekly", "alendronate"),
        ("Syp Cremaffin 10 ml HS", "liquid paraffin / magnesium hydroxide"),
        ("Kayexalate 30 g PO once", "sodium polystyrene sulfonate"),
        ("methylpred 40 mg IV BD", "methylprednisolone"),
        ("MVI one tab daily", "multivitamin"),
        ("T. metfor 500 1-0-1", "metformin"),
    ],
)
def test_names_added_in_the_seventeenth_pass(
    engine: RulesOrdersEngine, text: str, name: str
) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("BCx x2 before antibiotics", ["Blood culture"]),
        ("Dig level in the morning", ["Digoxin level"]),
        ("Speech evaluation for dysarthria", ["Speech therapy"]),
        ("Cologuard kit sent home", ["Multitarget stool DNA test"]),
        ("Cards consult for new AF", ["Cardiology"]),
        ("procal and lactate", ["Lactate", "Procalcitonin"]),
        ("Pap and HPV co-testing at 30", ["HPV test", "Pap smear"]),
    ],
)
def test_services_added_in_the_seventeenth_pass(
    engine: RulesOrdersEngine, text: str, services: list
) -> None:
    assert order_services(engine, text) == services


@pytest.mark.parametrize(
    "text",
    [
        "Played cards with his grandson",
        "Cremaffin Plus 10 ml HS",
        "Speech clear, no focal deficit",
        "Pap with lunch",
    ],
)
def test_words_that_only_look_like_the_new_names(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    assert [s.display for s in result.services] == []
    assert all(m.name != "liquid paraffin / magnesium hydroxide" for m in result.medications)


def test_tci_is_a_follow_up(engine: RulesOrdersEngine) -> None:
    assert [(f.value, f.unit) for f in engine.extract("TCI 3/52").follow_ups] == [(3, "wk")]
