"""Eighteenth pass of the orders engine (issue 12): the general rules written after batch 20
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: a level told after a drug's name ("Vit D 14 ng/ml"), an age ("62 y/o"),
what the patient takes now in a letter ("Current Rx ..."), a verdict in a bracket or
"running", the finding an order is for, a decline "not appropriate", relatives who are not
willing, a test discussed, the amount in a bag run at a rate, a drip rate, "daily" before a
weekday, an immunoglobulin given. Then actions and signatures: "which he should continue",
a switch past a device name or to a new signature of the same drug, "Considered and
started", a rotacap's capsule count, two meals a day, "N-minutely", doses per m2, a salt
shortened before the strength, a specialty OPD with its time; and vocabulary. Every
sentence here was written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig

# --- precision: a level told, an age, what is taken now --------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Vit D 14 ng/ml. Start colecalciferol 800 units OD.",
        "Vitamin D 31 nmol/L; start colecalciferol 800 units OD",
        "Vit D 11. Start colecalciferol 800 units OD.",
    ],
)
def test_a_level_told_after_a_drug_name_is_a_result(engine: RulesOrdersEngine, text: str) -> None:
    assert order_meds(engine, text) == [("cholecalciferol", "start", 800, "[iU]")]


@pytest.mark.parametrize(
    ("text", "meds"),
    [
        # doses stay doses: a unit of dose, a thousands comma, a bare strength of 200 and up
        ("Vitamin D3 60000 IU weekly", [("cholecalciferol", "start", 60000, "[iU]")]),
        ("Vitamin D 50,000 IU weekly x 8", [("cholecalciferol", "start", 50000, "[iU]")]),
        ("Vit D 800 OD", [("cholecalciferol", "start", 800, "[iU]")]),
        ("Heparin 5000 u/ml 1 ml SC BD", [("heparin", "start", 5000, "[iU]")]),
    ],
)
def test_a_dose_after_the_name_is_still_a_dose(
    engine: RulesOrdersEngine, text: str, meds: list
) -> None:
    assert order_meds(engine, text) == meds


def test_an_age_is_no_follow_up(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Please see this 71 y/o lady with knee OA. Review in 6 weeks.")
    assert [(f.value, f.unit) for f in result.follow_ups] == [(6, "wk")]
    result = engine.extract("Kindly see this 45 year old man with back pain")
    assert result.follow_ups == []


def test_current_rx_in_a_letter_is_what_is_taken_now(engine: RulesOrdersEngine) -> None:
    text = "Current Rx Tab Telma 40 OD, Inj Lantus 16 units HS. Kindly review."
    assert engine.extract(text).medications == []
    # "Rx" alone still prescribes
    assert order_meds(engine, "Rx Tab Telma 40 OD") == [("telmisartan", "start", 40, "mg")]


# --- precision: verdicts, findings, declines -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("Urology referral for cystoscopy (urine cytology positive).", ["Cystoscopy", "Urology"]),
        ("Sugars running 250s. Increase Lantus to 20 units HS.", []),
        ("Order USG abdomen for raised ALP.", ["Abdominal ultrasound"]),
        ("RTC 4 wks w/ BP log and glucose log.", []),
    ],
)
def test_a_verdict_a_finding_or_a_record_orders_no_test(
    engine: RulesOrdersEngine, text: str, services: list
) -> None:
    assert order_services(engine, text) == services


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("Order LFT and ALP", ["Alkaline phosphatase", "Hepatic function panel"]),
        ("Urine cytology, then cystoscopy if positive", ["Cystoscopy", "Urine cytology"]),
        ("Check TSH (last one 8 months ago)", ["TSH"]),
    ],
)
def test_tests_asked_for_are_still_ordered(
    engine: RulesOrdersEngine, text: str, services: list
) -> None:
    assert order_services(engine, text) == services


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Pioglitazone not appropriate - heart failure.", "Pioglitazone not appropriate"),
        ("HRT not suitable given history of breast cancer", "HRT not suitable"),
        ("Advised MRI brain, patient attendants not willing.", "Advised MRI brain"),
        ("Advised CT KUB, relatives not willing", "Advised CT KUB"),
    ],
)
def test_declines_order_nothing(engine: RulesOrdersEngine, text: str, negated: str) -> None:
    result = engine.extract(text)
    assert result.medications == [] and result.services == []
    assert any(negated in n for n in result.negated)


def test_a_condition_after_a_dash_keeps_the_order(engine: RulesOrdersEngine) -> None:
    text = "Metformin 500 mg BD - not appropriate if eGFR below 30"
    assert order_meds(engine, text) == [("metformin", "start", 500, "mg")]


def test_a_test_discussed_is_a_topic_unless_it_is_then_ordered(
    engine: RulesOrdersEngine,
) -> None:
    assert (
        engine.extract("Discussed colonoscopy for screening; she will think about it.").services
        == []
    )
    assert order_services(engine, "Discussed colonoscopy and booked it for May") == ["Colonoscopy"]


def test_the_amount_in_a_bag_run_at_a_rate_is_no_dose(engine: RulesOrdersEngine) -> None:
    text = "Inj Oxytocin 10 U in 500 ml NS @ 10 drops/min, increase by 5 drops every 20 min"
    assert order_sig(engine, text) == ("oxytocin", "start", None, None, None)
    # a dose infused over a time is the dose
    text = "Iron sucrose 200 mg in 100 ml NS over 30 min"
    assert order_meds(engine, text) == [("iron sucrose", "start", 200, "mg")]


def test_a_drip_rate_is_no_count(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Inj Metronidazole 500 mg IV @ 40 drops/min")[2:4] == (500, "mg")
    assert order_sig(engine, "Timolol 1 drop BD both eyes")[2:] == (1, "drop", (2, 1.0, "d"))


def test_daily_before_a_weekday_gives_the_drug_no_schedule(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Stop fentanyl, start propofol infusion. Daily SAT. CXR in am.")
    propofol = next(m for m in result.medications if m.name == "propofol")
    assert propofol.timing is None


def test_an_immunoglobulin_given_is_a_medicine_not_a_test(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Inj Rabies immunoglobulin 20 IU/kg infiltrated into the wound.")
    assert result.services == []
    assert order_meds(engine, "Inj Rabies immunoglobulin 20 IU/kg")[0][:3] == (
        "rabies immune globulin",
        "start",
        20,
    )
    # the serum test is still the test
    assert order_services(engine, "Check serum immunoglobulins") == ["Immunoglobulins"]


# --- actions -------------------------------------------------------------------------------


def test_which_he_should_continue_continues_the_drug(engine: RulesOrdersEngine) -> None:
    text = "Her anxiety is better on escitalopram 10 mg, which she should continue."
    assert order_meds(engine, text) == [("escitalopram", "continue", 10, "mg")]
    # a start written as such stays a start
    text = "Start escitalopram 10 mg OD, which should be continued for 6 months"
    assert order_meds(engine, text)[0][1] == "start"


def test_a_switch_past_the_device_stops_the_first(engine: RulesOrdersEngine) -> None:
    text = "Switch Symbicort Turbohaler to Fostair 100/6 2 puffs BD."
    assert [(m.name, m.action) for m in engine.extract(text).medications] == [
        ("formoterol / budesonide", "stop"),
        ("beclomethasone / formoterol", "start"),
    ]


def test_a_switch_to_a_new_signature_of_the_same_drug_is_a_change(
    engine: RulesOrdersEngine,
) -> None:
    text = "Switch carvedilol 3.125 mg BD to 6.25 mg BD"
    assert order_sig(engine, text) == ("carvedilol", "change", 6.25, "mg", (2, 1.0, "d"))
    # to another drug it is still a stop and a start
    text = "Switch amlodipine 5 mg to losartan 50 mg"
    assert [m.action for m in engine.extract(text).medications] == ["stop", "start"]


def test_considered_and_then_done_is_ordered(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Considered and ordered CT chest.") == ["CT chest"]
    assert order_meds(engine, "Considered and started doxycycline 100 mg BD.") == [
        ("doxycycline", "start", 100, "mg")
    ]
    # weighed alone is still set aside
    result = engine.extract("Considered CT chest, but CURB-65 is 0.")
    assert result.services == [] and any("Considered CT chest" in n for n in result.negated)


# --- signatures ----------------------------------------------------------------------------


def test_a_rotacap_capsule_count_is_the_dose(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Seroflo 250 rotacap 1 cap BD")[2:] == (1, "capsule", (2, 1.0, "d"))
    assert order_sig(engine, "Cap Omez 20 mg 1 cap BD")[2:4] == (20, "mg")


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("Huminsulin 30/70 18 units before breakfast and before dinner", 2),
        ("Glycomet 500 after breakfast and dinner", 2),
        ("Glycomet 500 after breakfast", 1),
    ],
)
def test_two_meals_are_twice_a_day(engine: RulesOrdersEngine, text: str, frequency: int) -> None:
    assert order_sig(engine, text)[4] == (frequency, 1.0, "d")


def test_every_n_minutes_written_as_minutely(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Salbutamol 5 mg nebulised 15-minutely")[4] == (1, 15.0, "min")
    assert order_sig(engine, "Salbutamol 5 mg nebulised 4-hourly")[4] == (1, 4.0, "h")


def test_a_dose_per_square_metre(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "Paclitaxel 175 mg/m2 IV D1 q21d")[2:4] == (175, "mg/m2")
    assert order_sig(engine, "Prednisolone 1 mg/kg OD")[2:4] == (1, "mg/kg")


def test_a_salt_shortened_before_the_strength(engine: RulesOrdersEngine) -> None:
    assert order_sig(engine, "metoprolol succ 50 daily")[2:4] == (50, "mg")
    assert order_sig(engine, "metoprolol tart 25 BID")[2:4] == (25, "mg")


def test_a_specialty_opd_with_its_time_is_a_visit(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Neurology OPD 4 weeks.")
    assert result.services == [] and [(f.value, f.unit) for f in result.follow_ups] == [(4, "wk")]
    # without a time it is the referral, as before
    assert order_services(engine, "Refer to neurology OPD") == ["Neurology"]


# --- vocabulary ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "dose"),
    [
        ("Fultium-D3 800 IU OD", "cholecalciferol", 800),
        ("RhoGAM 300 mcg IM x1", "rho(d) immune globulin", 300),
        ("Inj Octride 100 mcg SC TDS", "octreotide", 100),
        ("Tab Lithosun SR 450 HS", "lithium carbonate", 450),
        (
            "Candibiotic 2 drops TDS left ear",
            "beclomethasone / chloramphenicol / clotrimazole / lidocaine",
            2,
        ),
        ("Benzathine-free: penicillin G 2.4 million units IM", "penicillin g", 2400000),
        ("Racemic epinephrine 0.5 mL neb", "racepinephrine", 0.5),
        ("Pegfilgrastim 6 mg SC day 2", "pegfilgrastim", 6),
        ("Epi 0.5 mg IM stat", "epinephrine", 0.5),
    ],
)
def test_names(engine: RulesOrdersEngine, text: str, name: str, dose: float) -> None:
    (m,) = engine.extract(text).medications
    assert (m.name, m.dose) == (name, dose)


def test_epi_without_a_dose_is_no_drug(engine: RulesOrdersEngine) -> None:
    assert engine.extract("Epi team aware").medications == []


@pytest.mark.parametrize(
    ("text", "services"),
    [
        (
            "Renal panel and UACR in 3 months",
            ["Renal function panel", "Urine albumin/creatinine ratio"],
        ),
        ("Doppler RLE to rule out DVT", ["Lower limb venous Doppler"]),
        ("CT abdo tomorrow", ["CT abdomen"]),
        ("CT abdo/pelvis with contrast", ["CT abdomen and pelvis"]),
    ],
)
def test_service_names(engine: RulesOrdersEngine, text: str, services: list) -> None:
    assert order_services(engine, text) == services
