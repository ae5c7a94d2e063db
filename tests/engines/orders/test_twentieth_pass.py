"""Twentieth pass of the orders engine (issue 12): the general rules written after batch 22
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Doses first: the amount worked out from a dose by weight ("= 300 micrograms", "(wt 20 kg =
900 mg PO BID)", "- weight 15 kg, so 200 mg"), an arrow after a weight, a goal after
"titrate to". Then precision: an allergic reaction told, screening already done, a course
finished, "using X as advised", a medication list reviewed, the drug an order is added to
and the drug a timing is told by, "check calcium". Then actions: "up from A to B", "(changed
from ...)", "X and Y withheld", "skip tonight's dose". Every sentence here was written for
these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig, order_sig_prn

# --- doses worked out from the weight ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # "=" straight after the dose by weight
        (
            "Gentamicin 7 mg/kg = 420 mg IV once daily",
            ("gentamicin", "start", 420, "mg", (1, 1.0, "d")),
        ),
        (
            "Filgrastim 5 micrograms/kg = 350 micrograms SC daily",
            ("filgrastim", "start", 350, "mcg", (1, 1.0, "d")),
        ),
        (
            "NS 20 mL/kg bolus = 400 mL IV",
            ("sodium chloride", "start", 400, "mL", None),
        ),
        # the sig goes on inside the bracket
        (
            "Cefalexin 50 mg/kg/day divided TDS (wt 12 kg = 200 mg PO TDS) x 5 days",
            ("cephalexin", "start", 200, "mg", (3, 1.0, "d")),
        ),
        # "- weight N kg, so ..." after a comma
        (
            "Enoxaparin 1.5 mg/kg SC daily - weight 60 kg, so 90 mg SC daily",
            ("enoxaparin", "start", 90, "mg", (1, 1.0, "d")),
        ),
    ],
)
def test_the_amount_worked_out_from_the_weight_is_the_dose(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text) == want


def test_a_dose_by_weight_with_no_amount_worked_out_stays_by_weight(
    engine: RulesOrdersEngine,
) -> None:
    assert order_sig(engine, "Ondansetron 0.1 mg/kg IV once")[:4] == (
        "ondansetron",
        "start",
        0.1,
        "mg/kg",
    )
    # a ceiling in a bracket is no amount worked out
    assert order_sig(engine, "Prednisolone 2 mg/kg (max 60 mg) OD x 3 days")[2:4] == (2, "mg/kg")
    assert order_sig(engine, "Paracetamol 15 mg/kg PO QDS PRN (max 75 mg/kg/day)")[2:4] == (
        15,
        "mg/kg",
    )


def test_an_arrow_after_a_weight_is_no_change(engine: RulesOrdersEngine) -> None:
    assert order_sig_prn(engine, "Paracetamol 15 mg/kg PO q6h prn pain (wt 20 kg -> 300 mg)") == (
        "acetaminophen",
        "start",
        300,
        "mg",
        (1, 6.0, "h"),
        True,
    )
    # an arrow from one dose to another is still the change it was
    assert order_sig(engine, "Ramipril 2.5 mg daily -> 5 mg daily") == (
        "ramipril",
        "change",
        5,
        "mg",
        (1, 1.0, "d"),
    )


def test_a_goal_after_titrate_to_is_no_new_dose(engine: RulesOrdersEngine) -> None:
    text = "Lactulose 15 ml BD - titrate to 2-3 soft stools a day, Tab Rifaximin 400 mg TDS"
    meds = {m.name: m for m in engine.extract(text).medications}
    lactulose, rifaximin = meds["lactulose"], meds["rifaximin"]
    assert (lactulose.action, lactulose.dose, lactulose.timing.frequency) == ("start", 15, 2)
    # the titration is lactulose's: it is lent to no later drug
    assert rifaximin.action == "start"
    # a verb before the dash is still lent: "- continue same, 2 puffs BD"
    assert order_meds(engine, "Start amlodipine 5 mg OD - review BP, losartan 50 mg OD") == [
        ("amlodipine", "start", 5, "mg"),
        ("losartan", "start", 50, "mg"),
    ]


# --- precision: what the patient had, has or did is not ordered -----------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Had an allergic reaction to co-trimoxazole last year.",
        "Developed an anaphylactic reaction to ceftriaxone in 2019.",
        "Up to date on mammogram (2024) and colonoscopy.",
        "Doing well after the course of doxycycline.",
        "Pt using clobetasol cream as advised.",
        "Regular medications reviewed: on amlodipine and atorvastatin, both taken as usual.",
    ],
)
def test_what_the_patient_had_or_does_is_not_ordered(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    assert result.medications == [] and result.services == []
    assert result.not_understood  # listed, so that a reader still sees it


def test_an_order_beside_a_history_stays(engine: RulesOrdersEngine) -> None:
    text = "Had an allergic rash to penicillin. Start clarithromycin 500 mg BD."
    assert order_meds(engine, text) == [("clarithromycin", "start", 500, "mg")]
    text = "Pt using salbutamol inhaler as advised, start montelukast 10 mg HS"
    assert ("montelukast", "start", 10, "mg") in order_meds(engine, text)


def test_the_drug_an_order_is_added_to_is_not_started(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Add amlodipine 5 mg OD to ramipril.") == [
        ("amlodipine", "start", 5, "mg")
    ]
    # another verb between: the second drug is its own order
    meds = order_meds(engine, "Add aspirin and switch clopidogrel to ticagrelor 90 mg BD")
    assert ("ticagrelor", "start", 90, "mg") in meds


def test_the_drug_a_timing_is_told_by_is_not_ordered(engine: RulesOrdersEngine) -> None:
    text = "Chlorphenamine 10 mg IV 30 minutes before the iron infusion."
    assert order_meds(engine, text) == [("chlorpheniramine", "start", 10, "mg")]
    text = "Ondansetron 8 mg IV 30 min before each cisplatin dose"
    assert order_meds(engine, text) == [("ondansetron", "start", 8, "mg")]


def test_calcium_checked_is_the_level(engine: RulesOrdersEngine) -> None:
    text = "Alendronic acid 70 mg weekly. Check calcium before starting."
    assert order_meds(engine, text) == [("alendronate", "start", 70, "mg")]
    assert order_services(engine, text) == ["Serum calcium"]
    assert "Serum calcium" in order_services(engine, "Repeat urea, calcium and phosphate in 1 week")
    # calcium prescribed stays a medicine
    assert order_meds(engine, "Start calcium carbonate 500 mg BD")[0][:2] == (
        "calcium carbonate",
        "start",
    )


# --- actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Atenolol up from 25 mg to 50 mg once daily", ("atenolol", "change", 50, "mg")),
        ("Lasix down from 80 mg to 40 mg daily", ("furosemide", "change", 40, "mg")),
        ("Amlodipine 10 mg daily (increased from 5 mg)", ("amlodipine", "change", 10, "mg")),
        ("Sertraline 100 mg OD (changed from 50 mg)", ("sertraline", "change", 100, "mg")),
    ],
)
def test_a_dose_written_with_the_old_one_is_a_change(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_meds(engine, text) == [want]


def test_a_verb_after_a_list_of_drugs_acts_on_each(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Tab Aspirin and Tab Clopidogrel withheld for the biopsy") == [
        ("aspirin", "hold", None, None),
        ("clopidogrel", "hold", None, None),
    ]
    assert order_meds(engine, "Naproxen and omeprazole stopped") == [
        ("naproxen", "stop", None, None),
        ("omeprazole", "stop", None, None),
    ]


def test_skipping_a_dose_is_a_hold(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Skip tonight's dose of rivaroxaban.") == [
        ("rivaroxaban", "hold", None, None)
    ]
    # "skip the dose if ..." is a condition on the order, which stays a start
    meds = order_meds(engine, "Gliclazide 40 mg OD; skip the dose if not eating.")
    assert meds == [("gliclazide", "start", 40, "mg")]


# --- later rules: a sick-day rule, a verdict before its test, "hourly" to the eye ---------------


def test_a_sick_day_rule_changes_nothing_now(engine: RulesOrdersEngine) -> None:
    text = "Prednisolone 5 mg every morning. Double the prednisolone dose if unwell with fever."
    assert order_meds(engine, text) == [("prednisolone", "start", 5, "mg")]
    assert any("Double" in n for n in engine.extract(text).not_understood)
    # a change ordered now is still read
    assert order_meds(engine, "Double the prednisolone dose now, to 40 mg daily")[0][1] == "change"


def test_a_verdict_before_the_test_is_its_result(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Twin pregnancy at 32 wks, reactive NST, AFI normal.") == []
    assert order_services(engine, "Normal ECG, unremarkable CXR") == []
    # the test ordered after its verdict is still ordered
    assert order_services(engine, "Reactive NST. Repeat NST in 1 week") == ["Non-stress test"]


def test_hourly_to_the_eye_is_every_hour(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Chloramphenicol 1 drop hourly in the left eye") == (
        "chloramphenicol",
        "start",
        1,
        "drop",
        (1, 1.0, "h"),
    )
    # a nursing task stays none
    assert engine.extract("Monitor hourly urine output").medications == []


# --- vocabulary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tab Benadon 20 mg OD", "pyridoxine"),
        ("Inj Wepox 2000 IU SC weekly", "epoetin alfa"),
        ("Tab Diamox 250 mg BD", "acetazolamide"),
        ("Syp Zinconia 5 ml OD x 14 days", "zinc sulfate"),
        ("Accrete D3 one tablet daily", "calcium carbonate / cholecalciferol"),
        ("Inj Ryzodeg 10 units SC with dinner", "insulin degludec / insulin aspart"),
        ("Inj Prolinate 12.5 mg deep IM monthly", "fluphenazine"),
        ("Inj Proluton Depot 250 mg IM weekly", "hydroxyprogesterone caproate"),
        ("Inj Rabipur 1 ml IM on day 0", "rabies vaccine"),
        ("Tab Flucos 150 mg once", "fluconazole"),
        ("Neulasta 6 mg SC once", "pegfilgrastim"),
        ("Biktarvy 1 tab daily", "bictegravir / emtricitabine / tenofovir alafenamide"),
        ("Tab Clopilet A 75/75 OD", "aspirin / clopidogrel"),
        ("Start NPH 8 units SC at bedtime", "insulin isophane"),
        ("Vitamin D2 50,000 units weekly", "ergocalciferol"),
        ("Rh negative - anti-D at 28 weeks", "rho(d) immune globulin"),
    ],
)
def test_names_the_tables_now_hold(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


def test_held_ferrous_sulfate_and_an_anti_d_test(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "hold ferrous sulfate 5 days before the scope") == [
        ("ferrous sulfate", "hold", None, None)
    ]
    assert engine.extract("Anti-D antibody screen at booking").medications == []


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("Daily U&E, Mg, PO4", "Phosphorus"),
        ("Ciclosporin level and tacrolimus trough in 3 days", "Tacrolimus level"),
        ("HIV viral load and hepatitis B panel", "Hepatitis B panel"),
        ("Parkinson's nurse referral", "Parkinson's nurse"),
        ("Urine PCR in 4 weeks", "Urine protein/creatinine ratio"),
    ],
)
def test_services_the_table_now_holds(engine: RulesOrdersEngine, text: str, service: str) -> None:
    assert service in order_services(engine, text)
