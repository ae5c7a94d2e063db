"""Nineteenth pass of the orders engine (issue 12): the general rules written after batch 21
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: a negation that opens a list covers the list, "advised against", a decision
or a wish for later, a history told after the patient's age and sex, a reading a titration
aims at, a reflex test, a dipstick's pads before its verdict. Then actions and signatures:
a switch past a release form, an arrow between two drugs, "om", a symptom the dose waits on,
the count said again before the second meal, the need after a trailing signature, "Switch"
and "Considered" no longer listed; and vocabulary. Every sentence here was written for
these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig_prn

# --- precision: a negated list, advice against, decisions and wishes for later ----------------


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Avoid ibuprofen, naproxen or diclofenac.", ["naproxen"]),
        ("Denies taking warfarin, apixaban, or rivaroxaban.", ["apixaban", "rivaroxaban"]),
        ("No aspirin, clopidogrel or heparin before the biopsy.", ["clopidogrel"]),
        ("Advised against codeine given his age.", ["codeine"]),
    ],
)
def test_a_negation_over_a_list_orders_none_of_it(
    engine: RulesOrdersEngine, text: str, negated: list[str]
) -> None:
    result = engine.extract(text)
    assert result.medications == []
    for name in negated:
        assert any(name in n for n in result.negated)


def test_a_negated_first_item_leaves_the_orders_after_it(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "No fever, start amoxicillin 500 mg TDS.") == [
        ("amoxicillin", "start", 500, "mg")
    ]
    assert order_meds(engine, "Avoid NSAIDs, start paracetamol 1 g QDS.") == [
        ("acetaminophen", "start", 1, "g")
    ]
    # the first item declined by a word after it: the rest is no part of a negated list
    assert order_services(engine, "No CXR needed, CT chest today and FBC") == ["CBC", "CT chest"]


@pytest.mark.parametrize(
    "text",
    [
        "Will decide on allopurinol after the urate result.",
        "Patient interested in varenicline.",
        "She would like to discuss HRT at her next visit.",
    ],
)
def test_a_decision_or_a_wish_for_later_orders_nothing(
    engine: RulesOrdersEngine, text: str
) -> None:
    result = engine.extract(text)
    assert result.medications == [] and result.not_understood


def test_a_wish_then_a_prescription_is_ordered(engine: RulesOrdersEngine) -> None:
    meds = order_meds(engine, "Interested in quitting: start varenicline 0.5 mg OD.")
    assert ("varenicline", "start", 0.5, "mg") in meds


# --- precision: a history after the age, targets, reflex tests, dipstick pads ----------------


def test_a_history_after_the_age_and_sex_is_not_ordered(engine: RulesOrdersEngine) -> None:
    text = "68F with hx AF on apixaban and DM on metformin, fell at home. CT head now."
    result = engine.extract(text)
    assert result.medications == []
    assert [s.display for s in result.services] == ["CT head"]
    assert order_meds(engine, "70 yo M with PMH of COPD on tiotropium.") == []


def test_a_patient_introduced_without_a_history_keeps_the_order(
    engine: RulesOrdersEngine,
) -> None:
    assert order_meds(engine, "45M with cellulitis, start flucloxacillin 1 g QDS") == [
        ("flucloxacillin", "start", 1, "g")
    ]


def test_a_reading_a_titration_aims_at_is_no_test(engine: RulesOrdersEngine) -> None:
    text = "Lantus 10 units at night, increase by 2 units every 3 days until morning CBG 6-8."
    assert engine.extract(text).services == []
    assert order_services(engine, "Check fasting CBG daily") == ["Capillary blood glucose"]


def test_a_reflex_test_is_the_first_tests_order(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "TSH with reflex to free T4") == ["TSH"]
    assert order_services(engine, "TSH w/ reflex FT4, CBC") == ["CBC", "TSH"]
    assert order_services(engine, "TSH and free T4") == ["Free T4", "TSH"]


def test_a_dipstick_with_its_pads_and_verdict_is_a_finding(engine: RulesOrdersEngine) -> None:
    text = "Urine dip leucocytes and nitrites positive; start nitrofurantoin 100 mg BD."
    result = engine.extract(text)
    assert result.services == []
    assert [m.name for m in result.medications] == ["nitrofurantoin"]
    assert order_services(engine, "Send urine dip and urine culture") == [
        "Urinalysis",
        "Urine culture",
    ]


# --- actions: switches past a release form, arrows ------------------------------------------


def test_a_switch_past_a_release_form_stops_the_first_drug(engine: RulesOrdersEngine) -> None:
    meds = order_meds(engine, "Switch Toprol XL to bisoprolol 2.5 mg OD.")
    assert meds == [("metoprolol", "stop", None, None), ("bisoprolol", "start", 2.5, "mg")]


def test_an_arrow_to_the_same_drug_is_one_change(engine: RulesOrdersEngine) -> None:
    text = "IV metronidazole → PO metronidazole 400 mg TDS for 5 more days"
    assert order_sig_prn(engine, text) == ("metronidazole", "change", 400, "mg", (3, 1, "d"), False)


def test_an_arrow_to_another_drug_stops_the_first(engine: RulesOrdersEngine) -> None:
    meds = order_meds(engine, "IV cefuroxime -> oral doxycycline 100 mg BD")
    assert meds == [("cefuroxime", "stop", None, None), ("doxycycline", "start", 100, "mg")]


def test_an_arrow_after_a_dose_is_no_switch(engine: RulesOrdersEngine) -> None:
    meds = order_meds(engine, "Aspirin 75 mg OD -> clopidogrel 75 mg OD")
    assert [(n, a) for n, a, _d, _u in meds] == [("aspirin", "start"), ("clopidogrel", "start")]


# --- signatures -------------------------------------------------------------------------------


def test_om_in_lower_case_is_every_morning(engine: RulesOrdersEngine) -> None:
    assert order_sig_prn(engine, "Bisoprolol 2.5 mg om")[4] == (1, 1, "d")
    # "on" is a word: no schedule in lower case
    assert order_sig_prn(engine, "Bisoprolol 2.5 mg on the ward")[4] is None


@pytest.mark.parametrize(
    "text",
    ["Tab Procyclidine 5 mg OD only if stiffness", "Quinine 200 mg at night if cramps"],
)
def test_a_symptom_the_dose_waits_on_makes_it_as_needed(
    engine: RulesOrdersEngine, text: str
) -> None:
    assert order_sig_prn(engine, text)[5] is True


@pytest.mark.parametrize(
    "text", ["Amlodipine 5 mg OD - omit if vomiting", "Metformin 500 mg BD, stop if cramps"]
)
def test_a_condition_to_hold_is_not_a_need(engine: RulesOrdersEngine, text: str) -> None:
    assert order_sig_prn(engine, text)[5] is False


def test_the_count_said_again_before_the_second_meal(engine: RulesOrdersEngine) -> None:
    text = "Metformin 500 mg, one tablet with breakfast and one with supper"
    assert order_sig_prn(engine, text)[4] == (2, 1, "d")


def test_a_trailing_signature_keeps_its_need(engine: RulesOrdersEngine) -> None:
    text = "Paracetamol 120 mg/5 mL, 5 mL PO q6h PRN fever or earache."
    assert order_sig_prn(engine, text) == ("acetaminophen", "start", 5, "mL", (1, 6, "h"), True)
    text = "Adapalene 0.1% gel, apply a pea-sized amount to the face at night."
    assert order_sig_prn(engine, text)[4] == (1, 1, "d")
    text = "Fusidic acid 1% eye drops, 1 drop both eyes 2-hourly"
    assert order_sig_prn(engine, text)[2:5] == (1, "drop", (1, 2, "h"))


def test_switch_and_considered_are_words_of_the_order(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Switch sertraline 50 mg OD to 100 mg OD")
    assert result.not_understood == []
    result = engine.extract("Considered and started clarithromycin 500 mg BD.")
    assert result.negated == [] and result.not_understood == []
    assert [m.name for m in result.medications] == ["clarithromycin"]
    # weighed and not done stays set aside
    result = engine.extract("Considered CTA chest, but D-dimer negative.")
    assert result.services == [] and result.negated


# --- vocabulary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "dose"),
    [
        ("Ciplox-D eye drops 1 drop QID", "ciprofloxacin / dexamethasone", 1),
        ("Truvada 1 tab OD", "emtricitabine / tenofovir", 1),
        ("Pedialyte 100 ml after each loose stool", "oral rehydration salts", 100),
        ("Epiduo gel at night", "adapalene / benzoyl peroxide", None),
        ("Tab Augmentin Duo 625 BD", "amoxicillin / clavulanate", 625),
        ("Lymecycline 408 mg OD", "lymecycline", 408),
        ("Methylergonovine 0.2 mg IM", "methylergometrine", 0.2),
    ],
)
def test_new_names(engine: RulesOrdersEngine, text: str, name: str, dose: float | None) -> None:
    (m,) = engine.extract(text).medications
    assert (m.name, m.dose) == (name, dose)


def test_one_ingredients_other_names_are_equated() -> None:
    assert lookup_medication("penicillin G") == "benzylpenicillin"
    assert lookup_medication("methylergonovine") == "methylergometrine"
    assert lookup_medication("lactated Ringer's") == "ringer lactate"
    # lithium is not equated with its carbonate (the citrate is dosed differently)
    assert lookup_medication("lithium") != lookup_medication("lithium carbonate")


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("Exercise stress echo", ["Echocardiogram"]),
        ("Audiogram and tympanometry", ["Audiometry", "Tympanometry"]),
        ("Blood cultures, UA/UCx", ["Blood culture", "Urinalysis", "Urine culture"]),
        ("X-ray Lt knee AP/lat", ["Knee X-ray"]),
        (
            "Booking bloods: rubella IgG and HBsAg. Dating US.",
            ["HBsAg", "Obstetric ultrasound", "Rubella IgG"],
        ),
    ],
)
def test_new_services(engine: RulesOrdersEngine, text: str, services: list[str]) -> None:
    assert order_services(engine, text) == services
