"""Seventh pass of the orders engine (issue 12): the general rules written after batch 9 was
retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: history, results and refusals read as orders were batch 9's
false positives."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services

# --- history: what the patient took is not an order -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "She was on metformin earlier but stopped it herself six months ago.",
        "Mother says he finished the course of amoxicillin last week.",
        "He used to take aspirin.",
        "Family history: father diabetic, mother on thyroxine.",
        "Already taking a vitamin D supplement on her own.",
        "Currently using a salbutamol inhaler.",
        "Took ibuprofen earlier.",
    ],
)
def test_history_is_listed_not_ordered(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A present verb keeps the order beside the past.
        (
            "Stopped metformin 2 weeks ago, start insulin glargine 10 units HS",
            [("metformin", "stop", None, None), ("insulin glargine", "start", 10.0, "[iU]")],
        ),
        # A past time with a verb and no narrative marker: the stop is still an order.
        ("Metformin stopped 2 days ago", [("metformin", "stop", None, None)]),
        # A drug with a dose and a schedule is not history, even beside "last week".
        ("Amoxicillin 500 mg TDS x 5 days, as last week", [("amoxicillin", "start", 500.0, "mg")]),
        (
            "Already taking aspirin, add clopidogrel 75 mg OD",
            [("clopidogrel", "start", 75.0, "mg")],
        ),
    ],
)
def test_orders_beside_history_stay(engine: RulesOrdersEngine, text: str, want: list) -> None:
    assert order_meds(engine, text) == want


# --- results: a test with its value or trend is a finding ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "HbA1c 8.2%, creatinine 1.1, TSH 2.4 - reviewed.",
        "platelets 48k",
        "platelets dropping",
        "Hb 9.2, ferritin low",
        "Old MRI brain from 2023 reported as normal.",
        "ECG reviewed",
        "USG abdomen came back normal",
    ],
)
def test_findings_are_not_tests_to_order(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).services == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Omit tonight's Xarelto dose, platelets 48k", []),
        ("her potassium is 5.9 - repeat it tomorrow", ["Potassium"]),  # an order verb
        ("CBC 2 days later", ["CBC"]),  # an integer and a time: when, not a value
        ("Troponin 0.5 h after", ["Troponin"]),
        ("HbA1c every 3 months", ["HbA1c"]),
        ("Repeat creatinine in 2 days", ["Creatinine"]),
        ("ECG reviewed, order an echo", ["Echocardiogram"]),
    ],
)
def test_findings_and_orders_side_by_side(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "He is not keen on the colonoscopy and has declined it for now.",
        "Not starting insulin yet - diet and exercise for now.",
    ],
)
def test_refusals_are_negated(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.is_empty and r.negated


def test_not_starting_to_is_no_refusal(engine: RulesOrdersEngine) -> None:
    r = engine.extract("If BP not starting to settle, add amlodipine 5 mg OD")
    assert [m.name for m in r.medications] == ["amlodipine"] and r.negated == []


# --- headings and follow-ups ---------------------------------------------------------------


def test_an_infection_as_heading_is_not_a_test(engine: RulesOrdersEngine) -> None:
    text = "H. pylori: clarithromycin 500 mg BID x 14 days, amoxicillin 1 g BID x 14 days"
    r = engine.extract(text)
    assert r.services == [] and [m.name for m in r.medications] == ["clarithromycin", "amoxicillin"]
    assert order_services(engine, "H. pylori stool antigen") == ["H. pylori test"]
    assert order_services(engine, "Blood sugar monitoring: FBS, PPBS") == [
        "Fasting blood glucose",
        "Postprandial blood glucose",
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # "and" is not "an" + "d" (one day)
        ("see the physio and get an MRI of that knee, then come back in three weeks", [(3, "wk")]),
        ("see you at 10 am tomorrow", []),  # "am" is not "a" + "m" (one month)
        ("review in a week", [(1, "wk")]),
        ("follow up in one month", [(1, "mo")]),
    ],
)
def test_follow_up_word_values(engine: RulesOrdersEngine, text: str, want: list) -> None:
    assert [(f.value, f.unit) for f in engine.extract(text).follow_ups] == want


# --- signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Inj Arachitol 6 lakh IU IM stat", ("cholecalciferol", "start", 600000.0, "[iU]")),
        ("Inj vitamin D 3 lakh units IM once", ("cholecalciferol", "start", 300000.0, "[iU]")),
        ("Inc Inj Basaglar to 18 units SC HS", ("insulin glargine", "change", 18.0, "[iU]")),
    ],
)
def test_lakh_and_inc(engine: RulesOrdersEngine, text: str, want: tuple) -> None:
    assert order_meds(engine, text) == [want]


@pytest.mark.parametrize(
    ("text", "freq", "when"),
    [
        ("Inj Novorapid 4 units s/c before each major meal", 3, ["AC"]),
        ("Inj Apidra 6 U SC before lunch", 1, ["ACD"]),
        ("Tab Metformin 500 mg with breakfast", 1, ["CM"]),
        ("Tab Glimepiride 1 mg with lunch", 1, ["CD"]),
        ("Tab Metformin 500 mg after main meals", 3, ["PC"]),
    ],
)
def test_meals(engine: RulesOrdersEngine, text: str, freq: int, when: list[str]) -> None:
    (med,) = engine.extract(text).medications
    assert med.timing is not None and (med.timing.frequency, med.timing.when) == (freq, when)


def test_short_of_breath_is_as_needed(engine: RulesOrdersEngine) -> None:
    (med,) = engine.extract(
        "albuterol inhaler 2 puffs every 4 hours if short of breath"
    ).medications
    assert med.as_needed is True
    (plain,) = engine.extract("albuterol inhaler 2 puffs every 4 hours").medications
    assert plain.as_needed is False


# --- vocabulary ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tab Mebex 100 mg 1-0-1 x 3 days", "mebendazole"),
        ("Tab Febutaz 40 OD", "febuxostat"),
        ("Compazine 10 mg PO q6h PRN nausea", "prochlorperazine"),
        ("PTU 100 mg TDS", "propylthiouracil"),
    ],
)
def test_seventh_pass_drug_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("haptoglobin, retic count", ["Haptoglobin", "Reticulocyte count"]),
        ("anti-Xa level after the 3rd dose", ["Anti-Xa level"]),
        ("double marker, NT scan", ["Double marker test", "NT scan"]),
        ("quadruple marker test", ["Quadruple marker test"]),
        ("MRI pituitary", ["MRI pituitary"]),
        ("MRI of the sella", ["MRI pituitary"]),
        ("hepatology opinion", ["Hepatology"]),
        ("refer to ID clinic", ["Infectious diseases"]),
        ("get an MRI of that knee", ["MRI knee"]),
    ],
)
def test_seventh_passorder_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    "text",
    [
        "Patient ID checked",  # "ID" without clinic/team is no referral
        "Hepatology",  # a specialty with no referral word
        "Marker pen on the site",
    ],
)
def test_seventh_pass_words_are_not_orders(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.medications == []
