"""Eighth pass of the orders engine (issue 12): the general rules written after batch 10 was
retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: history with a dose, results, plans for later, tests declined
after their name and a review in a specialty's OPD were batch 10's false positives."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services

# --- history told with a dose: what was given or started is not an order --------------------


@pytest.mark.parametrize(
    "text",
    [
        "Received cefuroxime 1.5 g IV in A&E prior to admission.",
        "Took two extra tablets of amlodipine 5 mg by mistake.",
        "Tetanus toxoid already given last month.",
        "He already has a prescription for lansoprazole 30 mg.",
        "Patient reports taking naproxen 500 mg now and then.",
        "Counselled about inhaler technique for salbutamol.",
        "Ramipril was increased to 10 mg OD by the GP.",
        "Metformin 500 mg BD was started by her diabetologist.",
        "At the last review we increased losartan to 100 mg.",
        "Rheumatology started methotrexate 15 mg weekly in June.",
        "She stopped her atenolol 50 mg herself.",
    ],
)
def test_history_with_a_dose_is_listed_not_ordered(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A verb in the present beside the past keeps its order.
        (
            "Received ceftriaxone in ED, give ceftriaxone 2 g IV OD",
            [("ceftriaxone", "start", 2.0, "g")],
        ),
        # A stop with nobody named is still the stop (seventh pass).
        ("Metformin stopped 2 days ago", [("metformin", "stop", None, None)]),
        # A start with a time to come is an order.
        ("Start amlodipine 5 mg OD in 2 weeks", [("amlodipine", "start", 5.0, "mg")]),
        ("Increase atorvastatin to 40 mg tomorrow", [("atorvastatin", "change", 40.0, "mg")]),
    ],
)
def test_history_rules_leave_orders_alone(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


def test_allergies_list_what_must_not_be_given(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Allergies: amoxicillin (rash), morphine (vomiting).")
    assert r.medications == [] and r.not_understood
    assert order_meds(engine, "Allergic to penicillin. Start clarithromycin 500 mg BD") == [
        ("clarithromycin", "start", 500.0, "mg")
    ]


# --- results: a verdict, a growth, a pending culture ----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Chest X-ray normal.",
        "Urine culture grew E. coli.",
        "Blood cultures are still pending.",
        "CT head from Monday negative for bleed.",
        "HIV negative.",
        "TSH yesterday 6.2",
    ],
)
def test_results_are_not_orders(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).services == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Repeat chest X-ray if not normal", ["Chest X-ray"]),
        ("Urine culture and blood culture", ["Blood culture", "Urine culture"]),
        ("TSH today, lipid panel", ["Lipid panel", "TSH"]),
    ],
)
def test_result_words_leave_orders_alone(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


# --- plans for later, tests declined after their name ----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Will consider adding dapagliflozin at the next visit.",
        "If the ferritin is low we will start ferrous sulfate.",
        "If symptoms persist we may refer to neurology.",
        "The orthopaedic team plan to start enoxaparin after surgery.",
    ],
)
def test_plans_for_later_are_not_orders(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.order_count == 0 and r.not_understood


def test_a_condition_with_an_order_now_is_an_order(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "If BP stays high, start amlodipine 5 mg OD") == [
        ("amlodipine", "start", 5.0, "mg")
    ]


@pytest.mark.parametrize(
    "text", ["Repeat HbA1c no longer needed.", "Chest X-ray not required", "ECG is not indicated."]
)
def test_a_test_declined_after_its_name(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.negated


def test_a_drug_with_not_needed_after_is_left_to_the_drug_rules(
    engine: RulesOrdersEngine,
) -> None:
    # Only a clause of tests is declined this way: "not needed if pain free" after a drug
    # is when to skip a dose, and the drug stays ordered.
    assert order_meds(engine, "Paracetamol 1 g PRN, not needed if pain free") == [
        ("acetaminophen", "start", 1.0, "g")
    ]


# --- a review in a specialty's OPD is a follow-up --------------------------------------------


def test_review_in_a_specialty_opd_is_a_follow_up(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Review in nephrology OPD after 4 weeks")
    assert r.services == []
    assert [(f.value, f.unit) for f in r.follow_ups] == [(4, "wk")]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Refer to nephrology OPD", ["Nephrology"]),
        ("Cardiology OPD", ["Cardiology"]),
        ("Review in OPD after 5 days; refer to cardiology", ["Cardiology"]),
    ],
)
def test_an_opd_referral_stays_a_referral(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


# --- vocabulary: UK names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Repeat U&Es tomorrow", ["Renal function panel"]),
        ("Urea and electrolytes in 1 week", ["Renal function panel"]),
        ("Clotting screen before the biopsy", ["Coagulation panel"]),
        ("urine microalbumin/creatinine ratio", ["Urine albumin/creatinine ratio"]),
        ("S. electrolytes", ["Electrolytes"]),
    ],
)
def test_uk_test_names(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("24-hour tape", ["Holter monitor"]),
        ("Arrange a 14-day event monitor", ["Event monitor"]),
        ("Refer to rapid access chest pain clinic", ["Cardiology"]),
        ("Refer to pain clinic", ["Pain clinic"]),
        ("Refer to memory clinic", ["Memory clinic"]),
        ("Bloods: bone profile, coeliac serology", ["Bone profile", "Coeliac serology"]),
        ("Refer for SALT review", ["Speech therapy"]),
    ],
)
def test_uk_service_names(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


def test_low_salt_is_no_referral(engine: RulesOrdersEngine) -> None:
    # "SALT" is read in capitals only: a low-salt diet refers nobody to speech therapy.
    assert "Speech therapy" not in order_services(engine, "Refer to dietitian for low salt diet")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Tab Forecox 3 tabs OD", "ethambutol / isoniazid / pyrazinamide / rifampin"),
        ("Tab Terbinaforce 250 mg OD", "terbinafine"),
        ("Candid-V6 vaginal tablet at bedtime", "clotrimazole"),
        ("Inj FCM 1000 mg IV", "ferric carboxymaltose"),
        ("Humulin I 10 units SC ON", "insulin isophane"),
        ("Humulin N 12 units at bedtime", "insulin isophane"),
        ("Humulin R 4 units before meals", "insulin regular"),
        ("Cyclizine 50 mg TDS PRN", "cyclizine"),
        ("Pivmecillinam 400 mg TDS for 3 days", "pivmecillinam"),
    ],
)
def test_new_names(engine: RulesOrdersEngine, text: str, want: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [want]


# --- UK schedules: "OM" / "ON" after a dose, "with evening meal" ------------------------------


def _timing(engine: RulesOrdersEngine, text: str) -> tuple | None:
    t = engine.extract(text).medications[0].timing
    return None if t is None else (t.frequency, t.period, t.periodUnit)


@pytest.mark.parametrize(
    "text",
    [
        "Senna 15 mg ON",
        "Atorvastatin 20 mg ON because of myalgia",
        "Prednisolone 40 mg OM for 5 days",
        # lower-case "om" is omni mane too since the nineteenth pass (not a word, unlike "on")
        "Amlodipine 5 mg om",
        "Metformin 500 mg with evening meal",
    ],
)
def test_uk_once_daily_words(engine: RulesOrdersEngine, text: str) -> None:
    assert _timing(engine, text) == (1, 1, "d")


@pytest.mark.parametrize(
    "text", ["Aspirin 75 mg ON the advice of cardiology", "Aspirin 75 mg on", "Amlodipine 5 mg on"]
)
def test_on_and_om_as_words_are_no_schedule(engine: RulesOrdersEngine, text: str) -> None:
    assert _timing(engine, text) is None
