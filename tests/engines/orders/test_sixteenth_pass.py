"""Sixteenth pass of the orders engine (issue 12): the general rules written after batch 18
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: a value read on a day ("FBS 68 today") is a result, a test whose value
sets when something is done is a condition, a test named for its biopsy results is the
topic of a visit, a drug named to time another ("after the last dose of") is not ordered, a
dose given told with its subject and what the patient was on before are history. Then
signatures: "- no change" is a continue, a bare "hourly" is every hour, a packet is a
sachet, spoken hundreds written with hyphens ("two-fifty"), a "Sig:" line, a titration to a
target, one visit per interval, an IV-to-oral switch, a stop with its reason, a total worked
out from the weight; and vocabulary. Every sentence here was written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.numbers import normalize_numbers
from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig

# --- precision: results, conditions and topics are not tests ordered ------------------------


@pytest.mark.parametrize(
    "text",
    [
        "RBS 250 this morning. Increase glargine to 14 units HS.",
        "HbA1c 9 yesterday, start metformin 500 mg BD",
        "TSH 12 on admission; start levothyroxine 50 mcg OD",
    ],
)
def test_a_value_read_on_a_day_is_a_result(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    assert result.services == []
    assert len(result.medications) == 1


@pytest.mark.parametrize(
    "text", ["Check FBS today.", "RBS tomorrow morning", "HbA1c today and lipid profile"]
)
def test_a_test_asked_for_a_day_is_still_ordered(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).services


@pytest.mark.parametrize(
    "text",
    [
        "Restart lisinopril when creatinine is back to baseline.",
        "Resume metformin once eGFR is above 30.",
        "Restart warfarin when the INR falls below 3.",
        "Restart atorvastatin as soon as ALT normalises.",
    ],
)
def test_a_test_whose_value_sets_when_is_a_condition(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    assert result.services == []
    assert len(result.medications) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Repeat U&E when you come in next week", ["Renal function panel"]),
        ("Check creatinine and restart ramipril if stable", ["Creatinine"]),
    ],
)
def test_a_test_asked_for_beside_a_condition_is_ordered(
    engine: RulesOrdersEngine, text: str, expected: list[str]
) -> None:
    assert order_services(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Clinic in 2 weeks to discuss colonoscopy biopsy results.",
        "Review in 10 days with the FNAC histology result.",
    ],
)
def test_a_test_named_for_its_biopsy_results_orders_nothing(
    engine: RulesOrdersEngine, text: str
) -> None:
    result = engine.extract(text)
    assert result.services == []
    assert len(result.follow_ups) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Start apixaban 5 mg BD 12 hours after the last dose of enoxaparin.", ["apixaban"]),
        (
            "Start Entresto 49/51 mg BD 36 hours after last ramipril dose.",
            ["sacubitril / valsartan"],
        ),
        ("Give rivaroxaban 20 mg OD 24 hours after the final dose of dalteparin", ["rivaroxaban"]),
    ],
)
def test_a_drug_named_to_time_another_is_not_ordered(
    engine: RulesOrdersEngine, text: str, expected: list[str]
) -> None:
    assert [m[0] for m in order_meds(engine, text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Called by the pharmacy: patient given cefalexin yesterday.",
        "Previously on atenolol - stopped 2019 because of fatigue.",
        "Formerly on gliclazide, changed by the GP.",
    ],
)
def test_what_the_patient_was_given_or_on_before_is_history(
    engine: RulesOrdersEngine, text: str
) -> None:
    result = engine.extract(text)
    assert result.medications == []
    assert result.not_understood


def test_history_beside_an_order_leaves_the_order(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Pt given amoxicillin today but has a rash. Stop amoxicillin.")
    assert [(m.name, m.action) for m in result.medications] == [("amoxicillin", "stop")]


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Amlodipine 10 mg OD - no change.",
        "Atorvastatin 40 mg ON - no change in dose",
    ],
)
def test_no_change_after_the_sig_is_a_continue(engine: RulesOrdersEngine, text: str) -> None:
    result = engine.extract(text)
    (m,) = result.medications
    assert m.action == "continue"
    assert m.dose is not None
    assert result.not_understood == []


def test_no_change_elsewhere_is_not_a_continue(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Start amlodipine 5 mg OD. No change in salt advice.")[1] == "start"


@pytest.mark.parametrize(
    ("text", "timing"),
    [
        ("Haloperidol 0.5 mg SC hourly PRN agitation", (1, 1.0, "h")),
        ("Salbutamol 2.5 mg nebs every hour for 3 doses", (1, 1.0, "h")),
        ("Morphine 2.5 mg SC 4 hourly PRN pain", (1, 4.0, "h")),
        ("Paracetamol 1 g 6th hourly", (1, 6.0, "h")),
        ("Cefuroxime 750 mg IV 8-hourly", (1, 8.0, "h")),
    ],
)
def test_a_bare_hourly_is_every_hour(engine: RulesOrdersEngine, text: str, timing: tuple) -> None:
    assert order_sig(engine, text)[4] == timing


def test_hourly_before_a_nursing_task_is_not_the_drugs(engine: RulesOrdersEngine) -> None:
    (m,) = engine.extract(
        "Give furosemide 40 mg IV stat and monitor hourly urine output."
    ).medications
    assert m.timing is None or m.timing.periodUnit != "h"


@pytest.mark.parametrize(
    "text",
    [
        "ORS 1 packet in 1 litre of water after each stool",
        "Oral rehydration salts 2 packets after each loose stool",
    ],
)
def test_a_packet_is_a_sachet(engine: RulesOrdersEngine, text: str) -> None:
    name, _action, dose, unit, _timing = order_sig(engine, text)
    assert name == "oral rehydration salts"
    assert unit == "sachet"
    assert dose in (1, 2)


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("we'll give you naproxen two-fifty twice a day with food", 250),
        ("amoxicillin eight seventy-five twice a day for ten days", 875),
        ("levothyroxine one twenty-five micrograms every morning", 125),
        ("metformin five hundred twice a day", 500),
        ("paracetamol six-fifty three times a day", 650),
    ],
)
def test_spoken_hundreds_written_with_hyphens(
    engine: RulesOrdersEngine, text: str, dose: float
) -> None:
    assert order_sig(engine, text)[2] == dose


def test_two_thirty_at_a_clock_time_is_no_dose(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Take the zopiclone 7.5 mg at two-thirty am if awake")
    assert [m.dose for m in result.medications] == [7.5]


# --- vocabulary ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Dermovate cream thinly OD for 1 week", "clobetasol"),
        ("Fragmin 2500 units SC OD", "dalteparin"),
        ("Sando-K 1 tablet BD", "potassium bicarbonate / potassium chloride"),
        ("Scopoderm patch behind the ear every 72 hours", "hyoscine hydrobromide"),
        ("Orlistat 120 mg with each main meal", "orlistat"),
        ("Tinzaparin 4500 units SC OD", "tinzaparin"),
        ("Stop St John's wort", "st john's wort"),
        ("Tdap 0.5 mL IM once", "tdap vaccine"),
        ("Mycophenolate mofetil 1 g BD", "mycophenolate mofetil"),
        ("Lactated Ringer's solution 1 L IV", "ringer lactate"),
        ("Inj Methylcobal 500 mcg IM weekly", "cyanocobalamin"),
        ("Cap Pregabid M 75 HS", "cyanocobalamin / pregabalin"),
        ("Cap Pregabid 75 HS", "pregabalin"),
    ],
)
def test_new_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert order_sig(engine, text)[0] == name


# --- later rules of the pass: sig lines, titrations, one visit, one study, route switches ---


def test_a_sig_line_is_the_signature_of_the_drug_above(engine: RulesOrdersEngine) -> None:
    text = "Rx: Metoprolol succinate 50 mg tablet\nSig: Take 1 tab PO daily\nDisp: #30"
    assert order_sig(engine, text) == ("metoprolol", "start", 50.0, "mg", (1, 1.0, "d"))


def test_a_line_that_is_not_a_sig_is_not_joined(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Atorvastatin 20 mg tablet\nSigmoidoscopy in 6 weeks")
    (m,) = result.medications
    assert m.timing is None
    assert [s.display for s in result.services] == ["Sigmoidoscopy"]


@pytest.mark.parametrize(
    ("text", "doses"),
    [
        (
            "Start ramipril 2.5 mg OD and increase by 2.5 mg every 2 weeks to 10 mg OD",
            [2.5, 5.0, 7.5, 10.0],
        ),
        (
            "Levothyroxine 25 mcg daily, increasing by 25 mcg every 4 weeks to a target of 75 mcg",
            [25.0, 50.0, 75.0],
        ),
        (
            "Metformin 500 mg OD, up-titrate by 500 mg every week to max 2 g",
            [500.0, 1000.0, 1500.0, 2000.0],
        ),
    ],
)
def test_a_titration_to_a_target_is_laid_out_as_steps(
    engine: RulesOrdersEngine, text: str, doses: list[float]
) -> None:
    (m,) = engine.extract(text).medications
    assert m.action == "start"
    assert (m.timing.frequency, m.timing.periodUnit) == (1, "d")
    assert [s.dose for s in m.steps] == doses
    assert m.steps[-1].duration is None
    assert all(s.duration is not None for s in m.steps[:-1])


def test_a_titration_with_no_target_gives_no_steps_and_keeps_the_schedule(
    engine: RulesOrdersEngine,
) -> None:
    (m,) = engine.extract("Bisoprolol 1.25 mg OD, increase by 1.25 mg every 2 weeks").medications
    assert m.steps == []
    assert (m.timing.frequency, m.timing.period, m.timing.periodUnit) == (1, 1.0, "d")


def test_one_visit_per_interval(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Annual review today. Continue amlodipine 5 mg. See again in 1 year.")
    assert [(f.value, f.unit) for f in result.follow_ups] == [(1.0, "a")]
    result = engine.extract("Review in 2 weeks with CBC. Follow up in 3 months with HbA1c.")
    assert [(f.value, f.unit) for f in result.follow_ups] == [(2.0, "wk"), (3.0, "mo")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EMG/NCS of both lower limbs", ["EMG/nerve conduction study"]),
        ("NCS and EMG right arm", ["EMG/nerve conduction study"]),
        ("NCS both upper limbs", ["Nerve conduction study"]),
        ("PFTs with DLCO", ["Spirometry"]),
        ("DLCO", ["DLCO"]),
        ("Consult ID re: bacteraemia", ["Infectious diseases"]),
        ("Book TEE", ["Echocardiogram"]),
        ("OT home visit before discharge", ["Occupational therapy"]),
        ("CBT with a clinical psychologist", ["Psychology"]),
    ],
)
def test_new_services(engine: RulesOrdersEngine, text: str, expected: list[str]) -> None:
    assert order_services(engine, text) == expected


def test_another_teams_plan_without_to_orders_nothing(engine: RulesOrdersEngine) -> None:
    assert engine.extract("Cardiology following; they plan TEE tomorrow.").services == []
    assert order_meds(engine, "Cardiology plan: start aspirin 75 mg OD") == [
        ("aspirin", "start", 75.0, "mg")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Day 2 IV co-amoxiclav, afebrile. Switch to oral co-amoxiclav 625 mg TDS.",
        "IV metronidazole day 3 - improving; switch to PO metronidazole 400 mg TDS",
    ],
)
def test_a_switch_of_route_after_the_drug_told_is_one_change(
    engine: RulesOrdersEngine, text: str
) -> None:
    (m,) = engine.extract(text).medications
    assert m.action == "change"
    assert m.route == "oral"
    assert m.dose is not None


def test_a_switch_to_oral_with_nothing_told_stays_a_start(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Switch to oral amoxicillin 500 mg TDS")[1] == "start"


@pytest.mark.parametrize(
    "text",
    [
        "Amlodipine stopped - not tolerated (ankle swelling).",
        "Atorvastatin discontinued due to side effects.",
    ],
)
def test_a_stop_with_its_reason_is_a_stop(engine: RulesOrdersEngine, text: str) -> None:
    (m,) = engine.extract(text).medications
    assert m.action == "stop"


def test_a_stop_the_patient_made_stays_history(engine: RulesOrdersEngine) -> None:
    assert engine.extract("He stopped amlodipine - not tolerated.").medications == []


@pytest.mark.parametrize("text", ["Baseline eye check-up", "Annual eye check up for diabetes"])
def test_an_eye_check_up_is_an_ophthalmology_referral(engine: RulesOrdersEngine, text: str) -> None:
    assert order_services(engine, text) == ["Ophthalmology"]


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("Tinzaparin 175 units/kg SC OD - weight 80 kg so 14000 units", (14000.0, "[iU]")),
        ("Enoxaparin 1 mg/kg SC BD - weight 70 kg = 70 mg", (70.0, "mg")),
        ("Gentamicin 5 mg/kg IV OD", (5.0, "mg/kg")),
    ],
)
def test_a_total_worked_out_from_the_weight_without_brackets(
    engine: RulesOrdersEngine, text: str, dose: tuple
) -> None:
    assert order_sig(engine, text)[2:4] == dose


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("naproxen two-fifty twice a day", "naproxen 250 twice a day"),
        ("one-twenty-five mcg", "125 mcg"),
        ("eight seventy-five twice a day", "875 twice a day"),
        ("six-fifty three times a day", "650 3 times a day"),
        ("one forty over ninety", "1 40 over 90"),
        ("at two-thirty", "at 2-30"),
        ("two-thirty pm", "2-30 pm"),
        ("seven-fifteen", "7-15"),
        ("one twenty-four hour urine", "1 24 hour urine"),
        ("two-three days", "2-3 days"),
    ],
)
def test_the_shared_number_reader_reads_hyphened_hundreds(text: str, normalised: str) -> None:
    assert normalize_numbers(text).text == normalised
    # colloquial mode (vitals, notes) reads the hyphened forms as it always did
    assert normalize_numbers("six-fifty", colloquial=True).text == "650"
