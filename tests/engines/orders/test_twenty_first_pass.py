"""Twenty-first pass of the orders engine (issue 12): the general rules written after batch
23 was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: what the patient takes of their own accord, what a course did, a name then
its refusal, the drug washed out before a start, a verdict in the present, incentive
spirometry, a bracket that says which drug, "for" after a course's length, two brands
joined by "+", two generics joined by "/" that no product holds. Then actions and
signatures: a change after an en dash, "reduce from A to B", "titrate to" a goal, "resume
... except X", a bare continue of a drug already ordered, doses worked out after a
semicolon, tablets after a slash strength and a comma, a variant number before a schedule,
doses at several times of day, a count before the strength. Then vocabulary, services and
follow-ups. Every sentence here was written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from carepipe.engines.orders.rules import _RULES_VERSION
from tests.engines.orders.conftest import order_meds, order_services, order_sig


def test_the_rules_version_is_the_twenty_first_pass(engine: RulesOrdersEngine) -> None:
    assert _RULES_VERSION == "2.19.0"
    assert engine.model_version.startswith("2.19.0+")


# --- precision: what is told, not ordered --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Retired teacher. Takes over-the-counter naproxen now and then.",
        "Takes paracetamol sometimes for headaches.",
        "Rash cleared with the course of flucloxacillin.",
        "Cough settled after amoxicillin.",
        "He is already known to the heart failure nurses and on bisoprolol 5 mg.",
    ],
)
def test_what_the_patient_takes_or_took_is_no_order(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    assert result.medications == []
    assert result.not_understood  # still shown to the reader


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # an order verb beside the history still acts
        ("Take naproxen 250 mg occasionally for period pain", [("naproxen", "start", 250.0, "mg")]),
        (
            "Her mood improved on fluoxetine 20 mg, which she should continue.",
            [("fluoxetine", "continue", 20.0, "mg")],
        ),
    ],
)
def test_an_order_beside_a_history_word_stays(
    engine: RulesOrdersEngine, text: str, want: list
) -> None:
    assert order_meds(engine, text) == want


def test_a_name_then_its_refusal_orders_nothing(engine: RulesOrdersEngine) -> None:
    result = engine.extract(
        "Mammogram due. Shingles vaccine declined. HPV vaccine refused by patient."
    )
    assert result.medications == []
    assert [s.display for s in result.services] == ["Mammogram"]
    assert len(result.negated) == 2


def test_the_drug_washed_out_before_a_start_is_not_started(engine: RulesOrdersEngine) -> None:
    assert order_meds(
        engine, "Begin sacubitril/valsartan 49/51 mg BD after a 36 hour washout from ramipril."
    ) == [("sacubitril / valsartan", "start", None, None)]


def test_a_verdict_in_the_present_is_a_result(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Echocardiogram today confirms mild aortic stenosis.")
    assert result.services == []
    # "if it confirms" is still a plan with a condition, not a result
    assert order_services(engine, "Echocardiogram if the ECG confirms LV hypertrophy") == [
        "Echocardiogram"
    ]


def test_incentive_spirometry_is_not_the_lung_function_test(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Incentive spirometry hourly while awake.") == []
    assert order_services(engine, "Spirometry with reversibility in clinic") == ["Spirometry"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Vitamin D (ergocalciferol) 50000 units weekly",
            [("ergocalciferol", "start", 50000.0, "[iU]")],
        ),
        (
            "Ask the practice nurse to give vitamin B12 (hydroxocobalamin) 1 mg IM every 12 weeks",
            [("hydroxocobalamin", "start", 1.0, "mg")],
        ),
        # the brand spelled out by its generic still keeps the brand's order
        ("Tab Glycomet (metformin) 500 mg BD", [("metformin", "start", 500.0, "mg")]),
    ],
)
def test_a_bracket_holding_a_drug_name_says_which_drug(
    engine: RulesOrdersEngine, text: str, want: list
) -> None:
    assert order_meds(engine, text) == want


def test_for_after_a_course_length_names_what_is_treated(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Fidaxomicin 200 mg BD x 10 days for C. difficile.")
    assert [m.name for m in result.medications] == ["fidaxomicin"]
    assert result.services == []
    # a sample sent is still the test
    assert order_services(
        engine, "Metronidazole 400 mg TDS for 10 days; send stool for C. diff toxin"
    ) == ["C. difficile toxin"]


def test_two_brands_joined_by_plus_are_two_products(engine: RulesOrdersEngine) -> None:
    names = [m.name for m in engine.extract("Nebulise Asthalin + Budecort 8 hourly").medications]
    assert names == ["albuterol", "budesonide"]
    # two generics a product holds stay one product
    assert [m.name for m in engine.extract("ibuprofen + paracetamol 400/500 TDS").medications] == [
        "ibuprofen / acetaminophen"
    ]


def test_two_generics_no_product_holds_are_two_orders(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "De-escalate vancomycin/cefepime to cefazolin 2 g IV q8h") == [
        ("vancomycin", "stop", None, None),
        ("cefepime", "stop", None, None),
        ("cefazolin", "start", 2.0, "g"),
    ]
    assert [m.name for m in engine.extract("piperacillin/tazobactam 4.5 g IV q8h").medications] == [
        "piperacillin / tazobactam"
    ]
    # a hyphen names a product even when the table lacks it
    assert [
        m.name
        for m in engine.extract("Start losartan-hydrochlorothiazide 50-12.5 mg daily").medications
    ] == ["losartan / hydrochlorothiazide"]


# --- actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Sertraline 100 mg \u2013 reduce to 50 mg once daily for a week, then stop.",
            ("sertraline", "change", 50.0, "mg", (1, 1.0, "d")),
        ),
        (
            "Amlodipine \u2013 increase from 5 mg to 10 mg daily.",
            ("amlodipine", "change", 10.0, "mg", (1, 1.0, "d")),
        ),
        (
            "Thyroxine \u2013 reduce from 125 micrograms to 100 micrograms daily.",
            ("levothyroxine", "change", 100.0, "mcg", (1, 1.0, "d")),
        ),
        (
            "Venlafaxine \u2013 taper: 75 mg daily x 2 wk, then 37.5 mg daily x 2 wk, then stop.",
            ("venlafaxine", "change", 75.0, "mg", (1, 1.0, "d")),
        ),
        # "once" before a condition is still a step to come
        (
            "Gliclazide 40 mg BD - increase to 80 mg BD once sugars reviewed",
            ("gliclazide", "start", 40.0, "mg", (2, 1.0, "d")),
        ),
    ],
)
def test_a_change_after_a_dash_or_en_dash(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text) == want


def test_titrating_to_a_goal_is_lent_to_no_later_drug(engine: RulesOrdersEngine) -> None:
    assert order_meds(
        engine, "Lactulose 20 ml BD titrate to 2 soft stools a day, Tab Carvedilol 3.125 mg BD"
    ) == [("lactulose", "start", 20.0, "mL"), ("carvedilol", "start", 3.125, "mg")]


def test_a_drug_left_out_of_a_resumption_is_held(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Restart home medications except apixaban.") == [
        ("apixaban", "hold", None, None)
    ]
    assert order_meds(engine, "Withhold all oral meds except levetiracetam") == [
        ("levetiracetam", "continue", None, None)
    ]


def test_a_bare_continue_of_a_drug_already_ordered_is_the_same_order(
    engine: RulesOrdersEngine,
) -> None:
    meds = engine.extract(
        "Ticagrelor 180 mg loading then 90 mg BD; aspirin 75 mg OD for 1 month then stop and "
        "continue ticagrelor alone."
    ).medications
    assert [(m.name, m.action) for m in meds] == [("ticagrelor", "start"), ("aspirin", "start")]
    # two brands named bare, then each with its dose: one order each
    assert order_meds(
        engine, "Augmentin + Azee for pneumonia. Augmentin 625 mg TDS. Azee 500 mg OD."
    ) == [
        ("amoxicillin / clavulanate", "start", 625.0, "mg"),
        ("azithromycin", "start", 500.0, "mg"),
    ]
    # a continue of a drug not ordered before stays
    assert order_meds(engine, "Stop aspirin. Continue clopidogrel.") == [
        ("aspirin", "stop", None, None),
        ("clopidogrel", "continue", None, None),
    ]


# --- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Ondansetron 0.15 mg/kg IV (max 4 mg); wt 18 kg = 2.7 mg.",
            ("ondansetron", "start", 2.7, "mg", None),
        ),
        (
            "Ibuprofen 10 mg/kg TDS (max 400 mg); weight 22 kg, give 220 mg.",
            ("ibuprofen", "start", 220.0, "mg", (3, 1.0, "d")),
        ),
    ],
)
def test_the_amount_worked_out_after_a_semicolon_is_the_dose(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text) == want


def test_a_weight_alone_after_a_semicolon_changes_nothing(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Amoxicillin 30 mg/kg TDS; weight 16 kg.") == (
        "amoxicillin",
        "start",
        30.0,
        "mg/kg",
        (3, 1.0, "d"),
    )


def test_tablets_after_a_slash_strength_and_a_comma_are_the_dose(
    engine: RulesOrdersEngine,
) -> None:
    assert order_sig(engine, "Co-dydramol 10/500, two tablets every 6 hours") == (
        "acetaminophen / dihydrocodeine",
        "start",
        2.0,
        "tablet",
        (1, 6.0, "h"),
    )


def test_a_syrup_volume_after_a_comma_with_the_weight_noted(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Syp Augmentin 228 mg/5 ml, 5 ml BD x 5 days (wt 14 kg)") == (
        "amoxicillin / clavulanate",
        "start",
        5.0,
        "mL",
        (2, 1.0, "d"),
    )


def test_a_variant_number_before_a_schedule_is_not_the_count(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Tab Glimestar M 2 1-0-1 before meals")[2:4] == (1.0, "tablet")
    assert order_sig(engine, "Tab Glycomet GP 1 1 tab 1-0-1")[2:4] == (1.0, "tablet")
    # a strength above 2 is still the strength
    assert order_sig(engine, "Tab Augmentin 625 1-0-1 x 5 days")[2:4] == (625.0, "mg")


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("Prednisolone 10 mg on waking and 5 mg at noon", 2),
        ("Hydrocortisone 15 mg on rising, 5 mg at midday and 5 mg at 5 pm", 3),
        ("Furosemide: reduce to 40 mg in the morning and 20 mg at lunchtime.", 2),
    ],
)
def test_doses_at_several_times_of_day(
    engine: RulesOrdersEngine, text: str, frequency: int
) -> None:
    assert order_sig(engine, text)[4] == (frequency, 1.0, "d")


def test_a_count_before_the_strength_is_multiplied(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Take two 200 mg ibuprofen tablets three times a day with food") == (
        "ibuprofen",
        "start",
        400.0,
        "mg",
        (3, 1.0, "d"),
    )


def test_strong_dextrose_given_with_insulin_is_an_order(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Actrapid 10 units IV with D50 50 mL") == [
        ("insulin regular", "start", 10.0, "[iU]"),
        ("dextrose", "start", 50.0, "mL"),
    ]
    # saline a drug is given in is still its vehicle
    assert [m.name for m in engine.extract("Pantoprazole 40 mg IV in 100 ml NS").medications] == [
        "pantoprazole"
    ]


# --- vocabulary, services, follow-ups ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Senna-docusate 1 tab at night", "docusate / senna"),
        ("Continue MST Continus 30 mg BD", "morphine"),
        ("Waxsol 2 drops to the left ear at night", "docusate"),
        ("IVF DNS @ 80 ml/hr", "dextrose / sodium chloride"),
    ],
)
def test_new_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


def test_dns_without_a_rate_is_not_the_fluid(engine: RulesOrdersEngine) -> None:
    assert engine.extract("ENT referral for DNS").medications == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Weil Felix test and scrub typhus IgM", "Weil-Felix test"),
        ("GBS swab culture at 36 weeks", "Group B streptococcus culture"),
        ("Viability USG in 10 days", "Obstetric ultrasound"),
        ("Ultrasound for fetal growth at 32 weeks", "Obstetric ultrasound"),
        ("Cerumol drops then ear irrigation next week", "Ear syringing"),
        ("Give 2 units packed red cells over 3 hours each", "Blood transfusion"),
        ("Dermatology to see.", "Dermatology"),
        ("Ortho on call bleeped.", "Orthopedics"),
    ],
)
def test_new_services(engine: RulesOrdersEngine, text: str, want: str) -> None:
    assert want in order_services(engine, text)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Blood pressure check with the GP nurse in 3 weeks.", [(3.0, "wk")]),
        ("Steri-strips applied, suture removal in 10 days", [(10.0, "d")]),
    ],
)
def test_new_follow_ups(engine: RulesOrdersEngine, text: str, want: list) -> None:
    result = engine.extract(text)
    assert [(f.value, f.unit) for f in result.follow_ups] == want
    assert all(s.display != "Suture removal" for s in result.services)
