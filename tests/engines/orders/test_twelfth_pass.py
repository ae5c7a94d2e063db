"""Twelfth pass of the orders engine (issue 12): the general rules written after batch 14 was
retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: questions, options and what the patient asks about, decisions left
to someone else, a referral that brought the patient, self-referral, screening due later,
"contraindicated" and "not required at this stage", "is on / remains on / has been taking"
histories and how the patient does on a drug, a hospital course, results (a shared verdict, "(outside)", "FIT result 180"), the
purpose of a follow-up; then a change, stop, continue or switch after a told drug, a bracketed action in a discharge
list, "swap X for Y", "X taper:", clock times, "at migraine onset", drug levels, follow-ups
and vocabulary."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services


def _timing(engine: RulesOrdersEngine, text: str, i: int = 0) -> tuple | None:
    t = engine.extract(text).medications[i].timing
    return None if t is None else (t.frequency, t.period, t.periodUnit)


def _follow_ups(engine: RulesOrdersEngine, text: str) -> list[tuple[float, str]]:
    return [(f.value, f.unit) for f in engine.extract(text).follow_ups]


# --- questions, options, what the patient asks about: no order -----------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Should we add Tab Jardiance? Will discuss with consultant tomorrow.",
        "Shall we start sertraline 50 mg OD?",
        "Pt asked about Ozempic for weight loss - not covered by insurance.",
        "Patient wonders about a sleep study.",
        "Consider starting atorvastatin 20 mg ON.",
        "Might benefit from a sleep study.",
        "Options include sertraline or CBT.",
        "Mother enquired whether amoxicillin is needed.",
        "If penicillin allergy is confirmed, clarithromycin would be the alternative.",
        "Hepatology referral may be needed depending on the result.",
        "Insulin might be required if sugars stay high.",
        "Cardiologist to decide about stopping Clopilet at his next review.",
        "Referred by Dr Mehta (ortho) for knee pain.",
        "Advised to self-refer to physio.",
        "Colonoscopy due at age 45.",
        "DEXA due in 2027.",
    ],
)
def test_questions_options_and_asks_order_nothing(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.services == []
    assert r.not_understood or r.negated


def test_what_the_patient_asks_about_and_is_told_no_is_negated(
    engine: RulesOrdersEngine,
) -> None:
    text = "Pt asks if she can take Combiflam for knee pain - advised to avoid. Continue Tab Dolo 650 1-0-1 x 5 days."
    r = engine.extract(text)
    assert [(m.name, m.action, m.dose) for m in r.medications] == [
        ("acetaminophen", "continue", 650.0)
    ]
    assert any("Combiflam" in n for n in r.negated)


def test_a_plan_declined_two_clauses_later_is_negated(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Pt wonders about a sleep study; STOP-BANG 2, not indicated at this time.")
    assert r.services == []
    assert any("sleep study" in n for n in r.negated)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the order beside the question, option or referral-in stays
        (
            "Should we add Jardiance? Start metformin 500 mg BD.",
            [("metformin", "start", 500.0, "mg")],
        ),
        (
            "Flucloxacillin 500 mg QDS for 7 days; clarithromycin would be the alternative.",
            [("flucloxacillin", "start", 500.0, "mg")],
        ),
        # "may be" without an option word is no option: "may be given with food"
        (
            "Ibuprofen 400 mg TDS, may be given with food.",
            [("ibuprofen", "start", 400.0, "mg")],
        ),
    ],
)
def test_orders_beside_a_question_or_an_option_stay(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Refer to orthopaedics for knee pain.", ["Orthopedics"]),
        ("Referral to physiotherapy.", ["Physiotherapy"]),
        ("Colonoscopy now, as it is due.", ["Colonoscopy"]),
    ],
)
def test_referrals_and_tests_we_order_stay(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


# --- declined after the name ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Orthopaedic referral not required at this stage.",
        "TMT contraindicated, not to be done.",
        "Sleep study not indicated at this time.",
        "MRI contraindicated (pacemaker).",
    ],
)
def test_a_decline_after_the_name_negates(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.negated


def test_a_decline_of_one_item_leaves_the_next_sentence(engine: RulesOrdersEngine) -> None:
    text = "MRI left knee. Orthopaedic referral not required at this stage."
    assert order_services(engine, text) == ["MRI knee"]


# --- what the patient is on: history ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Remains on apixaban 5 mg BID, managed by cardiology.",
        "He is on metformin 1 g BD and atorvastatin 20 mg ON.",
        "Pt has been taking OTC ibuprofen 800 mg TID for knee pain.",
        "She has been on levothyroxine 75 mcg OD for years.",
        "Patient is taking amlodipine 5 mg OD.",
        "Tolerating metformin 500 mg BD well.",
        "Metformin was not tolerated (GI upset).",
        "Good response to omeprazole 20 mg OD.",
        "Pt self-medicating with ibuprofen 400 mg TDS.",
        "Bought paracetamol over the counter.",
        "Seen by ENT, who started fluticasone spray.",
        "Dry cough x 3 weeks since starting Tab Envas 5 mg BD.",
        "Hospital course: treated with IV vancomycin and piperacillin-tazobactam, narrowed to cefazolin.",
    ],
)
def test_what_the_patient_is_on_is_history(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # a verb in the sentence acts on the drug
        ("He is on metformin 500 mg BD, continue.", [("metformin", "continue", 500.0, "mg")]),
        (
            "Remains on apixaban 5 mg BID; start atorvastatin 20 mg ON.",
            [("atorvastatin", "start", 20.0, "mg")],
        ),
        # the history does not swallow the stop after it
        (
            "Pt has been taking OTC ibuprofen 800 mg TID. D/c ibuprofen.",
            [("ibuprofen", "stop", None, None)],
        ),
        # "is" with no "on" is no history
        ("Metformin 500 mg BD is to be started.", [("metformin", "start", 500.0, "mg")]),
    ],
)
def test_an_order_beside_what_the_patient_is_on_stays(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Started on ramipril 1.25 mg OD by cardiology last month; increase to 2.5 mg OD now.",
            ("ramipril", "change", 2.5, "mg"),
        ),
        ("Pt is on Tab Metformin 500 BD. Increase to 1 g BD.", ("metformin", "change", 1.0, "g")),
        ("He is on amlodipine 5 mg OD; reduce to 2.5 mg OD.", ("amlodipine", "change", 2.5, "mg")),
    ],
)
def test_a_change_after_the_drug_told_is_ordered(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_meds(engine, text) == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # a stop or hold carries no dose since the seventeenth pass
        ("She is taking ibuprofen 400 mg TDS; stop it.", ("ibuprofen", "stop", None, None)),
        ("He is on amlodipine 5 mg OD. Continue same.", ("amlodipine", "continue", 5.0, "mg")),
        ("Remains on apixaban 5 mg BID; hold.", ("apixaban", "hold", None, None)),
        (
            "Good response to omeprazole 20 mg OD, continue for 4 more weeks.",
            ("omeprazole", "continue", 20.0, "mg"),
        ),
        ("Tolerating metformin well, increase to 1 g BD.", ("metformin", "change", 1.0, "g")),
    ],
)
def test_a_verb_alone_after_the_drug_told_acts_on_it(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_meds(engine, text) == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Metformin not tolerated, switch to sitagliptin 50 mg OD.",
            [("metformin", "stop", None, None), ("sitagliptin", "start", 50.0, "mg")],
        ),
        (
            "He is on amlodipine 5 mg OD; switch to lisinopril 10 mg OD.",
            [("amlodipine", "stop", None, None), ("lisinopril", "start", 10.0, "mg")],
        ),
        # a switch to another form of the same drug stops nothing
        (
            "Tolerating metformin well; change to metformin XR 1 g OD.",
            [("metformin", "start", 1.0, "g")],
        ),
    ],
)
def test_a_switch_after_the_drug_told_stops_it(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


def test_a_change_needs_the_one_drug_told_just_before(engine: RulesOrdersEngine) -> None:
    # two drugs told: which one changes is not said
    text = "He is on amlodipine 5 mg OD and ramipril 5 mg OD; increase to 10 mg OD."
    assert order_meds(engine, text) == []
    # a sentence between: the change is not lent across it
    text = "He is on amlodipine 5 mg OD. BP 150/90. Increase to 10 mg OD."
    assert order_meds(engine, text) == []


# --- results -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Rapid strep and flu swab negative.",
        "CXR and ECG normal.",
        "Urine culture, blood culture and CXR all negative.",
        "2D echo (outside): EF 35%.",
        "USG abdomen (outside report): fatty liver.",
        "FIT result 180 - urgent 2WW referral to colorectal surgery.",
    ],
)
def test_results_order_no_test(engine: RulesOrdersEngine, text: str) -> None:
    services = order_services(engine, text)
    assert not any(s in services for s in ("Rapid strep test", "Chest X-ray", "ECG"))
    assert not any(s in services for s in ("Echocardiogram", "Abdominal ultrasound"))
    assert "Fecal immunochemical test" not in services


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("CXR and ECG today.", ["Chest X-ray", "ECG"]),
        ("Repeat CXR; ECG normal.", ["Chest X-ray"]),
        ("FIT requested.", ["Fecal immunochemical test"]),
        ("FIT kit given today.", ["Fecal immunochemical test"]),
    ],
)
def test_tests_ordered_beside_results_stay(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


def test_fit_the_word_is_no_test(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Fit to fly. Fit for discharge.") == []


# --- the purpose of a follow-up ------------------------------------------------------------------


def test_a_procedure_after_for_in_a_follow_up_is_its_purpose(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Review after 7 days for suture removal.")
    assert r.services == [] and [(f.value, f.unit) for f in r.follow_ups] == [(7.0, "d")]


def test_tests_booked_with_a_follow_up_stay(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Suture removal on day 7.") == ["Suture removal"]
    assert order_services(engine, "Follow up in 2 weeks with an echo.") == ["Echocardiogram"]


# --- signatures and actions ----------------------------------------------------------------------


def test_a_discharge_lists_bracketed_actions(engine: RulesOrdersEngine) -> None:
    text = (
        "Discharge meds:\n- Metoprolol tartrate 25 mg PO BID (new)\n"
        "- Aspirin 81 mg PO daily (continue)\n- Furosemide 40 mg PO daily (stopped)"
    )
    assert [(m.name, m.action) for m in engine.extract(text).medications] == [
        ("metoprolol", "start"),
        ("aspirin", "continue"),
        ("furosemide", "stop"),
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Swap naproxen for ibuprofen 400 mg TDS PRN with food.",
            [("naproxen", "stop", None, None), ("ibuprofen", "start", 400.0, "mg")],
        ),
        (
            "Change omeprazole for lansoprazole 30 mg OD.",
            [("omeprazole", "stop", None, None), ("lansoprazole", "start", 30.0, "mg")],
        ),
        # "for" and no drug after it: no switch
        ("Ibuprofen 400 mg TDS for pain.", [("ibuprofen", "start", 400.0, "mg")]),
    ],
)
def test_swap_x_for_y_is_a_switch(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert order_meds(engine, text) == want


def test_a_taper_laid_out_after_a_colon_starts_the_course(engine: RulesOrdersEngine) -> None:
    text = "Prednisone taper: 60 mg daily x 3 days, 40 mg daily x 3 days, then stop."
    assert order_meds(engine, text) == [("prednisone", "start", 60.0, "mg")]
    # tapering a drug the patient is on stays a change
    assert order_meds(engine, "Taper prednisolone by 5 mg weekly.")[0][1] == "change"


@pytest.mark.parametrize(
    "text",
    ["Lantus 10 units at 22:00", "Humulin I 10 units SC at 22:00", "Warfarin 5 mg at 18:00"],
)
def test_a_24_hour_clock_time_is_once_daily(engine: RulesOrdersEngine, text: str) -> None:
    assert _timing(engine, text) == (1, 1.0, "d")


def test_a_clock_time_in_a_range_is_no_schedule(engine: RulesOrdersEngine) -> None:
    # "at 2:30" is not a 24-hour time with a following digit ("at 22:005"); a ratio is none
    assert _timing(engine, "Paracetamol 1 g QDS") == (4, 1.0, "d")


@pytest.mark.parametrize(
    "text",
    [
        "Sumatriptan 50 mg PO at migraine onset, may repeat once after 2 hours",
        "Sumatriptan 50 mg at onset of migraine",
        "Rizatriptan 10 mg at headache onset",
    ],
)
def test_at_onset_is_as_needed(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).medications[0].as_needed


def test_a_bare_onset_word_is_not_as_needed(engine: RulesOrdersEngine) -> None:
    assert (
        not engine.extract("Amlodipine 5 mg OD, onset of ankle swelling noted")
        .medications[0]
        .as_needed
    )


# --- drug levels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Vancomycin 1.25 g IV q12h with trough before 4th dose; cefepime 2 g IV q8h",
            ["Vancomycin trough level"],
        ),
        (
            "Gentamicin 7 mg/kg IV OD; level 6-14 hours after first dose (Hartford nomogram)",
            ["Gentamicin level"],
        ),
        ("Digoxin 125 mcg OD; digoxin level in 1 week", ["Digoxin level"]),
        ("Amikacin peak level after the third dose", ["Amikacin level"]),
        # a level that is a result orders nothing, and "with" without a level word none
        ("Gentamicin 5 mg/kg IV OD; levels are fine", []),
        ("Vancomycin 1 g IV q12h with food", []),
    ],
)
def test_drug_levels(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


# --- follow-ups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Recheck ears in 48 hours.", [(48.0, "h")]),
        ("Recheck the wound in 5 days.", [(5.0, "d")]),
        # a measurement rechecked is no visit; an annual review that times a test is none
        ("Recheck BP in 2 weeks.", []),
        ("Recheck lying/standing BP in 1 week.", []),
        ("Spirometry at annual review.", []),
        ("F/u with Dr. Patel in 2 wks.", [(2.0, "wk")]),
        ("Follow up with Mr. Jones in clinic in 6 weeks", [(6.0, "wk")]),
        ("Annual review.", [(1.0, "a")]),
        ("Yearly follow-up with diabetes nurse.", [(1.0, "a")]),
        # a test rechecked is the test, not a visit
        ("Recheck K in 4 hours.", []),
        ("We'll recheck thyroid function in 8 weeks.", []),
        ("Recheck A1c in 3 months.", []),
        ("Annual labs: lipid panel, A1c.", []),
    ],
)
def test_follow_ups(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert _follow_ups(engine, text) == want


# --- vocabulary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "dose", "unit"),
    [
        ("Buccastem 3 mg buccal BD", "prochlorperazine", 3.0, "mg"),
        ("Polytrim 1 drop OU q6h x 7 days", "polymyxin b / trimethoprim", 1.0, "drop"),
        ("Avamys 2 sprays each nostril OD", "fluticasone", 2.0, "spray"),
        ("Flixonase 2 sprays each nostril OD", "fluticasone", 2.0, "spray"),
        ("Beconase 2 sprays BD", "beclomethasone", 2.0, "spray"),
        ("Fucithalmic 1 drop BD both eyes", "fusidic acid", 1.0, "drop"),
    ],
)
def test_brands(engine: RulesOrdersEngine, text: str, name: str, dose: float, unit: str) -> None:
    m = engine.extract(text).medications[0]
    assert (m.name, m.dose, m.dose_unit) == (name, dose, unit)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Annual labs: vitamin D 25-OH, PSA.", ["PSA", "Vitamin D level"]),
        ("Please arrange USS abdomen.", ["Abdominal ultrasound"]),
    ],
)
def test_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    r = engine.extract(text)
    assert r.medications == []
    assert sorted(s.display for s in r.services) == want


def test_vitamin_d_the_drug_is_still_the_drug(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Vitamin D3 60000 IU weekly") == [
        ("cholecalciferol", "start", 60000.0, "[iU]")
    ]


def test_not_for_after_a_dash_negates(engine: RulesOrdersEngine) -> None:
    r = engine.extract("CHA2DS2-VASc 0 - not for anticoagulation. Review 6/12.")
    assert any("anticoagulation" in n for n in r.negated)
    # a dose-bearing order before "- not for long" is no ceiling of care
    assert order_meds(engine, "Metformin 500 mg BD - not for long") == [
        ("metformin", "start", 500.0, "mg")
    ]
